"""The daily Alpha Vantage call budget, shared by every process of every run through the warehouse.

Airflow runs each symbol's prices in its own process, so no in-memory counter can hold the budget.
Every call is first reserved as a row of `raw.ingest_runs` (status `api_call`, `dataset` naming
what it was spent on) under a transaction-scoped advisory lock, so two processes can never both
take the last call. The budget is per UTC day, the quota's day, whatever logical date a run has.
"""

from __future__ import annotations

from datetime import date

from data_generator.storage.ingest_runs import RunStatus
from data_generator.storage.warehouse import Connection, Cursor, fetch_one

DATASETS = {"TIME_SERIES_DAILY": "prices", "SPLITS": "splits", "DIVIDENDS": "dividends"}

_SPENT_TODAY = """
    select count(*) from raw.ingest_runs
    where status = %(status)s
      and source = 'alphavantage'
      and started_at >= date_trunc('day', now() at time zone 'UTC') at time zone 'UTC'
"""


def _spent_today(cur: Cursor) -> int:
    cur.execute(_SPENT_TODAY, {"status": RunStatus.API_CALL.value})
    return int(fetch_one(cur)[0])


class CallBudget:
    """A call gate for `AlphaVantageClient`: grants a call while the day's budget lasts."""

    def __init__(self, conn: Connection, daily_budget: int, logical_date: date) -> None:
        self._conn = conn
        self._daily_budget = daily_budget
        self._logical_date = logical_date

    def __call__(self, symbol: str, function: str) -> bool:
        with self._conn, self._conn.cursor() as cur:
            cur.execute("select pg_advisory_xact_lock(hashtext('fintrade.api_call_budget'))")
            if _spent_today(cur) >= self._daily_budget:
                return False
            cur.execute(
                """
                insert into raw.ingest_runs (logical_date, symbol, source, status, dataset,
                                             started_at, finished_at)
                values (%s, %s, 'alphavantage', %s, %s, now(), now())
                """,
                (
                    self._logical_date,
                    symbol,
                    RunStatus.API_CALL.value,
                    DATASETS.get(function, function),
                ),
            )
        return True
