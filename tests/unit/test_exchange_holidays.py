"""The dbt seed of exchange holidays is the pipeline's own NYSE calendar: every weekday of its
years but those it lists is a trading day (dim_exchange_sessions expands it the same way)."""

from __future__ import annotations

import csv
from datetime import date, timedelta

from data_generator.reference.trading_calendar import trading_days
from data_generator.settings import DBT_PROJECT_DIR

SEED_FILE = DBT_PROJECT_DIR / "seeds" / "core" / "exchange_holidays.csv"


def seeded_holidays() -> dict[date, str]:
    with SEED_FILE.open(newline="") as seed:
        return {
            date.fromisoformat(row["holiday_date"]): row["holiday_name"]
            for row in csv.DictReader(seed)
        }


def weekdays_but(closed: set[date], first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if day.weekday() < 5 and day not in closed:
            days.append(day)
        day += timedelta(days=1)
    return days


def test_the_seeds_sessions_are_the_nyse_calendars_day_for_day():
    closed = seeded_holidays()
    first, last = date(min(closed).year, 1, 1), date(max(closed).year, 12, 31)
    assert (first.year, last.year) == (1999, 2035)
    assert weekdays_but(set(closed), first, last) == trading_days(first, last)


def test_the_seed_names_holidays_and_special_closures():
    closed = seeded_holidays()
    assert closed[date(2026, 11, 26)] == "Thanksgiving Day"
    assert date(2026, 7, 3) in closed  # Independence Day, observed
    assert "Carter" in closed[date(2025, 1, 9)]  # a national day of mourning
    assert date(2026, 12, 1) not in closed
