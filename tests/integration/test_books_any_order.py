"""OLTP days in any order on the real PostgreSQL (issue 27, defect 4): `init` for the latest
session stores a history over the sessions before it, then earlier sessions are backfilled in a
shuffled order, over that history's own rows on those days, and some dates are rerun. The raw
rows are then replayed in pandas, independently of the generator's books: no account's cash or
holding is negative at any instant, and a rerun changes no row."""

from __future__ import annotations

import math
import random
from datetime import date
from fractions import Fraction
from zoneinfo import ZoneInfo

import pandas as pd

from data_generator.reference.trading_calendar import trading_days
from data_generator.settings import Settings
from data_generator.steps.activity import load_activity
from tests.support.harness import load_day
from tests.support.recompute import frame
from tests.support.warehouse import query, table_checksums

NEW_YORK = ZoneInfo("America/New_York")
SYMBOLS = ("AAPL", "JPM", "XOM")
LATEST = date(2026, 11, 27)
OLTP_TABLES = ("raw.orders", "raw.trades", "raw.cash_movements")
SPLIT_SYMBOL, SPLIT_DAY = "JPM", date(2026, 11, 20)  # stored before the backfills, 3 for 1


def negative_instants(settings: Settings) -> pd.DataFrame:
    """Every trade or cash movement after which its account's cash (opening cash + deposits -
    withdrawals - buys + sells - fees; dividends left out, they only add) or its holding (in the
    shares after every stored split, exact) is below zero, in execution order (time, row id)."""
    trades = frame(
        settings,
        "select trade_id, account_id, symbol, trade_type, quantity, total_amount, fee_amount,"
        " traded_at from raw.trades",
        ["key", "account_id", "symbol", "side", "quantity", "amount", "fee", "at"],
    )
    movements = frame(
        settings,
        "select movement_id, account_id, movement_type, amount, moved_at from raw.cash_movements",
        ["key", "account_id", "kind", "amount", "at"],
    )
    opening = dict(query(settings, "select account_id, balance from raw.accounts"))
    splits = query(settings, "select symbol, effective_date, split_factor from raw.stock_splits")

    def post_split(symbol: str, at, quantity: int) -> Fraction:
        day = at.astimezone(NEW_YORK).date()
        factors = (Fraction(f) for s, d, f in splits if s == symbol and d > day)
        return quantity * math.prod(factors, start=Fraction(1))

    buy = trades["side"] == "buy"
    trades["cash"] = [
        -(a + f) if b else a - f
        for a, f, b in zip(trades["amount"], trades["fee"], buy, strict=True)
    ]
    trades["shares"] = [
        post_split(s, at, q if b else -q)
        for s, at, q, b in zip(trades["symbol"], trades["at"], trades["quantity"], buy, strict=True)
    ]
    movements["cash"] = [
        a if k == "deposit" else -a
        for a, k in zip(movements["amount"], movements["kind"], strict=True)
    ]
    events = pd.concat([trades, movements], ignore_index=True).sort_values(
        ["at", "key"], ignore_index=True
    )
    cash, held, bad = dict(opening), {}, []
    for e in events.itertuples():
        cash[e.account_id] += e.cash
        if cash[e.account_id] < 0:
            bad.append((e.key, e.account_id, "cash", cash[e.account_id]))
        if isinstance(e.symbol, str):
            key = (e.account_id, e.symbol)
            held[key] = held.get(key, Fraction(0)) + e.shares
            if held[key] < 0:
                bad.append((e.key, e.account_id, e.symbol, held[key]))
    return pd.DataFrame(bad, columns=["row", "account_id", "what", "balance"])


def stamped(settings: Settings, day: date) -> int:
    return query(
        settings, "select count(*) from raw.orders where order_id like %s", (f"ORD{day:%Y%m%d}%",)
    )[0][0]


def test_backfills_in_any_order_and_reruns_keep_every_instant_non_negative(settings):
    settings = settings.with_overrides(symbols=SYMBOLS, history_days=45)
    sessions = [d for d in trading_days(date(2026, 11, 10), LATEST) if d < LATEST]
    backfills = sessions[-7:]
    random.Random(27).shuffle(backfills)

    load_day(settings, LATEST)  # the scheduler's first run: init, history, the latest day
    query(
        settings,
        "insert into raw.stock_splits (symbol, effective_date, split_factor, source, lake_key)"
        " values (%s, %s, 3, 'test', 'test')",
        (SPLIT_SYMBOL, SPLIT_DAY),
    )
    history_on = {
        d: query(
            settings,
            "select count(*) from raw.trades where trade_id not like 'TRD2%%'"
            " and (traded_at at time zone 'America/New_York')::date = %s",
            (d,),
        )[0][0]
        for d in backfills
    }
    assert sum(history_on.values()) > 0, "the history covers the days backfilled"
    assert negative_instants(settings).empty

    for day in backfills:
        load_day(settings, day, initialise=False)  # `fintrade ingest --date`, out of order
        bad = negative_instants(settings)
        assert bad.empty, f"after backfilling {day}:\n{bad}"
        assert stamped(settings, day) > 0

    before = table_checksums(settings, OLTP_TABLES, exclude=("loaded_at",))
    for day in (backfills[0], LATEST, backfills[-1]):
        report = load_day(settings, day, initialise=False)
        assert report.activity is not None
        assert report.activity.skipped == "the day's activity is already stored"
    rerun = load_activity(settings, backfills[1])  # the DAG's OLTP task, rerun
    assert rerun.skipped == "the day's activity is already stored", rerun.summary()
    assert table_checksums(settings, OLTP_TABLES, exclude=("loaded_at",)) == before
    assert negative_instants(settings).empty
