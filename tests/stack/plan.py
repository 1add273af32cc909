"""Which dates the stack test runs, derived the way the DAG's schedule derives them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from data_generator.reference.trading_calendar import is_trading_day


def scheduled_logical_date(now: datetime) -> date:
    """The run the scheduler makes itself when the DAG is unpaused at `now`.

    The DAG has a data-interval @daily schedule with catchup off: the scheduler creates only the
    latest complete interval, yesterday 00:00 to today 00:00 (UTC), whose logical date is its
    start, yesterday.
    """
    return now.astimezone(UTC).date() - timedelta(days=1)


def earlier_trading_day(before: date) -> date:
    """The last trading day strictly before `before`: a date that has prices to load."""
    day = before - timedelta(days=1)
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day
