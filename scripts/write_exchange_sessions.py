"""Writes the dbt seed of NYSE sessions, dbt/fintrade/seeds/core/exchange_sessions.csv, from
the calendar the pipeline itself uses (data_generator/reference/trading_calendar.py).

    .venv/bin/python scripts/write_exchange_sessions.py

The marts' windows count sessions on this calendar, not a symbol's own bars, so a bar missing
from the vendor shortens a window's coverage instead of stretching it past its name. Run it
again after a holidays upgrade or to extend the range; tests/unit/test_exchange_sessions.py
fails when the seed and the calendar disagree.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.reference.trading_calendar import trading_days
from data_generator.settings import DBT_PROJECT_DIR

SEED_FILE = DBT_PROJECT_DIR / "seeds" / "core" / "exchange_sessions.csv"
# TIME_SERIES_DAILY's full history starts in November 1999; the calendar runs some years ahead.
FIRST_SESSION_YEAR, LAST_SESSION_YEAR = 1999, 2035


def main() -> None:
    days = trading_days(date(FIRST_SESSION_YEAR, 1, 1), date(LAST_SESSION_YEAR, 12, 31))
    SEED_FILE.write_text("session_date\n" + "".join(f"{day.isoformat()}\n" for day in days))
    print(f"{SEED_FILE}: {len(days)} sessions, {days[0]} to {days[-1]}")


if __name__ == "__main__":
    main()
