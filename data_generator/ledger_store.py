"""The accounts' books as stored in `raw`: what `ledger.books_for_day` replays.

Reading and inserting a day's activity happen in one transaction under one advisory lock, so two
runs (say, a backfill next to the daily run) never generate against the same stale books.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from data_generator.ledger import CashEvent, Event, MovementType, Side, Split, TradeEvent


def lock_books(cur) -> None:
    cur.execute("select pg_advisory_xact_lock(hashtext('fintrade.account_books'))")


def day_generated(cur, day: date) -> bool:
    """Whether the day's own generator already stored its orders (ids carry the date)."""
    cur.execute(
        "select exists (select 1 from raw.orders where order_id like %s)",
        (f"ORD{day.strftime('%Y%m%d')}%",),
    )
    return cur.fetchone()[0]


def opening_cash(cur) -> dict[str, Decimal]:
    """`raw.accounts.balance`: the cash an account was opened with."""
    cur.execute("select account_id, balance from raw.accounts order by account_id")
    return dict(cur.fetchall())


def stored_events(cur) -> list[Event]:
    cur.execute(
        """
        select trade_id, account_id, symbol, trade_type, quantity, total_amount, fee_amount,
               traded_at
        from raw.trades
        """
    )
    events: list[Event] = [
        TradeEvent(key, account, symbol, Side(side), quantity, amount, fee, at)
        for key, account, symbol, side, quantity, amount, fee, at in cur.fetchall()
    ]
    cur.execute(
        "select movement_id, account_id, movement_type, amount, moved_at from raw.cash_movements"
    )
    events += [
        CashEvent(key, account, MovementType(kind), amount, at)
        for key, account, kind, amount, at in cur.fetchall()
    ]
    return events


def stored_splits(cur) -> list[Split]:
    cur.execute("select symbol, effective_date, split_factor from raw.stock_splits")
    return [Split(symbol, day, Fraction(factor)) for symbol, day, factor in cur.fetchall()]
