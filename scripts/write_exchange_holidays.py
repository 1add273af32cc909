"""Writes the dbt seed of NYSE holidays, dbt/fintrade/seeds/core/exchange_holidays.csv: the
weekdays the exchange is closed, from the calendar the pipeline itself uses
(data_generator/reference/trading_calendar.py).

    .venv/bin/python scripts/write_exchange_holidays.py

core.dim_exchange_sessions is every weekday of the seed's years but these, and the marts'
windows count its sessions, not a symbol's own bars, so a bar missing from the vendor shortens a
window's coverage instead of stretching it past its name. Run it again after a holidays upgrade
or to extend the range; tests/unit/test_exchange_holidays.py fails when the seed and the
calendar disagree.
"""

from __future__ import annotations

import csv
import sys
from datetime import date, timedelta
from pathlib import Path

import holidays

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.reference.trading_calendar import is_trading_day
from data_generator.settings import DBT_PROJECT_DIR

SEED_FILE = DBT_PROJECT_DIR / "seeds" / "core" / "exchange_holidays.csv"
# TIME_SERIES_DAILY's full history starts in November 1999; the calendar runs some years ahead.
FIRST_YEAR, LAST_YEAR = 1999, 2035


def main() -> None:
    names = holidays.financial_holidays("NYSE", years=range(FIRST_YEAR, LAST_YEAR + 1))
    day, closed = date(FIRST_YEAR, 1, 1), []
    while day <= date(LAST_YEAR, 12, 31):
        if day.weekday() < 5 and not is_trading_day(day):
            closed.append((day.isoformat(), names.get(day)))
        day += timedelta(days=1)
    with SEED_FILE.open("w", newline="") as seed:
        writer = csv.writer(seed, lineterminator="\n")
        writer.writerow(["holiday_date", "holiday_name"])
        writer.writerows(closed)
    print(f"{SEED_FILE}: {len(closed)} weekday closures, {FIRST_YEAR} to {LAST_YEAR}")


if __name__ == "__main__":
    main()
