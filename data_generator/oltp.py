"""Synthetic OLTP activity (accounts, orders, trades) made with Faker, deterministic for a seed.

Generation is pure: it takes the price bars it may trade on and returns rows, so the same seed and
bars always give the same ids and values, a rerun inserts nothing new, and the module is tested
without a database. Every trade is priced inside its day's low-high at a time within market hours.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from faker import Faker

MARKET_TZ = ZoneInfo("America/New_York")
MARKET_OPEN = time(9, 30)
MARKET_MINUTES = 390  # 09:30-16:00
ACCOUNT_TYPES = ("individual", "institutional")
ORDER_TYPES = ("buy", "sell")
ORDER_STATUSES = ("filled", "partial", "cancelled")
STATUS_WEIGHTS = (0.7, 0.15, 0.15)

ACCOUNT_COLUMNS = ("account_id", "user_name", "email", "account_type", "balance", "created_at")
ORDER_COLUMNS = (
    "order_id",
    "account_id",
    "symbol",
    "order_type",
    "quantity",
    "price",
    "status",
    "created_at",
)
TRADE_COLUMNS = (
    "trade_id",
    "order_id",
    "account_id",
    "symbol",
    "trade_type",
    "quantity",
    "price",
    "total_amount",
    "traded_at",
)


@dataclass(frozen=True)
class DayRange:
    """What a trade needs to know of a symbol's day: its range and close."""

    symbol: str
    price_date: date
    low: Decimal
    high: Decimal
    close: Decimal


@dataclass
class Activity:
    orders: list[tuple]
    trades: list[tuple]


def make_accounts(seed: int, count: int, opened_before: date) -> list[tuple]:
    """`count` accounts ACC00001.., opened in the two years before `opened_before`."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(f"accounts-{seed}")
    accounts = []
    for n in range(1, count + 1):
        opened_day = opened_before - timedelta(days=rng.randint(1, 730))
        opened_at = datetime.combine(opened_day, time(0, 0), MARKET_TZ) + timedelta(
            seconds=rng.randint(8 * 3600, 20 * 3600)
        )
        account_type = "institutional" if rng.random() < 0.2 else "individual"
        low, high = (250_000, 5_000_000) if account_type == "institutional" else (1_000, 250_000)
        balance = Decimal(rng.randint(low * 100, high * 100)) / 100
        user_name = fake.unique.user_name()
        accounts.append(
            (
                f"ACC{n:05d}",
                user_name,
                f"{user_name}@{fake.free_email_domain()}",
                account_type,
                balance,
                opened_at,
            )
        )
    return accounts


def _market_time(rng: random.Random, day: date, latest_minute: int) -> datetime:
    opened = datetime.combine(day, MARKET_OPEN, MARKET_TZ)
    return opened + timedelta(seconds=rng.randint(0, latest_minute * 60))


def _trade_price(rng: random.Random, day: DayRange) -> Decimal:
    """A price inside [low, high] at 4 decimals, so it stays inside after rounding."""
    ticks = int((day.high - day.low) / Decimal("0.0001"))
    return day.low + Decimal(rng.randint(0, ticks)) * Decimal("0.0001")


def make_activity(
    rng: random.Random,
    days: list[DayRange],
    account_ids: list[str],
    count: int,
    order_id: callable,
    trade_id: callable,
) -> Activity:
    """`count` orders on random (symbol, day)s, with a trade for each filled or partial one."""
    orders, trades = [], []
    for n in range(1, count + 1):
        day = rng.choice(days)
        account_id = rng.choice(account_ids)
        order_type = rng.choice(ORDER_TYPES)
        quantity = rng.randint(1, 50) * 10
        limit_price = (day.close * Decimal(str(round(rng.uniform(0.99, 1.01), 4)))).quantize(
            Decimal("0.0001")
        )
        status = rng.choices(ORDER_STATUSES, STATUS_WEIGHTS)[0]
        created_at = _market_time(rng, day.price_date, MARKET_MINUTES - 15)
        orders.append(
            (
                order_id(n),
                account_id,
                day.symbol,
                order_type,
                quantity,
                limit_price,
                status,
                created_at,
            )
        )
        if status == "cancelled":
            continue
        filled = quantity if status == "filled" else rng.randint(1, quantity - 1)
        price = _trade_price(rng, day)
        traded_at = created_at + timedelta(seconds=rng.randint(1, 600))
        trades.append(
            (
                trade_id(len(trades) + 1),
                order_id(n),
                account_id,
                day.symbol,
                order_type,
                filled,
                price,
                (price * filled).quantize(Decimal("0.01")),
                traded_at,
            )
        )
    return Activity(orders=orders, trades=trades)


def history_activity(
    seed: int, days: list[DayRange], account_ids: list[str], count: int
) -> Activity:
    """The initial order book over the price history: ORD000001.., TRD000001.."""
    rng = random.Random(f"history-{seed}")
    return make_activity(
        rng, days, account_ids, count, lambda n: f"ORD{n:06d}", lambda n: f"TRD{n:06d}"
    )


def daily_activity(
    seed: int, day: date, days: list[DayRange], account_ids: list[str], count: int
) -> Activity:
    """One trading day's new orders, ids carrying the date (ORD202611250001) so days never clash."""
    rng = random.Random(f"day-{seed}-{day.isoformat()}")
    stamp = day.strftime("%Y%m%d")
    return make_activity(
        rng,
        days,
        account_ids,
        count,
        lambda n: f"ORD{stamp}{n:04d}",
        lambda n: f"TRD{stamp}{n:04d}",
    )
