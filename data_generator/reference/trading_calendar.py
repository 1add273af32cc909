"""NYSE trading days: weekdays that are not exchange holidays.

Both the synthetic prices and the OLTP activity must land on the same days a real feed would,
or the star schema would show trades on days with no price.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _nyse_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.financial_holidays("NYSE", years=year))


def is_trading_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _nyse_holidays(day.year)


def trading_days(start: date, end: date) -> list[date]:
    """Trading days from `start` to `end`, both included, oldest first."""
    days = []
    day = start
    while day <= end:
        if is_trading_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days
