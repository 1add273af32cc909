"""The dbt seed of exchange sessions is the pipeline's own NYSE calendar, day for day."""

from __future__ import annotations

import csv
from datetime import date

from data_generator.reference.trading_calendar import trading_days
from data_generator.settings import DBT_PROJECT_DIR

SEED_FILE = DBT_PROJECT_DIR / "seeds" / "core" / "exchange_sessions.csv"


def seeded_sessions() -> list[date]:
    with SEED_FILE.open(newline="") as seed:
        return [date.fromisoformat(row["session_date"]) for row in csv.DictReader(seed)]


def test_the_seed_holds_every_nyse_session_of_its_years_and_nothing_else():
    sessions = seeded_sessions()
    first, last = sessions[0], sessions[-1]
    assert (first.year, last.year) == (1999, 2035)
    assert sessions == trading_days(date(first.year, 1, 1), date(last.year, 12, 31))


def test_the_seed_leaves_out_holidays_and_special_closures():
    sessions = set(seeded_sessions())
    assert date(2026, 11, 26) not in sessions  # Thanksgiving
    assert date(2026, 7, 3) not in sessions  # Independence Day, observed
    assert date(2025, 1, 9) not in sessions  # national day of mourning
    assert date(2026, 12, 1) in sessions
