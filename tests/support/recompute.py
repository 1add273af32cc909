"""An independent recomputation of the account marts from the `raw` tables, in pandas and exact
fractions: what the integration tests and scripts/show_missing_bar_figures.py compare dbt with.

It shares no SQL with the dbt project. Shares are counted as an account holds them on a given
day (each trade's quantity times the splits effective after it and on or before that day), a
position on a day without a bar is valued at the last close before it in that day's shares, and
a dividend is owed on the shares held at the close before its ex-date, paid on its payment date
(the ex-date when unknown).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pandas as pd

from data_generator.settings import Settings
from tests.support.warehouse import query

CENT = Decimal("0.01")

Raw = dict[str, pd.DataFrame]


def frame(settings: Settings, statement: str, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(query(settings, statement), columns=columns)


def read_raw(settings: Settings) -> Raw:
    """The raw rows a recomputation starts from; trades in execution order."""
    trades = frame(
        settings,
        "select trade_id, order_id, account_id, symbol, trade_type, quantity, total_amount,"
        " fee_amount, traded_at, (traded_at at time zone 'America/New_York')::date"
        " from raw.trades",
        ["trade_id", "order_id", "account_id", "symbol", "side", "quantity", "amount", "fee"]
        + ["at", "day"],
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
    return {
        "trades": trades,
        "movements": movements,
        "accounts": accounts,
        "splits": splits,
        "dividends": dividends,
        "closes": closes,
    }


def cents(value: Fraction | Decimal) -> Decimal:
    value = Fraction(value)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(CENT, ROUND_HALF_UP)


def split_factor(splits: pd.DataFrame, symbol: str, after: date, until: date | None) -> Fraction:
    """Product of the factors of `symbol`'s splits effective in (after, until]."""
    factor = Fraction(1)
    for row in splits[splits["symbol"] == symbol].itertuples():
        if row.effective_date > after and (until is None or row.effective_date <= until):
            factor *= Fraction(row.factor)
    return factor


def shares_held(raw: Raw, account_id: str, symbol: str, day: date, *, before: bool = False) -> Fraction:
    """Shares of `symbol` the account holds at the close of `day` (before its open when
    `before`), in `day`'s shares."""
    trades = raw["trades"]
    mine = trades[(trades["account_id"] == account_id) & (trades["symbol"] == symbol)]
    mine = mine[mine["day"] < day] if before else mine[mine["day"] <= day]
    return sum(
        (
            (t.quantity if t.side == "buy" else -t.quantity)
            * split_factor(raw["splits"], symbol, t.day, day)
            for t in mine.itertuples()
        ),
        Fraction(0),
    )


def dividends_owed(raw: Raw) -> pd.DataFrame:
    """Every dividend an account is owed: shares held at the close before the ex-date (in the
    ex-date's shares) times the amount, to the cent."""
    rows = []
    pairs = raw["trades"][["account_id", "symbol"]].drop_duplicates().itertuples(index=False)
    held_symbols: dict[str, list[str]] = {}
    for account_id, symbol in pairs:
        held_symbols.setdefault(symbol, []).append(account_id)
    for dividend in raw["dividends"].itertuples():
        for account_id in held_symbols.get(dividend.symbol, []):
            shares = shares_held(raw, account_id, dividend.symbol, dividend.ex_date, before=True)
            if shares:
                rows.append(
                    {
                        "account_id": account_id,
                        "symbol": dividend.symbol,
                        "ex_date": dividend.ex_date,
                        "paid_date": dividend.paid_date,
                        "shares": shares,
                        "amount": dividend.amount,
                        "cash": cents(shares * Fraction(dividend.amount)),
                    }
                )
    columns = ["account_id", "symbol", "ex_date", "paid_date", "shares", "amount", "cash"]
    return pd.DataFrame(rows, columns=columns)


def cash_changes(raw: Raw, owed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every cash event: deposits, sells and dividends paid add, withdrawals, buys and fees take
    away. `owed` (dividends_owed) adds the dividends, each on its payment date."""
    trades = raw["trades"]
    trade_cash = pd.DataFrame(
        {
            "account_id": trades["account_id"],
            "day": trades["day"],
            "change": [
                (-a if s == "buy" else a) - f
                for s, a, f in zip(trades["side"], trades["amount"], trades["fee"], strict=True)
            ],
        }
    )
    movements = raw["movements"]
    movement_cash = pd.DataFrame(
        {
            "account_id": movements["account_id"],
            "day": movements["day"],
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
                {"account_id": owed["account_id"], "day": owed["paid_date"], "change": owed["cash"]}
            )
        )
    return pd.concat(parts, ignore_index=True)


def carried_close(raw: Raw, symbol: str, day: date) -> Fraction | None:
    """The symbol's close on `day`, or the last one before it in `day`'s shares."""
    closes = raw["closes"]
    bars = closes[(closes["symbol"] == symbol) & (closes["day"] <= day)]
    if bars.empty:
        return None
    last = bars.iloc[-1]
    return Fraction(last["close"]) / split_factor(raw["splits"], symbol, last["day"], day)


def market_value(raw: Raw, account_id: str, day: date) -> Decimal:
    """The account's positions at the close of `day`, each rounded to the cent as the mart does."""
    trades = raw["trades"]
    symbols = sorted(set(trades.loc[trades["account_id"] == account_id, "symbol"]))
    total = Decimal(0)
    for symbol in symbols:
        shares = shares_held(raw, account_id, symbol, day)
        close = carried_close(raw, symbol, day)
        if shares and close is not None:
            total += cents(shares * close)
    return total
