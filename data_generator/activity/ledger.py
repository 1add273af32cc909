"""Each account's cash and shares, replayed from stored rows: what the order generator may spend
and sell on a day.

A day is generated against the books as stored, never against what an earlier run remembered:
the cash and shares at the start of the day (everything dated before it, splits applied), and
the lowest point every later stored day already reaches (the "dip"). Whatever the day spends or
sells moves every later stored point down by the same amount, so a buy may spend at most
`cash + cash_dip` and a sell may sell at most `shares + share_dip`. Days can then be generated in
any order, a backfill of an earlier day after a later one included, and no stored day ever holds
negative cash or shares. No margin and no short selling are modelled: both floors are zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo

MARKET_TZ = ZoneInfo("America/New_York")
FEE_RATE = Decimal("0.0005")  # commission: 5 basis points of the traded amount
CENT = Decimal("0.01")


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class MovementType(StrEnum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"


def trade_fee(amount: Decimal) -> Decimal:
    """The commission booked on a trade of `amount` USD, in cents."""
    return (amount * FEE_RATE).quantize(CENT)


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


@dataclass
class AccountBook:
    """One account at one moment: cash and shares held, and the dips later stored days reach."""

    cash: Decimal
    shares: dict[str, Fraction] = field(default_factory=dict)
    cash_dip: Decimal = Decimal(0)
    share_dips: dict[str, Fraction] = field(default_factory=dict)

    def spendable(self) -> Decimal:
        return self.cash + self.cash_dip

    def sellable(self, symbol: str) -> int:
        """Whole shares that can go without any stored day dropping below zero."""
        return max(0, math.floor(self.shares.get(symbol, 0) + self.share_dips.get(symbol, 0)))

    def apply(self, event: Event) -> None:
        self.cash += event.cash_change
        if isinstance(event, TradeEvent):
            self.shares[event.symbol] = (
                self.shares.get(event.symbol, Fraction(0)) + event.share_change
            )

    def split(self, symbol: str, factor: Fraction) -> None:
        if symbol in self.shares:
            self.shares[symbol] *= factor
        if symbol in self.share_dips:
            self.share_dips[symbol] *= factor


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
    """Every account's book at the start of `day`, in `day`'s shares, with the dips of the
    events stored after it. Events dated `day` itself are the day's own rows and are left out:
    generating the day again gives them again."""
    books = {account_id: AccountBook(cash) for account_id, cash in opening_cash.items()}
    events = list(events)
    unknown = sorted({e.account_id for e in events} - set(books))
    if unknown:
        raise ValueError(f"activity stored for accounts missing from raw.accounts: {unknown[:5]}")
    past = _sorted(e for e in events if event_date(e) < day)
    later = _sorted(e for e in events if event_date(e) > day)
    pending = sorted(splits, key=lambda split: split.effective_date)

    for event in past:
        while pending and pending[0].effective_date <= event_date(event):
            apply_splits(books, [pending.pop(0)])
        books[event.account_id].apply(event)
    apply_splits(books, [s for s in pending if s.effective_date <= day])

    running_cash: dict[str, Decimal] = {}
    running_shares: dict[tuple[str, str], Fraction] = {}
    for event in later:
        book = books[event.account_id]
        running_cash[event.account_id] = running_cash.get(event.account_id, 0) + event.cash_change
        book.cash_dip = min(book.cash_dip, running_cash[event.account_id])
        if isinstance(event, TradeEvent):
            # A later trade counts in `day`'s shares: undo the splits between `day` and it.
            factor = math.prod(
                (
                    s.factor
                    for s in splits
                    if s.symbol == event.symbol and day < s.effective_date <= event_date(event)
                ),
                start=Fraction(1),
            )
            key = (event.account_id, event.symbol)
            running_shares[key] = running_shares.get(key, 0) + Fraction(event.share_change) / factor
            book.share_dips[event.symbol] = min(
                book.share_dips.get(event.symbol, Fraction(0)), running_shares[key]
            )
    return books
