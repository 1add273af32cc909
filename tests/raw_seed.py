"""Hand-made raw rows for the dbt project's own tests, shaped exactly like the raw contract.

The dbt tests need a warehouse whose contents they know without running the ingestion code, so
they can recompute mart figures independently and restate a single close. Everything is drawn
from one seeded generator, so a given seed always gives the same rows.
"""

from __future__ import annotations

import random
import secrets
import shutil
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import holidays
import psycopg2
from psycopg2 import sql
from psycopg2.extras import execute_values

from data_generator import transform
from data_generator.config import INIT_SQL, Settings
from data_generator.universe import STOCKS

NEW_YORK = ZoneInfo("America/New_York")
SESSION_OPEN = time(9, 30)
SESSION_MINUTES = 390
CENT = Decimal("0.01")
TICK = Decimal("0.0001")


@dataclass(frozen=True)
class RawRows:
    stocks: list[tuple]
    daily_prices: list[tuple]
    accounts: list[tuple]
    orders: list[tuple]
    trades: list[tuple]


def trading_days(last_day: date, count: int) -> list[date]:
    """The `count` NYSE sessions ending on `last_day`, oldest first."""
    closed = holidays.NYSE(years=range(last_day.year - count // 240 - 2, last_day.year + 1))
    days: list[date] = []
    day = last_day
    while len(days) < count:
        if day.weekday() < 5 and day not in closed:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


def _tick(value: float) -> Decimal:
    return Decimal(str(value)).quantize(TICK, rounding=ROUND_HALF_UP)


def price_rows(rng: random.Random, days: list[date]) -> list[tuple]:
    """A geometric random walk per symbol with OHLC that always nests open and close."""
    rows = []
    for stock in STOCKS:
        close = rng.uniform(40, 600)
        for day in days:
            open_ = close * (1 + rng.gauss(0, 0.004))
            close = open_ * (1 + rng.gauss(0.0004, 0.018))
            high = max(open_, close) * (1 + abs(rng.gauss(0, 0.006)))
            low = min(open_, close) * (1 - abs(rng.gauss(0, 0.006)))
            rows.append(
                (
                    stock.symbol,
                    day,
                    _tick(open_),
                    _tick(high),
                    _tick(low),
                    _tick(close),
                    rng.randint(1_000_000, 60_000_000),
                    "synthetic",
                    f"raw/parquet/symbol={stock.symbol}/date={day.isoformat()}.parquet",
                )
            )
    return rows


def _session_moment(rng: random.Random, day: date, earliest_minute: int = 0) -> datetime:
    minute = rng.randint(earliest_minute, SESSION_MINUTES - 1)
    opened = datetime.combine(day, SESSION_OPEN, tzinfo=NEW_YORK)
    return opened + timedelta(minutes=minute, seconds=rng.randint(0, 59))


def oltp_rows(
    rng: random.Random, prices: list[tuple], accounts: int, orders: int
) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Accounts, orders and the trades that fill them, each trade priced inside its day's range."""
    first_day = min(row[1] for row in prices)
    account_rows = [
        (
            f"ACC{n:05d}",
            f"user{n}",
            f"user{n}@example.com",
            rng.choice(("individual", "institutional")),
            Decimal(str(rng.uniform(1_000, 2_000_000))).quantize(CENT),
            datetime.combine(first_day - timedelta(days=rng.randint(30, 900)), time(12), NEW_YORK),
        )
        for n in range(1, accounts + 1)
    ]
    order_rows, trade_rows = [], []
    for n in range(1, orders + 1):
        symbol, day, _open, high, low, close, *_ = rng.choice(prices)
        status = rng.choices(("filled", "partial", "cancelled"), weights=(70, 10, 20))[0]
        quantity = rng.randint(1, 500)
        created_at = _session_moment(rng, day, earliest_minute=0)
        account_id = rng.choice(account_rows)[0]
        order_type = rng.choice(("buy", "sell"))
        order_rows.append(
            (f"ORD{n:06d}", account_id, symbol, order_type, quantity, close, status, created_at)
        )
        if status == "cancelled":
            continue
        filled = quantity if status == "filled" else max(1, quantity // 2)
        price = _tick(rng.uniform(float(low), float(high)))
        price = min(max(price, low), high)
        traded_at = min(
            created_at + timedelta(minutes=rng.randint(0, 30)),
            datetime.combine(day, time(16), NEW_YORK),
        )
        trade_rows.append(
            (
                f"TRD{len(trade_rows) + 1:06d}",
                f"ORD{n:06d}",
                account_id,
                symbol,
                order_type,
                filled,
                price,
                (price * filled).quantize(CENT, rounding=ROUND_HALF_UP),
                traded_at,
            )
        )
    return account_rows, order_rows, trade_rows


def make_raw_rows(
    seed: int = 7,
    last_day: date = date(2025, 11, 26),
    days: int = 250,
    accounts: int = 50,
    orders: int = 600,
) -> RawRows:
    rng = random.Random(seed)
    prices = price_rows(rng, trading_days(last_day, days))
    account_rows, order_rows, trade_rows = oltp_rows(rng, prices, accounts, orders)
    stock_rows = [(s.symbol, s.company_name, s.sector, s.exchange) for s in STOCKS]
    return RawRows(stock_rows, prices, account_rows, order_rows, trade_rows)


INSERTS = {
    "stocks": "insert into raw.stocks (symbol, company_name, sector, exchange) values %s",
    "daily_prices": (
        "insert into raw.daily_prices (symbol, price_date, open_price, high_price, low_price,"
        " close_price, volume, source, lake_key) values %s"
    ),
    "accounts": (
        "insert into raw.accounts (account_id, user_name, email, account_type, balance,"
        " created_at) values %s"
    ),
    "orders": (
        "insert into raw.orders (order_id, account_id, symbol, order_type, quantity, price,"
        " status, created_at) values %s"
    ),
    "trades": (
        "insert into raw.trades (trade_id, order_id, account_id, symbol, trade_type, quantity,"
        " price, total_amount, traded_at) values %s"
    ),
}


def insert_raw_rows(settings: Settings, rows: RawRows) -> None:
    with closing(connect(settings)) as conn, conn, conn.cursor() as cur:
        for table, statement in INSERTS.items():
            execute_values(cur, statement, getattr(rows, table), page_size=5000)


def connect(settings: Settings, database: str | None = None):
    return psycopg2.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=settings.pg_user,
        password=settings.pg_password,
        dbname=database or settings.pg_database,
    )


def create_database(settings: Settings, prefix: str = "fintrade_test_dbt") -> Settings:
    """A new empty warehouse with the raw schema applied; returns settings pointing at it."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = connect(settings, "postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    admin.close()
    target = settings.with_overrides(pg_database=name)
    with closing(connect(target)) as conn, conn, conn.cursor() as cur:
        cur.execute(INIT_SQL.read_text())
    return target


def drop_database(settings: Settings) -> None:
    """Drops the throwaway warehouse and the dbt run folder kept for it."""
    admin = connect(settings, "postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(
            sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(settings.pg_database)
            )
        )
    admin.close()
    shutil.rmtree(transform.run_dir(settings), ignore_errors=True)
