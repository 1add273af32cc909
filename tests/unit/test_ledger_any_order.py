"""Days of OLTP activity generated in any order against the books as stored: in date order,
reversed, shuffled, repeated, and backfilled over a history that `fintrade init` for a later date
already stored on those very days (issue 27, defect 4). After every step, an independent pandas
replay of all the rows finds no account whose cash or holding is negative at any instant."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from data_generator.activity import oltp
from data_generator.activity.ledger import (
    CashEvent,
    Event,
    MovementType,
    Side,
    Split,
    TradeEvent,
    books_for_day,
    event_date,
)
from data_generator.reference.trading_calendar import is_trading_day

SYMBOLS = ("AAA", "BBB", "CCC")
NEW_YORK = ZoneInfo("America/New_York")
SESSIONS = 30
GENERATED = 8  # the last sessions, generated as days; all but the last inside the history


def sessions(first: date, count: int) -> list[date]:
    days, day = [], first
    while len(days) < count:
        if is_trading_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


CALENDAR = sessions(date(2026, 9, 1), SESSIONS)
SPLITS = [
    Split("BBB", CALENDAR[-4], Fraction(3)),
    Split("AAA", CALENDAR[-6], Fraction(3, 2)),
    Split("CCC", CALENDAR[10], Fraction(2)),
]


def bars(day: date) -> list[oltp.DayRange]:
    """A day's bars, the same whenever the day is generated (a rerun sees the same prices)."""
    rng = random.Random(day.toordinal())
    result = []
    for symbol in SYMBOLS:
        close = Decimal(rng.randint(20, 200))
        result.append(oltp.DayRange(symbol, day, close - 1, close + 1, close))
    return result


def events_of(activity: oltp.Activity) -> list[Event]:
    trades = [
        TradeEvent(t[0], t[2], t[3], Side(t[4]), t[5], t[7], t[8], t[9]) for t in activity.trades
    ]
    moves = [CashEvent(m[0], m[1], MovementType(m[2]), m[3], m[4]) for m in activity.movements]
    return trades + moves


def negative_points(opening: dict[str, Decimal], events: list[Event]) -> pd.DataFrame:
    """Every instant at which an account's cash or a holding is below zero, replayed in pandas
    in execution order (time, then row id). Cash in cents; shares in the shares after every
    split (a trade's quantity times the factors of the splits effective after its date), scaled
    to whole numbers: a positive factor per instant does not change a sign."""
    scale = math.prod(s.factor.denominator for s in SPLITS)

    def adjusted(symbol: str, day: date, quantity: int) -> int:
        factor = math.prod(
            (s.factor for s in SPLITS if s.symbol == symbol and s.effective_date > day),
            start=Fraction(1),
        )
        value = quantity * factor * scale
        assert value.denominator == 1
        return int(value)

    rows = []
    for e in events:
        trade = isinstance(e, TradeEvent)
        if trade:
            cash = (-(e.amount + e.fee)) if e.side is Side.BUY else e.amount - e.fee
            signed = e.quantity if e.side is Side.BUY else -e.quantity
            shares = adjusted(e.symbol, e.at.astimezone(NEW_YORK).date(), signed)
        else:
            cash = e.amount if e.movement_type is MovementType.DEPOSIT else -e.amount
            shares = 0
        rows.append(
            {
                "account_id": e.account_id,
                "key": e.key,
                "at": e.at,
                "symbol": e.symbol if trade else None,
                "cents": int(cash * 100),
                "shares": shares,
            }
        )
    df = pd.DataFrame(rows).sort_values(["at", "key"], ignore_index=True)
    opening_cents = df["account_id"].map({a: int(c * 100) for a, c in opening.items()})
    df["cash_after"] = opening_cents + df.groupby("account_id")["cents"].cumsum()
    trades = df[df["symbol"].notna()].copy()
    trades["held_after"] = trades.groupby(["account_id", "symbol"])["shares"].cumsum()
    return pd.concat([df[df["cash_after"] < 0], trades[trades["held_after"] < 0]])


def own(event: Event, day: date) -> bool:
    return event.key[3:].startswith(day.strftime("%Y%m%d"))


def history(seed: int) -> tuple[dict[str, Decimal], list[Event]]:
    """What `fintrade init` for the last session stores: a history over every session before."""
    rng = random.Random(seed)
    opening = {f"ACC{n:05d}": Decimal(rng.randint(2_000, 40_000)) for n in range(1, 9)}
    prices = [bar for day in CALENDAR[:-1] for bar in bars(day)]
    events = events_of(oltp.history_activity(seed, prices, opening, 240, SPLITS))
    return opening, events


def run_days(
    seed: int, order: list[date], *, naive: bool = False
) -> tuple[dict[str, Decimal], list[Event]]:
    """The activity step for each day in `order`, as `steps.activity.day_activity` runs it: a
    day whose own rows are stored is skipped; else it is generated against every stored row.
    `naive`: against the rows of other days only (what the books did before the fix)."""
    opening, events = history(seed)
    assert negative_points(opening, events).empty
    for day in order:
        if any(own(e, day) for e in events):
            continue
        stored = [e for e in events if event_date(e) != day] if naive else events
        books = books_for_day(opening, stored, SPLITS, day)
        events = events + events_of(oltp.daily_activity(seed, day, bars(day), books, opening, 40))
        if not naive:
            bad = negative_points(opening, events)
            assert bad.empty, f"after {day} in {order}:\n{bad}"
    return opening, events


def orders(seed: int) -> dict[str, list[date]]:
    days = CALENDAR[-GENERATED:]
    shuffled = list(days)
    random.Random(seed).shuffle(shuffled)
    repeated = [days[-1], days[2], days[-1], days[0], days[2], days[5], days[0], *days]
    return {
        "in order": list(days),
        "reversed": days[::-1],
        "shuffled": shuffled,
        "repeated": repeated,
        "latest first, then backfills": [days[-1], *days[:-1]],
    }


@pytest.fixture(autouse=True)
def more_cash_movements(monkeypatch):
    """Deposits and withdrawals on most days, so withdrawals meet the limits too."""
    monkeypatch.setattr(oltp, "MOVEMENT_PROBABILITY", 0.3)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", list(orders(0)))
def test_no_order_of_days_drives_any_instant_negative(seed, name):
    opening, events = run_days(seed, orders(seed)[name])

    assert negative_points(opening, events).empty
    kinds = {type(e).__name__ + getattr(e, "movement_type", "") for e in events}
    assert {"TradeEvent", "CashEventwithdrawal", "CashEventdeposit"} <= kinds
    for day in CALENDAR[-GENERATED:]:
        assert any(own(e, day) for e in events), f"{day} was generated"


def test_a_repeated_day_adds_nothing_and_the_same_order_gives_the_same_rows():
    days = CALENDAR[-GENERATED:]
    _, once = run_days(1, [days[-1], days[3], days[1]])
    _, again = run_days(1, [days[-1], days[3], days[1], days[3], days[-1], days[1]])
    assert again == once


def test_the_limits_bind():
    """The replay has teeth: over the same sequences, books that leave out the rows stored on
    the day itself (the history's, before the fix) drive some instant negative, every time."""
    for name, order in orders(0).items():
        opening, events = run_days(0, order, naive=True)
        assert not negative_points(opening, events).empty, name
