"""The books the order generator trades against, and the generator itself, without a database:
cash and shares never go below zero in any order of generating days, splits included."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from data_generator.activity import oltp
from data_generator.activity.ledger import (
    MARKET_TZ,
    AccountBook,
    Balance,
    CashEvent,
    Event,
    MovementType,
    Side,
    Split,
    TradeEvent,
    books_for_day,
    event_date,
    is_days_own,
    trade_fee,
)
from data_generator.reference.trading_calendar import is_trading_day

MONDAY, TUESDAY, WEDNESDAY = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)
SYMBOLS = ("AAA", "BBB", "CCC")


def at(day: date, hour: int = 11) -> datetime:
    return datetime.combine(day, time(hour), MARKET_TZ)


def trade(key: str, side: Side, quantity: int, amount: str, day: date, account="A", symbol="AAA"):
    amount = Decimal(amount)
    return TradeEvent(key, account, symbol, side, quantity, amount, trade_fee(amount), at(day))


def bars(day: date, rng: random.Random) -> list[oltp.DayRange]:
    result = []
    for symbol in SYMBOLS:
        close = Decimal(rng.randint(20, 200))
        result.append(
            oltp.DayRange(symbol, day, close - 1, close + 1, close)
        )  # a tight range keeps the arithmetic easy to follow
    return result


def sessions(first: date, count: int) -> list[date]:
    days, day = [], first
    while len(days) < count:
        if is_trading_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def events_of(activity: oltp.Activity) -> list[Event]:
    trades = [
        TradeEvent(t[0], t[2], t[3], Side(t[4]), t[5], t[7], t[8], t[9]) for t in activity.trades
    ]
    moves = [CashEvent(m[0], m[1], MovementType(m[2]), m[3], m[4]) for m in activity.movements]
    return trades + moves


def assert_never_negative(opening: dict[str, Decimal], events: list[Event], splits=()) -> None:
    """Replay every event in time order: cash and (split-adjusted) shares stay at or above 0."""
    cash = dict(opening)
    shares: dict[tuple[str, str], Fraction] = {}
    pending = sorted(splits, key=lambda s: s.effective_date)
    for event in sorted(events, key=lambda e: (e.at, e.key)):
        while pending and pending[0].effective_date <= event_date(event):
            split = pending.pop(0)
            for key in shares:
                if key[1] == split.symbol:
                    shares[key] *= split.factor
        cash[event.account_id] += event.cash_change
        assert cash[event.account_id] >= 0, event
        if isinstance(event, TradeEvent):
            key = (event.account_id, event.symbol)
            shares[key] = shares.get(key, 0) + event.share_change
            assert shares[key] >= 0, event


def test_book_replays_the_days_before_and_applies_splits():
    events = [
        trade("T1", Side.BUY, 10, "1000.00", MONDAY),
        CashEvent("C1", "A", MovementType.DEPOSIT, Decimal("50.00"), at(MONDAY, 8)),
        trade("T2", Side.SELL, 4, "1000.00", WEDNESDAY),  # after the day: a later change
    ]
    splits = [Split("AAA", TUESDAY, Fraction(3, 2))]

    book = books_for_day({"A": Decimal("2000.00")}, events, splits, TUESDAY)["A"]

    assert book.cash.start == Decimal("2000.00") - Decimal("1000.50") + Decimal("50.00")
    assert book.shares["AAA"].start == Fraction(15)
    assert [change for _, _, change in book.shares["AAA"].changes] == [Fraction(-4)]
    assert book.sellable("AAA") == 11
    assert book.spendable() == book.cash.start  # a later sell only adds cash


def test_later_trades_count_in_the_days_shares_across_a_split():
    events = [
        trade("T1", Side.BUY, 10, "1000.00", MONDAY),
        trade("T2", Side.SELL, 20, "1000.00", WEDNESDAY),  # 20 post-split = 10 of Tuesday's
    ]
    splits = [Split("AAA", WEDNESDAY, Fraction(2))]

    book = books_for_day({"A": Decimal("2000.00")}, events, splits, TUESDAY)["A"]

    assert book.shares["AAA"].start == Fraction(10)
    assert book.sellable("AAA") == 0


def test_later_spending_caps_what_the_day_may_spend():
    events = [trade("T1", Side.BUY, 10, "900.00", WEDNESDAY)]

    book = books_for_day({"A": Decimal("1000.00")}, events, [], TUESDAY)["A"]

    assert book.cash.start == Decimal("1000.00")
    assert book.spendable() == Decimal("1000.00") - Decimal("900.45")


def test_the_floor_is_the_lowest_point_from_the_instant_on():
    balance = Balance(Decimal(100))
    balance.add(at(TUESDAY, 10), "b", Decimal(-80))
    balance.add(at(TUESDAY, 12), "c", Decimal(50))
    balance.add(at(TUESDAY, 14), "d", Decimal(-60))

    assert balance.floor(at(TUESDAY, 9)) == 10  # 100, 20, 70, 10
    assert balance.floor(at(TUESDAY, 11)) == 10  # 20 just before, then 70, 10
    assert balance.floor(at(TUESDAY, 13)) == 10
    assert balance.floor(at(TUESDAY, 15)) == 10  # after everything: the balance itself
    assert balance.floor(at(WEDNESDAY)) == balance.total() == 10
    # a change at the very instant of a stored one counts both orders of the tie
    assert balance.floor(at(TUESDAY, 12)) == 10
    tie = Balance(Decimal(100))
    tie.add(at(TUESDAY, 12), "z", Decimal(-100))
    assert tie.floor(at(TUESDAY, 12)) == 0


def test_rows_stored_on_the_day_itself_cap_the_day():
    """The defect of issue 27: `fintrade init` for a later date stored a history over the day
    being backfilled. Its rows on the day count at their instants: the day's 09:45 order may
    not spend the cash the history's 11:00 buy spends, nor sell shares before they are bought."""
    opening = {"A": Decimal("10005.00")}  # all of it goes on the history's buy and its fee
    stored = [trade("TRD000001", Side.BUY, 100, "10000.00", TUESDAY)]  # 11:00 New York

    book = books_for_day(opening, stored, [], TUESDAY)["A"]

    assert book.spendable(at(TUESDAY, 9)) == 0
    assert book.sellable("AAA", at(TUESDAY, 10)) == 0
    assert book.sellable("AAA", at(TUESDAY, 12)) == 100


def test_the_days_own_rows_are_left_out_of_its_books():
    own = trade(f"TRD{TUESDAY:%Y%m%d}0001", Side.BUY, 10, "900.00", TUESDAY)
    other = trade("TRD000007", Side.BUY, 1, "50.00", TUESDAY)

    book = books_for_day({"A": Decimal("1000.00")}, [own, other], [], TUESDAY)["A"]

    assert [key for _, key, _ in book.cash.changes] == ["TRD000007"]
    assert is_days_own(own.key, TUESDAY) and not is_days_own(own.key, WEDNESDAY)
    assert not is_days_own(other.key, TUESDAY)


def test_a_day_never_sells_what_a_stored_later_day_already_sold():
    rng = random.Random(7)
    opening = {f"A{n}": Decimal("1000000.00") for n in range(3)}
    held = [trade(f"T{n}", Side.BUY, 500, "10000.00", MONDAY, f"A{n}", "AAA") for n in range(3)]
    sold_later = [trade(f"S{n}", Side.SELL, 500, "10000.00", WEDNESDAY, f"A{n}") for n in range(3)]
    books = books_for_day(opening, held + sold_later, [], TUESDAY)

    activity = oltp.daily_activity(1, TUESDAY, bars(TUESDAY, rng), books, opening, 200)

    assert activity.trades
    for account_id in opening:
        traded = [t for t in activity.trades if t[2] == account_id and t[3] == "AAA"]
        bought = sum(t[5] for t in traded if t[4] == "buy")
        sold = sum(t[5] for t in traded if t[4] == "sell")
        assert sold <= bought, f"{account_id} sold Monday's shares, which Wednesday sells"
    assert_never_negative(opening, held + sold_later + events_of(activity))


@pytest.mark.parametrize("seed", range(5))
def test_days_generated_in_any_order_keep_every_stored_day_non_negative(seed):
    """History, then the later days out of order (backfills after later days), with a split in
    the middle and little cash, so the limits bind."""
    rng = random.Random(seed)
    history_days = sessions(date(2026, 9, 1), 30)
    later = sessions(history_days[-1] + timedelta(days=1), 6)
    splits = [Split("BBB", later[3], Fraction(3))]
    opening = {f"ACC{n:05d}": Decimal(rng.randint(2_000, 60_000)) for n in range(1, 9)}
    prices = [bar for day in history_days for bar in bars(day, rng)]
    events = events_of(oltp.history_activity(seed, prices, opening, 150, splits))
    assert_never_negative(opening, events, splits)

    order = list(later)
    rng.shuffle(order)
    for day in order:
        books = books_for_day(opening, events, splits, day)
        day_events = events_of(oltp.daily_activity(seed, day, bars(day, rng), books, opening, 40))
        events += day_events
        assert_never_negative(opening, events, splits)
    sells = [e for e in events if isinstance(e, TradeEvent) and e.side is Side.SELL]
    assert len(sells) > 20


def test_ignoring_later_days_would_break_the_history():
    """The check above has teeth: a backfill generated from the day before alone (no later
    rows) sells shares a stored later day already sold."""
    opening = {"A": Decimal("10005.00")}  # all of it goes on Monday's buy and its fee
    stored = [
        trade("T1", Side.BUY, 100, "10000.00", MONDAY),
        trade("T2", Side.SELL, 100, "10000.00", WEDNESDAY),
    ]
    books = books_for_day(opening, stored, [], TUESDAY)
    naive = {"A": AccountBook.opened(books["A"].cash.start)}
    naive["A"].holding("AAA").start = books["A"].shares["AAA"].start
    rng = random.Random(3)
    activity = oltp.daily_activity(3, TUESDAY, bars(TUESDAY, rng)[:1], naive, opening, 40)

    with pytest.raises(AssertionError):
        assert_never_negative(opening, stored + events_of(activity))


def test_generation_is_deterministic_for_seed_date_and_books():
    rng = random.Random(1)
    prices = [bar for day in sessions(date(2026, 9, 1), 20) for bar in bars(day, rng)]
    opening = {f"ACC{n:05d}": Decimal("50000.00") for n in range(1, 6)}

    first = oltp.history_activity(42, prices, opening, 100)
    again = oltp.history_activity(42, prices, opening, 100)

    assert first == again
    assert [row[0] for row in first.orders] == [f"ORD{n:06d}" for n in range(1, 101)]
    traded_at = [row[9] for row in first.trades]
    assert traded_at == sorted(traded_at), "trades are numbered in execution order"
