"""Each account's cash and shares, replayed from stored rows: what the order generator may spend
and sell at each instant of a day.

A day is generated against the books as stored, never against what an earlier run remembered.
Why a day generated in any order (a backfill of an earlier day after later ones, a rerun) can
never drive any stored moment below zero:

1. Every balance (an account's cash, and each of its holdings) is a running sum of signed
   changes in time order (`at`, then row id). A new change `-x` at instant `t` lowers every
   point of that sum from `t` on by `x` and leaves every point before `t` alone.
2. So the most a debit at `t` may take is the *floor from `t`*: the minimum of the running
   balance just before `t` and after every stored change at or after `t`, on the day itself
   and on every later day (`Balance.floor`). Taking at most that keeps every point from `t`
   on at or above zero; the points before `t` did not move. A credit only raises points.
3. The floor is computed from every stored row except the day's own (ids with the day's stamp,
   `ORD20261125…`): rows before the day, rows of other generations on the day itself (the
   history `fintrade init` made over days the scheduler backfills later), and every later
   day. The day's own changes go into the same running sum as they are drawn
   (`AccountBook.apply`), so each next order sees the floor its predecessors left.
4. By induction over the rows stored so far (all non-negative at every instant, by the same
   argument when each was generated), the rows after the day is stored are non-negative at
   every instant too, whatever the order days are generated in.

Holdings are counted in the day's shares: a change on another day is its quantity times the
factors of the splits between the two days (after the day: divided). Converting a whole
timeline by a positive factor keeps the sign of every point, so "non-negative in the day's
shares" is "non-negative in the shares of every instant". Fees are part of a trade's cash
change. Dividends are left out: they only ever add cash, so the books' cash is at most the
cash the marts count (`mart_account_daily_equity.cash_balance` adds dividends paid), and a
day's sells, which may lower later dividends, can never make the books' later cash negative
either. No margin and no short selling are modelled: both floors are zero.

Reruns: the budget is derived only from rows other than the day's own, and a day whose own rows
are stored is not generated again (`storage.books.day_generated`), so a rerun is a no-op.
"""

from __future__ import annotations

import math
from bisect import insort
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

MARKET_TZ = ZoneInfo("America/New_York")
FEE_RATE = Decimal("0.0005")  # commission: 5 basis points of the traded amount
CENT = Decimal("0.01")
DAY_ID_WIDTH = 4  # a day's ids: ORD + yyyymmdd + 4 digits (the history's: ORD + 6 digits)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class MovementType(StrEnum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"


def trade_fee(amount: Decimal) -> Decimal:
    """The commission booked on a trade of `amount` USD, in cents."""
    return (amount * FEE_RATE).quantize(CENT)


def day_stamp(day: date) -> str:
    return day.strftime("%Y%m%d")


def is_days_own(key: str, day: date) -> bool:
    """Whether a row id is one `day`'s generator makes (ORD/TRD/CSH, the date, 4 digits)."""
    return len(key) == 3 + 8 + DAY_ID_WIDTH and key[3:11] == day_stamp(day)


@dataclass(frozen=True)
class Split:
    """`factor` new shares per old share; prices from `effective_date` on are post-split."""

    symbol: str
    effective_date: date
    factor: Fraction


@dataclass(frozen=True)
class TradeEvent:
    key: str
    account_id: str
    symbol: str
    side: Side
    quantity: int
    amount: Decimal
    fee: Decimal
    at: datetime

    @property
    def cash_change(self) -> Decimal:
        return -(self.amount + self.fee) if self.side is Side.BUY else self.amount - self.fee

    @property
    def share_change(self) -> int:
        return self.quantity if self.side is Side.BUY else -self.quantity


@dataclass(frozen=True)
class CashEvent:
    key: str
    account_id: str
    movement_type: MovementType
    amount: Decimal
    at: datetime

    @property
    def cash_change(self) -> Decimal:
        return self.amount if self.movement_type is MovementType.DEPOSIT else -self.amount


Event = TradeEvent | CashEvent


def event_date(event: Event) -> date:
    """The New York date: a trade belongs to the session it executed in."""
    return event.at.astimezone(MARKET_TZ).date()


N = TypeVar("N", Decimal, Fraction)


@dataclass
class Balance(Generic[N]):
    """One running balance: `start` (everything folded in before the day) and the changes from
    the day on, kept in time order (`at`, then row id)."""

    start: N
    changes: list[tuple[datetime, str, N]] = field(default_factory=list)

    def add(self, at: datetime, key: str, change: N) -> None:
        insort(self.changes, (at, key, change))

    def total(self) -> N:
        return sum((change for _, _, change in self.changes), self.start)

    def floor(self, at: datetime | None = None) -> N:
        """The lowest the balance stands from `at` on: just before `at`, and after every change
        at or after it (on `at` itself too, whatever order ties are taken in). A debit at `at`
        of at most this keeps every later point non-negative (the module's argument)."""
        running = self.start
        index = 0
        if at is not None:
            while index < len(self.changes) and self.changes[index][0] < at:
                running += self.changes[index][2]
                index += 1
        low = running
        for _, _, change in self.changes[index:]:
            running += change
            low = min(low, running)
        return low

    def scale(self, factor: N) -> None:
        """Into post-split shares: every point times a positive factor, so no sign changes."""
        self.start = self.start * factor
        self.changes = [(at, key, change * factor) for at, key, change in self.changes]


@dataclass
class AccountBook:
    """One account: its cash and each holding, each a running balance from the day's start."""

    cash: Balance[Decimal]
    shares: dict[str, Balance[Fraction]] = field(default_factory=dict)

    @classmethod
    def opened(cls, cash: Decimal) -> AccountBook:
        return cls(Balance(cash))

    def spendable(self, at: datetime | None = None) -> Decimal:
        """Cash a debit at `at` may take without any stored moment from then on going below 0
        (`at` None: from the start of the books)."""
        return self.cash.floor(at)

    def sellable(self, symbol: str, at: datetime | None = None) -> int:
        """Whole shares a sell at `at` may take without any stored moment going below zero."""
        holding = self.shares.get(symbol)
        return 0 if holding is None else max(0, math.floor(holding.floor(at)))

    def holding(self, symbol: str) -> Balance[Fraction]:
        return self.shares.setdefault(symbol, Balance(Fraction(0)))

    def apply(self, event: Event, shares: Fraction | None = None) -> None:
        """Book a change at its instant; `shares`, the trade's share change in the books'
        shares when they differ from the trade's own (another day, a split between)."""
        self.cash.add(event.at, event.key, event.cash_change)
        if isinstance(event, TradeEvent):
            change = Fraction(event.share_change) if shares is None else shares
            self.holding(event.symbol).add(event.at, event.key, change)

    def split(self, symbol: str, factor: Fraction) -> None:
        if symbol in self.shares:
            self.shares[symbol].scale(factor)


Books = dict[str, AccountBook]


def apply_splits(books: Books, splits: Iterable[Split]) -> None:
    for split in splits:
        for book in books.values():
            book.split(split.symbol, split.factor)


def _sorted(events: Iterable[Event]) -> list[Event]:
    return sorted(events, key=lambda event: (event.at, event.key))


def books_for_day(
    opening_cash: Mapping[str, Decimal],
    events: Iterable[Event],
    splits: Sequence[Split],
    day: date,
) -> Books:
    """Every account's books for generating `day`, in `day`'s shares: the rows dated before it
    folded into each balance's start, every other stored row (on the day itself and after it)
    kept as a change at its instant, so `floor` sees every later point. The day's own rows
    (`is_days_own`) are left out: a rerun of the day would make them again."""
    books = {account_id: AccountBook.opened(cash) for account_id, cash in opening_cash.items()}
    events = [e for e in events if not is_days_own(e.key, day)]
    unknown = sorted({e.account_id for e in events} - set(books))
    if unknown:
        raise ValueError(f"activity stored for accounts missing from raw.accounts: {unknown[:5]}")

    by_symbol: dict[str, list[Split]] = {}
    for split in splits:
        by_symbol.setdefault(split.symbol, []).append(split)

    def in_days_shares(event: TradeEvent) -> Fraction:
        """The trade's share change in `day`'s shares: times the splits after its date and on
        or before `day`, divided by those after `day` and on or before its date."""
        traded = event_date(event)
        factor = Fraction(1)
        for s in by_symbol.get(event.symbol, ()):
            if traded < s.effective_date <= day:
                factor *= s.factor
            elif day < s.effective_date <= traded:
                factor /= s.factor
        return event.share_change * factor

    for event in _sorted(events):
        book = books[event.account_id]
        shares = in_days_shares(event) if isinstance(event, TradeEvent) else None
        if event_date(event) < day:
            book.cash.start += event.cash_change
            if isinstance(event, TradeEvent) and shares is not None:
                book.holding(event.symbol).start += shares
        else:
            book.apply(event, shares)
    return books
