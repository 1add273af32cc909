"""The OLTP step: accounts once, then each trading day's orders, trades and cash movements.

Generation is deterministic from the seed, the date and the books as stored, and a day once
generated is never generated again, so a rerun is a no-op. A day generated in any order (a
backfill after later days included) spends and sells at each instant at most the floor of every
stored balance from that instant on (`activity.ledger`), so no stored moment goes negative.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from data_generator.activity import ledger, oltp
from data_generator.reference.trading_calendar import is_trading_day
from data_generator.reference.universe import select_stocks
from data_generator.settings import Settings
from data_generator.steps.extracts import extract_day
from data_generator.steps.resources import Resources, open_resources
from data_generator.storage import books
from data_generator.storage.ingest_runs import loaded_symbols

HELD_BACK = "held back until every symbol loaded (rerun the date)"
DEFAULT_ACCOUNTS = 50
DEFAULT_ORDERS = 600
DAILY_ORDERS_RANGE = (15, 40)


@dataclass
class ActivityResult:
    logical_date: date
    orders: int = 0
    trades: int = 0
    accounts: int = 0
    skipped: str = ""

    def summary(self) -> str:
        if self.skipped:
            return f"OLTP activity for {self.logical_date}: skipped, {self.skipped}"
        accounts = f"{self.accounts} new accounts, " if self.accounts else ""
        return (
            f"OLTP activity for {self.logical_date}: {accounts}"
            f"{self.orders} new orders, {self.trades} new trades"
        )


def held_back(logical_date: date, unpriced: list[str]) -> ActivityResult | None:
    """The one rule the CLI and the DAG share: no activity for a day while a symbol of the run
    has no prices for it. Orders are drawn over the symbols that have prices and are never
    redrawn, so activity made now would differ for good from a clean run's; the rerun of the
    date, once every symbol has loaded, makes it."""
    if not unpriced:
        return None
    return ActivityResult(logical_date, skipped=f"{HELD_BACK}; no prices: {', '.join(unpriced)}")


def initialise_activity(
    res: Resources,
    symbols: list[str],
    logical_date: date,
    accounts: int,
    orders: int,
    *,
    since: date | None = None,
) -> ActivityResult:
    """Accounts and the order history over the prices before the day (from `since`, else from
    the first price), once: a rerun adds nothing. The day itself is left to `day_activity`, so
    the two never interleave."""
    result = ActivityResult(logical_date)
    if books.account_ids(res.conn):
        result.skipped = "accounts already exist (initialised before)"
        return result
    days = books.day_ranges(res.conn, symbols, since, logical_date - timedelta(days=1))
    if not days:
        result.skipped = f"no prices before {logical_date} to trade on"
        return result
    first_day = min(day.price_date for day in days)
    rows = oltp.make_accounts(res.settings.seed, accounts, first_day)
    opening = {row[0]: row[4] for row in rows}
    with res.conn, res.conn.cursor() as cur:
        books.lock_books(cur)
        splits = books.stored_splits(cur)
        activity = oltp.history_activity(res.settings.seed, days, opening, orders, splits)
        result.accounts = books.insert_accounts(cur, rows)
        result.orders, result.trades = books.insert_activity(cur, activity)
    return result


def day_activity(res: Resources, symbols: list[str], logical_date: date) -> ActivityResult:
    """That trading day's new orders, trades and cash movements, drawn against the books as
    stored (every row but the day's own: before the day, on it, e.g. the history's, and after
    it), under the books' lock."""
    result = ActivityResult(logical_date)
    if not books.account_ids(res.conn):
        result.skipped = "no accounts yet (run 'fintrade init' first)"
        return result
    if not is_trading_day(logical_date):
        result.skipped = "not an NYSE trading day"
        return result
    days = books.day_ranges(res.conn, symbols, logical_date, logical_date)
    if not days:
        result.skipped = f"no prices loaded for {logical_date}"
        return result
    rng = random.Random(f"size-{res.settings.seed}-{logical_date.isoformat()}")
    with res.conn, res.conn.cursor() as cur:
        books.lock_books(cur)
        if books.day_generated(cur, logical_date):
            result.skipped = "the day's activity is already stored"
            return result
        opening = books.opening_cash(cur)
        day_books = ledger.books_for_day(
            opening, books.stored_events(cur), books.stored_splits(cur), logical_date
        )
        activity = oltp.daily_activity(
            res.settings.seed,
            logical_date,
            days,
            day_books,
            opening,
            rng.randint(*DAILY_ORDERS_RANGE),
        )
        result.orders, result.trades = books.insert_activity(cur, activity)
    return result


def load_activity(settings: Settings, logical_date: date) -> ActivityResult:
    """The scheduled OLTP step: initialise accounts and history on first run, then the day;
    held back while a symbol of the run has no prices for the date (its batch failed). It is
    the DAG's last writer of the day, so it ends with the lake extracts (steps/extracts.py),
    whose failure (ExtractsError) fails the task after the activity is stored: its retry
    writes them, and adds no activity."""
    symbols = [s.symbol for s in select_stocks(settings.symbols, settings.universe_file)]
    with open_resources(settings, logical_date) as res:
        result = _scheduled_activity(res, symbols, logical_date)
        extract_day(res, logical_date)
        return result


def _scheduled_activity(res: Resources, symbols: list[str], logical_date: date) -> ActivityResult:
    priced = loaded_symbols(res.conn, logical_date, symbols)
    held = held_back(logical_date, [s for s in symbols if s not in priced])
    if held is not None:
        return held
    first = initialise_activity(res, symbols, logical_date, DEFAULT_ACCOUNTS, DEFAULT_ORDERS)
    result = day_activity(res, symbols, logical_date)
    result.accounts = first.accounts
    result.orders += first.orders
    result.trades += first.trades
    return result
