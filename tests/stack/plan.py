"""Which dates the stack test runs, derived the way the DAG's schedule derives them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from data_generator.reference.trading_calendar import is_trading_day
from data_generator.scheduling.timetable import latest_due_session


def scheduled_logical_date(now: datetime) -> date:
    """The run the scheduler makes itself when the DAG is unpaused at `now`.

    The DAG's trading-day timetable with catchup off creates only the latest session whose run
    is due (two hours after its close in New York), whose logical date is that session's date.
    """
    return latest_due_session(now)


def earlier_trading_day(before: date) -> date:
    """The last trading day strictly before `before`: a date that has prices to load."""
    day = before - timedelta(days=1)
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day
