"""`raw.ingest_runs`, the log of every attempt: one record type, one status vocabulary.

The statuses are a closed set the table's check constraint also holds, so a reader (the call
budget, the marts, the daily-limit check) matches a status, never the wording of a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from data_generator.storage.warehouse import Connection, Cursor


class RunStatus(StrEnum):
    LOADED = "loaded"
    STALE = "stale"  # the vendor refused (daily limit); the lake's earlier snapshot was kept
    FAILED = "failed"
    DEFERRED = "deferred"  # corporate actions left for a later day by the call budget
    API_CALL = "api_call"  # one vendor call, reserved against the daily budget before it is made
    DAILY_LIMIT = "daily_limit"  # the vendor said the key's daily quota is spent


class Dataset(StrEnum):
    PRICES = "prices"
    SPLITS = "splits"
    DIVIDENDS = "dividends"
    QUOTA = "quota"  # the vendor's call quota itself (DAILY_LIMIT rows)


@dataclass(frozen=True)
class IngestRun:
    logical_date: date
    symbol: str
    source: str
    status: RunStatus
    started_at: datetime
    dataset: Dataset = Dataset.PRICES
    rows_loaded: int = 0
    rows_rejected: int = 0
    error: str | None = None


def record_ingest_run(conn: Connection, run: IngestRun) -> None:
    """One row, in a transaction of its own: the log of a failure must survive the rollback of
    the load it describes."""
    with conn, conn.cursor() as cur:
        insert_ingest_run(cur, run)


def insert_ingest_run(cur: Cursor, run: IngestRun) -> None:
    """One row in the caller's transaction: a load and its record commit together (one commit
    per symbol, and never a record of rows that are not there)."""
    cur.execute(
        """
        insert into raw.ingest_runs (logical_date, symbol, source, status, rows_loaded,
                                     rows_rejected, error, started_at, finished_at, dataset)
        values (%s, %s, %s, %s, %s, %s, %s, %s, clock_timestamp(), %s)
        """,
        (
            run.logical_date,
            run.symbol,
            run.source,
            run.status.value,
            run.rows_loaded,
            run.rows_rejected,
            run.error,
            run.started_at,
            run.dataset.value,
        ),
    )


def daily_limit_met(conn: Connection, logical_date: date) -> bool:
    """Whether a process of this run (an Airflow task for another symbol) already met the
    vendor's daily limit: the quota is per key and day, so calling again would only repeat it."""
    with conn, conn.cursor() as cur:
        cur.execute(
            """
            select exists (
                select 1 from raw.ingest_runs
                where logical_date = %s
                  and status = %s
                  and started_at > now() - interval '12 hours'
            )
            """,
            (logical_date, RunStatus.DAILY_LIMIT.value),
        )
        row = cur.fetchone()
        return bool(row and row[0])


def loaded_symbols(conn: Connection, logical_date: date, symbols: list[str]) -> set[str]:
    """Those of `symbols` whose latest price record for the date is a load (fresh or stale).

    A retry of a batch skips them: the lake is write-once, so loading the date's snapshot again
    would give the same rows, and fetching it again would spend the vendor's calls.
    """
    with conn, conn.cursor() as cur:
        cur.execute(
            """
            with latest as (
                select distinct on (symbol) symbol, status
                from raw.ingest_runs
                where logical_date = %s
                  and dataset = %s
                  and symbol = any(%s)
                  and status in (%s, %s, %s)
                order by symbol, finished_at desc
            )
            select symbol from latest where status in (%s, %s)
            """,
            (
                logical_date,
                Dataset.PRICES.value,
                symbols,
                RunStatus.LOADED.value,
                RunStatus.STALE.value,
                RunStatus.FAILED.value,
                RunStatus.LOADED.value,
                RunStatus.STALE.value,
            ),
        )
        return {symbol for (symbol,) in cur.fetchall()}


def stale_symbols(conn: Connection, since: date, until: date, symbols: list[str]) -> set[str]:
    """Those of `symbols` whose latest price record of a run dated `since`..`until` is `stale`:
    the vendor was at its daily limit and the lake's earlier snapshot was loaded instead, so a
    missing bar has its reason on record."""
    with conn, conn.cursor() as cur:
        cur.execute(
            """
            with latest as (
                select distinct on (symbol) symbol, status
                from raw.ingest_runs
                where logical_date between %s and %s
                  and dataset = %s
                  and symbol = any(%s)
                  and status in (%s, %s, %s)
                order by symbol, finished_at desc
            )
            select symbol from latest where status = %s
            """,
            (
                since,
                until,
                Dataset.PRICES.value,
                symbols,
                RunStatus.LOADED.value,
                RunStatus.STALE.value,
                RunStatus.FAILED.value,
                RunStatus.STALE.value,
            ),
        )
        return {symbol for (symbol,) in cur.fetchall()}
