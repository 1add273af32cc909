"""Synthetic OLTP activity (accounts, orders, trades, cash movements) made with Faker,
deterministic for a seed.

Generation is pure: it takes the price bars it may trade on and the accounts' books
(`activity.ledger`) and returns rows, so the same seed, bars and books always give the same
ids and values, a rerun inserts nothing new, and the module is tested without a database. Every
trade is priced inside its day's low-high at a time within market hours. Orders are decided in
the order they fill: a buy never spends more than the account's cash, a sell never sells more
than it holds (no margin, no short selling), and each trade books a commission. "Has" is the
floor from the order's instant on (`ledger.Balance.floor`): every stored row at or after that
instant, on the day and on later days, keeps its balance at or above zero.
`raw.accounts.balance` is the cash deposited when the account was opened; cash moves afterwards
only through trades, their fees and the deposits and withdrawals made here.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal

from faker import Faker

from data_generator.activity.ledger import (
    CENT,
    DAY_ID_WIDTH,
    FEE_RATE,
    MARKET_TZ,
    AccountBook,
    Books,
    CashEvent,
    MovementType,
    Side,
    Split,
    TradeEvent,
    apply_splits,
    day_stamp,
    trade_fee,
)

MARKET_OPEN = time(9, 30)
MARKET_MINUTES = 390  # 09:30-16:00
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
    "fee_amount",
    "traded_at",
)
MOVEMENT_COLUMNS = ("movement_id", "account_id", "movement_type", "amount", "moved_at")
SELL_SHARE = 0.5  # chance an order sells when the account holds something it may sell
MOVEMENT_PROBABILITY = 0.02  # chance an account deposits or withdraws on a trading day
DEPOSIT_SHARE = 0.6  # of those movements, deposits
MAX_FILL_SECONDS = 600
MOVEMENTS_FROM = time(7, 0)  # deposits and withdrawals settle before the open, never mid-trade
MOVEMENT_WINDOW_SECONDS = 2 * 3600


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
    orders: list[tuple] = field(default_factory=list)
    trades: list[tuple] = field(default_factory=list)
    movements: list[tuple] = field(default_factory=list)


@dataclass(frozen=True)
class IdScheme:
    """Row ids of one generation: ORD000001 for the history, ORD202611250001 for a day."""

    stamp: str
    width: int

    def make(self, prefix: str, n: int) -> str:
        return f"{prefix}{self.stamp}{n:0{self.width}d}"


HISTORY_IDS = IdScheme("", 6)


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


def _affordable(book: AccountBook, high: Decimal, at: datetime) -> int:
    """Shares a buy at `at` may take: priced at the day's high plus the fee, with two cents to
    spare for the rounding of amount and fee."""
    spendable = book.spendable(at) - 2 * CENT
    if spendable <= 0:
        return 0
    return int(spendable / (high * (1 + FEE_RATE)))


def _share(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(str(round(rng.uniform(low, high), 4)))


def _cash_movements(
    rng: random.Random,
    day: date,
    books: Books,
    opening_cash: Mapping[str, Decimal],
    ids: IdScheme,
    activity: Activity,
) -> None:
    """Some accounts deposit (a share of their opening cash) or withdraw (a share of what they
    may spend from the movement's instant on) before the day's open."""
    for account_id in sorted(books):
        if rng.random() >= MOVEMENT_PROBABILITY:
            continue
        moved_at = datetime.combine(day, MOVEMENTS_FROM, MARKET_TZ) + timedelta(
            seconds=rng.randint(0, MOVEMENT_WINDOW_SECONDS)
        )
        if rng.random() < DEPOSIT_SHARE:
            movement_type = MovementType.DEPOSIT
            amount = (opening_cash[account_id] * _share(rng, 0.01, 0.2)).quantize(CENT)
        else:
            movement_type = MovementType.WITHDRAWAL
            amount = (books[account_id].spendable(moved_at) * _share(rng, 0.05, 0.5)).quantize(
                CENT, ROUND_DOWN
            )
        if amount < 1:
            continue
        event = CashEvent(
            ids.make("CSH", len(activity.movements) + 1),
            account_id,
            movement_type,
            amount,
            moved_at,
        )
        books[account_id].apply(event)
        activity.movements.append((event.key, account_id, movement_type.value, amount, moved_at))


def _choose_order(
    rng: random.Random, bars: Sequence[DayRange], books: Books, at: datetime
) -> tuple[str, Side, DayRange, int] | None:
    """(account, side, bar, most shares allowed) for an order taking effect at `at`: a sell of
    something held, else a buy the account can pay for; another account when this one can do
    neither."""
    account_ids = sorted(books)
    for _attempt in range(2 * len(account_ids)):
        account_id = rng.choice(account_ids)
        book = books[account_id]
        held = [bar for bar in bars if book.sellable(bar.symbol, at) > 0]
        if held and rng.random() < SELL_SHARE:
            bar = rng.choice(held)
            return account_id, Side.SELL, bar, book.sellable(bar.symbol, at)
        bar = rng.choice(bars)
        if (affordable := _affordable(book, bar.high, at)) > 0:
            return account_id, Side.BUY, bar, affordable
        if held:
            bar = rng.choice(held)
            return account_id, Side.SELL, bar, book.sellable(bar.symbol, at)
    return None


def _order_slots(rng: random.Random, day: date, count: int) -> list[tuple[datetime, datetime, str]]:
    """(takes effect at, created at, status) per order, in the order they take effect: a fill
    at its trade time, a cancellation when placed."""
    slots = []
    for _ in range(count):
        created_at = _market_time(rng, day, MARKET_MINUTES - 15)
        status = rng.choices(ORDER_STATUSES, STATUS_WEIGHTS)[0]
        effective_at = created_at
        if status != "cancelled":
            effective_at += timedelta(seconds=rng.randint(1, MAX_FILL_SECONDS))
        slots.append((effective_at, created_at, status))
    return sorted(slots)


def trade_day(
    rng: random.Random,
    day: date,
    bars: Sequence[DayRange],
    books: Books,
    opening_cash: Mapping[str, Decimal],
    order_count: int,
    ids: IdScheme,
    activity: Activity,
) -> None:
    """One session: cash movements before the open, then `order_count` orders decided in the
    order they take effect against `books`, which move with every trade."""
    _cash_movements(rng, day, books, opening_cash, ids, activity)
    for effective_at, created_at, planned_status in _order_slots(rng, day, order_count):
        choice = _choose_order(rng, bars, books, effective_at)
        if choice is None:
            continue
        account_id, side, bar, most = choice
        quantity = min(rng.randint(1, 50) * 10, most)
        status = "filled" if planned_status == "partial" and quantity < 2 else planned_status
        limit_price = (bar.close * _share(rng, 0.99, 1.01)).quantize(Decimal("0.0001"))
        order_id = ids.make("ORD", len(activity.orders) + 1)
        order = (order_id, account_id, bar.symbol, side.value, quantity, limit_price, status)
        activity.orders.append((*order, created_at))
        if status == "cancelled":
            continue
        filled = quantity if status == "filled" else rng.randint(1, quantity - 1)
        price = _trade_price(rng, bar)
        amount = (price * filled).quantize(CENT)
        trade = TradeEvent(
            ids.make("TRD", len(activity.trades) + 1),
            account_id,
            bar.symbol,
            side,
            filled,
            amount,
            trade_fee(amount),
            effective_at,
        )
        books[account_id].apply(trade)
        activity.trades.append(
            (
                trade.key,
                order_id,
                account_id,
                bar.symbol,
                side.value,
                filled,
                price,
                amount,
                trade.fee,
                effective_at,
            )
        )


def history_activity(
    seed: int,
    days: Sequence[DayRange],
    opening_cash: Mapping[str, Decimal],
    count: int,
    splits: Sequence[Split] = (),
) -> Activity:
    """The initial book over the price history, from each account's opening cash:
    ORD000001.., TRD000001.., CSH000001.. numbered in the order they take effect."""
    rng = random.Random(f"history-{seed}")
    sessions = sorted({day.price_date for day in days})
    orders_per_session = Counter(rng.choice(sessions) for _ in range(count))
    bars: dict[date, list[DayRange]] = {}
    for day in days:
        bars.setdefault(day.price_date, []).append(day)
    books = {account_id: AccountBook.opened(cash) for account_id, cash in opening_cash.items()}
    pending = sorted(splits, key=lambda split: split.effective_date)
    activity = Activity()
    for session in sessions:
        while pending and pending[0].effective_date <= session:
            apply_splits(books, [pending.pop(0)])
        trade_day(
            rng,
            session,
            bars[session],
            books,
            opening_cash,
            orders_per_session[session],
            HISTORY_IDS,
            activity,
        )
    return activity


def daily_activity(
    seed: int,
    day: date,
    days: Sequence[DayRange],
    books: Books,
    opening_cash: Mapping[str, Decimal],
    count: int,
) -> Activity:
    """One trading day against the stored books (`ledger.books_for_day`), ids carrying the date
    (ORD202611250001) so days never clash."""
    rng = random.Random(f"day-{seed}-{day.isoformat()}")
    activity = Activity()
    ids = IdScheme(day_stamp(day), DAY_ID_WIDTH)
    trade_day(rng, day, days, books, opening_cash, count, ids, activity)
    return activity
