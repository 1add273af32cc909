"""An independent recomputation of the account marts from the `raw` tables, in pandas and exact
fractions: what the integration tests and scripts/show_missing_bar_figures.py compare dbt with.

It shares no SQL with the dbt project. Shares are counted as an account holds them on a given
day (each trade's quantity times the splits effective after it and on or before that day), a
position on a day without a bar is valued at the last close before it in that day's shares, and
a dividend is owed on the shares held at the close before its ex-date, paid on its payment date
(the ex-date when unknown).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from data_generator.reference.trading_calendar import trading_days
from data_generator.settings import Settings
from tests.support.warehouse import query

CENT = Decimal("0.01")
# dbt_project.yml's window_min_coverage: the share of a window's sessions a figure needs.
WINDOW_MIN_COVERAGE = 0.9

TradeBook = dict[tuple[str, str], list[tuple[date, Fraction]]]


@dataclass
class Raw:
    """The raw rows a recomputation starts from; trades in execution order."""

    trades: pd.DataFrame
    movements: pd.DataFrame
    accounts: pd.DataFrame
    splits: pd.DataFrame
    dividends: pd.DataFrame
    closes: pd.DataFrame

    @cached_property
    def trade_book(self) -> TradeBook:
        """Each account's and symbol's (trade day, signed quantity), in execution order."""
        book: TradeBook = {}
        for t in records(self.trades):
            signed = Fraction(t["quantity"] if t["side"] == "buy" else -t["quantity"])
            book.setdefault((t["account_id"], t["symbol"]), []).append((t["day"], signed))
        return book


def frame(
    settings: Settings, statement: str, columns: list[str], params: tuple[object, ...] = ()
) -> pd.DataFrame:
    return pd.DataFrame(query(settings, statement, params), columns=columns)


def read_raw(settings: Settings) -> Raw:
    """The warehouse's raw rows."""
    trades = frame(
        settings,
        "select trade_id, order_id, account_id, symbol, trade_type, quantity, total_amount,"
        " fee_amount, traded_at, (traded_at at time zone 'America/New_York')::date"
        " from raw.trades",
        [
            "trade_id",
            "order_id",
            "account_id",
            "symbol",
            "side",
            "quantity",
            "amount",
            "fee",
            "at",
            "day",
        ],
    ).sort_values(["at", "trade_id"], ignore_index=True)
    movements = frame(
        settings,
        "select account_id, movement_type, amount, moved_at,"
        " (moved_at at time zone 'America/New_York')::date from raw.cash_movements",
        ["account_id", "kind", "amount", "at", "day"],
    )
    accounts = frame(
        settings, "select account_id, balance from raw.accounts", ["account_id", "balance"]
    )
    splits = frame(
        settings,
        "select symbol, effective_date, split_factor from raw.stock_splits",
        ["symbol", "effective_date", "factor"],
    )
    dividends = frame(
        settings,
        "select symbol, ex_dividend_date, coalesce(payment_date, ex_dividend_date), amount"
        " from raw.dividends",
        ["symbol", "ex_date", "paid_date", "amount"],
    )
    closes = frame(
        settings,
        "select symbol, price_date, close_price from raw.daily_prices",
        ["symbol", "day", "close"],
    ).sort_values(["symbol", "day"], ignore_index=True)
    return Raw(trades, movements, accounts, splits, dividends, closes)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as dicts: cells typed Any rather than pandas-stubs' union of scalars."""
    return [{str(key): value for key, value in row.items()} for row in frame.to_dict("records")]


def cents(value: Fraction | Decimal) -> Decimal:
    value = Fraction(value)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(CENT, ROUND_HALF_UP)


def split_factor(splits: pd.DataFrame, symbol: str, after: date, until: date | None) -> Fraction:
    """Product of the factors of `symbol`'s splits effective in (after, until]."""
    factor = Fraction(1)
    for row in records(splits[splits["symbol"] == symbol]):
        effective = row["effective_date"]
        if effective > after and (until is None or effective <= until):
            factor *= Fraction(row["factor"])
    return factor


def shares_held(
    raw: Raw, account_id: str, symbol: str, day: date, *, before: bool = False
) -> Fraction:
    """Shares of `symbol` the account holds at the close of `day` (before its open when
    `before`), in `day`'s shares."""
    return _shares(raw.trade_book.get((account_id, symbol), []), raw.splits, symbol, day, before)


def _shares(
    trades: list[tuple[date, Fraction]], splits: pd.DataFrame, symbol: str, day: date, before: bool
) -> Fraction:
    return sum(
        (
            quantity * split_factor(splits, symbol, traded, day)
            for traded, quantity in trades
            if (traded < day if before else traded <= day)
        ),
        Fraction(0),
    )


def dividends_owed(raw: Raw) -> pd.DataFrame:
    """Every dividend an account is owed: shares held at the close before the ex-date (in the
    ex-date's shares) times the amount, to the cent."""
    rows = []
    for (account_id, symbol), trades in sorted(raw.trade_book.items()):
        dividends = raw.dividends[raw.dividends["symbol"] == symbol]
        for dividend in records(dividends):
            shares = _shares(trades, raw.splits, symbol, dividend["ex_date"], before=True)
            if shares:
                rows.append(
                    {
                        "account_id": account_id,
                        "symbol": symbol,
                        "ex_date": dividend["ex_date"],
                        "paid_date": dividend["paid_date"],
                        "shares": shares,
                        "amount": dividend["amount"],
                        "cash": cents(shares * Fraction(dividend["amount"])),
                    }
                )
    columns = ["account_id", "symbol", "ex_date", "paid_date", "shares", "amount", "cash"]
    return pd.DataFrame(rows, columns=columns)


def receivable(owed: pd.DataFrame, account_id: str, day: date) -> Decimal:
    """Dividends the account is owed at the close of `day` and not yet paid."""
    pending = owed[
        (owed["account_id"] == account_id) & (owed["ex_date"] <= day) & (owed["paid_date"] > day)
    ]
    return sum(pending["cash"], Decimal(0))


def cash_changes(raw: Raw, owed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every cash event in time order: deposits, sells and dividends paid add, withdrawals, buys
    and fees take away. `owed` (dividends_owed) adds the dividends, each on its payment date."""
    trades = raw.trades
    trade_cash = pd.DataFrame(
        {
            "account_id": trades["account_id"],
            "day": trades["day"],
            "at": trades["at"],
            "change": [
                (-a if s == "buy" else a) - f
                for s, a, f in zip(trades["side"], trades["amount"], trades["fee"], strict=True)
            ],
        }
    )
    movements = raw.movements
    movement_cash = pd.DataFrame(
        {
            "account_id": movements["account_id"],
            "day": movements["day"],
            "at": movements["at"],
            "change": [
                a if k == "deposit" else -a
                for k, a in zip(movements["kind"], movements["amount"], strict=True)
            ],
        }
    )
    parts = [trade_cash, movement_cash]
    if owed is not None:
        parts.append(
            pd.DataFrame(
                {
                    "account_id": owed["account_id"],
                    "day": owed["paid_date"],
                    # Paid before the day's first trade: dividends settle overnight.
                    "at": [pd.Timestamp(day, tz="America/New_York") for day in owed["paid_date"]],
                    "change": owed["cash"],
                }
            )
        )
    return pd.concat(parts, ignore_index=True).sort_values("at", ignore_index=True)


def carried_close(raw: Raw, symbol: str, day: date) -> Fraction | None:
    """The symbol's close on `day`, or the last one before it in `day`'s shares."""
    closes = raw.closes
    bars = closes[(closes["symbol"] == symbol) & (closes["day"] <= day)]
    if bars.empty:
        return None
    last = bars.iloc[-1]
    return Fraction(last["close"]) / split_factor(raw.splits, symbol, last["day"], day)


def market_value(raw: Raw, account_id: str, day: date) -> Decimal:
    """The account's positions at the close of `day`, each rounded to the cent as the mart does."""
    trades = raw.trades
    symbols = sorted(set(trades.loc[trades["account_id"] == account_id, "symbol"]))
    total = Decimal(0)
    for symbol in symbols:
        shares = shares_held(raw, account_id, symbol, day)
        close = carried_close(raw, symbol, day)
        if shares and close is not None:
            total += cents(shares * close)
    return total


def adjusted_prices(settings: Settings, as_of: date | None = None) -> pd.DataFrame:
    """Raw bars with a split-adjusted series computed here from raw.stock_splits: each bar
    divided by the product of the factors of the symbol's later splits, in today's shares."""
    raw = pd.DataFrame(
        query(
            settings,
            "select symbol, price_date, high_price, low_price, close_price, volume"
            " from raw.daily_prices where price_date <= coalesce(%s, price_date)",
            (as_of,),
        ),
        columns=["symbol", "price_date", "high", "low", "close", "volume"],
    ).astype({"high": float, "low": float, "close": float, "volume": float})
    splits = query(settings, "select symbol, effective_date, split_factor from raw.stock_splits")
    raw["factor"] = [
        math.prod(float(f) for s, day, f in splits if s == symbol and day > price_date)
        for symbol, price_date in zip(raw["symbol"], raw["price_date"], strict=True)
    ]
    raw["adjusted_high"] = raw["high"] / raw["factor"]
    raw["adjusted_low"] = raw["low"] / raw["factor"]
    raw["adjusted_close"] = raw["close"] / raw["factor"]
    raw["adjusted_volume"] = raw["volume"] * raw["factor"]
    return raw.sort_values(["symbol", "price_date"], ignore_index=True)


def bar_dividends(dividends: pd.DataFrame, days: list[date]) -> list[Fraction]:
    """What each of one symbol's bars (`days`, ascending) carries as dividend_amount: the
    dividends ex-dated after the previous bar and on or before it, on the first bar only those
    ex-dated that day (one ex-dated before the stored history went ex outside it)."""
    amounts = []
    for previous, day in zip([None, *days[:-1]], days, strict=True):
        lands = dividends["ex_date"] == day
        if previous is not None:
            lands = (dividends["ex_date"] > previous) & (dividends["ex_date"] <= day)
        amounts.append(sum((Fraction(a) for a in dividends.loc[lands, "amount"]), Fraction(0)))
    return amounts


def window_figures(
    history: pd.DataFrame,
    dividends: pd.DataFrame,
    as_of: date,
    min_coverage: float = WINDOW_MIN_COVERAGE,
    *,
    splits: pd.DataFrame | None = None,
) -> dict[str, object]:
    """One symbol's mart_stock_performance figures from its adjusted bars (adjusted_prices) and
    raw dividends: windows counted in NYSE sessions back from `as_of` (the Python calendar), a
    figure null below `min_coverage` of its window's sessions, a dividend counted on the first
    bar on or after its ex-date (bar_dividends). Prices and volumes are in the as-of date's
    shares: the raw `splits` effective after it (without them, the latest bar's, which is the
    same unless a split falls between that bar and the as-of date)."""
    bars = history[history["price_date"] <= as_of].reset_index(drop=True)
    sessions = trading_days(as_of - timedelta(days=400), as_of)[::-1]  # newest first
    last_30, last_252 = set(sessions[:30]), set(sessions[:252])
    since_52w = as_of - timedelta(weeks=52)
    sessions_52w = sum(1 for day in sessions if day > since_52w)
    closes = bars["adjusted_close"]
    log_returns = closes.apply(math.log).diff()

    amounts = pd.Series(
        [float(a) for a in bar_dividends(dividends, list(bars["price_date"]))], dtype=float
    )
    growth = (closes + amounts / bars["factor"]) / closes.shift()
    in_30 = bars["price_date"].isin(last_30)
    in_252 = bars["price_date"].isin(last_252)
    in_52w = bars["price_date"] > since_52w
    starts = bars.index[bars["price_date"] <= sessions[30]]
    latest = bars.iloc[-1]
    as_of_factor = (
        float(latest["factor"])
        if splits is None
        else float(split_factor(splits, str(latest["symbol"]), as_of, None))
    )

    def covered(count: int, named: int) -> bool:
        return count >= math.ceil(min_coverage * named)

    figures: dict[str, object] = {
        "latest_price_date": latest["price_date"],
        "volatility_30d_sessions": int(log_returns[in_30].count()),
        "avg_volume_30d_sessions": int(in_30.sum()),
        "volatility_1y_sessions": int(log_returns[in_252].count()),
        "high_low_52w_sessions": int(in_52w.sum()),
        "return_30d_pct": None,
        "total_return_30d_pct": None,
    }
    if len(starts):
        start = int(starts[-1])
        figures["return_30d_pct"] = 100 * (closes.iloc[-1] / closes.iloc[start] - 1)
        growth_since_start = float(np.prod(growth.iloc[start + 1 :].to_numpy()))
        figures["total_return_30d_pct"] = 100 * (growth_since_start - 1)
    figures["volatility_30d_pct"] = (
        100 * log_returns[in_30].std(ddof=1) * math.sqrt(252)
        if covered(int(log_returns[in_30].count()), 30)
        else None
    )
    figures["avg_volume_30d"] = (
        bars.loc[in_30, "adjusted_volume"].mean() / as_of_factor
        if covered(int(in_30.sum()), 30)
        else None
    )
    figures["volatility_1y_pct"] = (
        100 * log_returns[in_252].std(ddof=1) * math.sqrt(252)
        if covered(int(log_returns[in_252].count()), 252)
        else None
    )
    covered_52w = covered(int(in_52w.sum()), sessions_52w)
    figures["high_52w_price"] = (
        bars.loc[in_52w, "adjusted_high"].max() * as_of_factor if covered_52w else None
    )
    figures["low_52w_price"] = (
        bars.loc[in_52w, "adjusted_low"].min() * as_of_factor if covered_52w else None
    )
    return figures
