"""NYSE trading days (sessions) and when each one closes.

Both the synthetic prices and the OLTP activity must land on the same days a real feed would,
or the star schema would show trades on days with no price; the DAG's timetable runs after each
session's close, and the freshness check asks for the last session on or before a date.

`holidays` knows the full closures only. The exchange's early closes (13:00 New York) follow
three fixed rules, kept here: the day after Thanksgiving, and July 3 and December 24 when they
are sessions (when either falls on a Friday it is itself the observed holiday).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

NEW_YORK = ZoneInfo("America/New_York")
REGULAR_CLOSE = time(16, 0)
EARLY_CLOSE = time(13, 0)
THANKSGIVING = "Thanksgiving Day"
# A bound on any walk to a neighbouring session: the exchange never closes this long.
MAX_CLOSED_DAYS = 10


@lru_cache(maxsize=64)
def _nyse_holidays(year: int) -> holidays.HolidayBase:
    return holidays.financial_holidays("NYSE", years=year)


def is_trading_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _nyse_holidays(day.year)


def closure_reason(day: date) -> str | None:
    """Why `day` is no session ('Saturday', 'Thanksgiving Day'), or None when it is one."""
    if day.weekday() >= 5:
        return day.strftime("%A")
    name = _nyse_holidays(day.year).get(day)
    return str(name) if name is not None else None


def is_early_close(day: date) -> bool:
    """Whether the session of `day` ends at 13:00 New York instead of 16:00."""
    if not is_trading_day(day):
        return False
    if (day.month, day.day) in {(7, 3), (12, 24)}:
        return True
    yesterday = day - timedelta(days=1)
    return _nyse_holidays(day.year).get(yesterday) == THANKSGIVING


def session_close(day: date) -> datetime:
    """The close of the session of `day`, in New York time. ValueError for a closed day."""
    if not is_trading_day(day):
        raise ValueError(f"{day} is not an NYSE session ({closure_reason(day)})")
    return datetime.combine(day, EARLY_CLOSE if is_early_close(day) else REGULAR_CLOSE, NEW_YORK)


def last_session_on_or_before(day: date) -> date:
    """`day` itself when it is a session, else the latest session before it."""
    return _walk(day, -1, include_start=True)


def next_session_after(day: date) -> date:
    """The first session strictly after `day`."""
    return _walk(day, 1, include_start=False)


def _walk(day: date, step: int, include_start: bool) -> date:
    candidate = day if include_start else day + timedelta(days=step)
    for _ in range(MAX_CLOSED_DAYS):
        if is_trading_day(candidate):
            return candidate
        candidate += timedelta(days=step)
    raise ValueError(f"no NYSE session within {MAX_CLOSED_DAYS} days of {day}")


def trading_days(start: date, end: date) -> list[date]:
    """Trading days from `start` to `end`, both included, oldest first."""
    days = []
    day = start
    while day <= end:
        if is_trading_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days
