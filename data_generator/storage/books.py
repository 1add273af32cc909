"""The accounts' books as stored in `raw`: what `ledger.books_for_day` replays (every stored
trade and cash movement, of every day, the day being generated included).

Reading and inserting a day's activity happen in one transaction under one advisory lock, so two
runs (say, a backfill next to the daily run) never generate against the same stale books.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction

from data_generator.activity import ledger, oltp
from data_generator.activity.ledger import CashEvent, Event, MovementType, Side, Split, TradeEvent
from data_generator.storage.warehouse import Connection, Cursor, fetch_one, insert_new_rows


def lock_books(cur: Cursor) -> None:
    cur.execute("select pg_advisory_xact_lock(hashtext('fintrade.account_books'))")


def day_generated(cur: Cursor, day: date) -> bool:
    """Whether the day's own generator already stored its orders (ids carry the date; a day's
    rows are stored in one transaction, all or none). Such a day is not generated again, so a
    rerun is a no-op whatever was stored since. A day regenerated after its orders were removed
    sees the same books (`ledger.books_for_day` leaves the day's own rows out), so it makes the
    same rows again."""
    cur.execute(
        "select exists (select 1 from raw.orders where order_id like %s)",
        (f"ORD{ledger.day_stamp(day)}%",),
    )
    return bool(fetch_one(cur)[0])


def opening_cash(cur: Cursor) -> dict[str, Decimal]:
    """`raw.accounts.balance`: the cash an account was opened with."""
    cur.execute("select account_id, balance from raw.accounts order by account_id")
    return dict(cur.fetchall())


def stored_events(cur: Cursor) -> list[Event]:
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


def stored_splits(cur: Cursor) -> list[Split]:
    cur.execute("select symbol, effective_date, split_factor from raw.stock_splits")
    return [Split(symbol, day, Fraction(factor)) for symbol, day, factor in cur.fetchall()]


def day_ranges(
    conn: Connection, symbols: list[str], first: date | None, last: date
) -> list[oltp.DayRange]:
    """Each symbol's low/high/close per day in [first, last]: the prices orders are drawn at."""
    with conn, conn.cursor() as cur:
        cur.execute(
            """
            select symbol, price_date, low_price, high_price, close_price
            from raw.daily_prices
            where symbol = any(%s)
              and price_date <= %s
              and (%s::date is null or price_date >= %s::date)
            order by symbol, price_date
            """,
            (symbols, last, first, first),
        )
        return [oltp.DayRange(*row) for row in cur.fetchall()]


def account_ids(conn: Connection) -> list[str]:
    with conn, conn.cursor() as cur:
        cur.execute("select account_id from raw.accounts order by account_id")
        return [row[0] for row in cur.fetchall()]


def insert_accounts(cur: Cursor, rows: Sequence[Sequence[object]]) -> int:
    return insert_new_rows(cur, "raw.accounts", "account_id", oltp.ACCOUNT_COLUMNS, rows)


def insert_activity(cur: Cursor, activity: oltp.Activity) -> tuple[int, int]:
    """Orders, trades and cash movements in the caller's transaction; ids already there are
    skipped. Returns the new orders and trades."""
    orders = insert_new_rows(cur, "raw.orders", "order_id", oltp.ORDER_COLUMNS, activity.orders)
    trades = insert_new_rows(cur, "raw.trades", "trade_id", oltp.TRADE_COLUMNS, activity.trades)
    insert_new_rows(
        cur, "raw.cash_movements", "movement_id", oltp.MOVEMENT_COLUMNS, activity.movements
    )
    return orders, trades
