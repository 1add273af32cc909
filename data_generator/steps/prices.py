"""The price step: one symbol's daily reply, source -> lake (JSON, then Parquet) -> raw.

Each symbol's load is one transaction and is logged in `raw.ingest_runs`; one symbol's failure
is recorded and reported by name but never stops the others.

A history as long as the gap: each symbol's call asks for `full` on its first load or after a
gap longer than a compact reply covers, else `compact` (sources/history.py, from the symbol's
latest bar in raw.daily_prices). When the key refuses `full` (premium-only), the symbol loads its
compact window and is told, in one line naming it, that its older history could not be fetched:
a warning in the run's output and log, and the `error` of its `loaded` run record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum

from data_generator.errors import FintradeError
from data_generator.reference.trading_calendar import last_session_on_or_before
from data_generator.settings import OutputSize, Settings
from data_generator.sources.alpha_vantage import (
    AlphaVantageError,
    DailyLimitError,
    InvalidApiKeyError,
)
from data_generator.sources.history import COMPACT_SESSIONS, outputsize_for
from data_generator.sources.prices import ReplyFormatError, check_reply, series_table
from data_generator.steps.resources import Resources, open_resources
from data_generator.storage import lake as lake_keys
from data_generator.storage.ingest_runs import (
    Dataset,
    IngestRun,
    RunStatus,
    daily_limit_met,
    insert_ingest_run,
    loaded_symbols,
    record_ingest_run,
)
from data_generator.storage.lake import LakeError
from data_generator.storage.warehouse import (
    LoadCounts,
    WarehouseError,
    latest_price_dates,
    load_price_table,
    price_table,
    record_rejects,
)

logger = logging.getLogger(__name__)

DAILY_LIMIT_MESSAGE = "daily API limit reached"


class SymbolIngestError(FintradeError):
    """One symbol could not be ingested; the message is one line naming the symbol and cause."""


class SymbolOutcome(StrEnum):
    LOADED = RunStatus.LOADED.value
    STALE = RunStatus.STALE.value
    FAILED = RunStatus.FAILED.value


@dataclass
class SymbolResult:
    symbol: str
    status: SymbolOutcome
    counts: LoadCounts = field(default_factory=lambda: LoadCounts(0, 0, 0))
    rows_rejected: int = 0
    called_api: bool = False
    message: str = ""

    def summary(self) -> str:
        if self.status is SymbolOutcome.FAILED:
            return f"{self.symbol}: FAILED {self.message}"
        text = (
            f"{self.symbol}: {self.counts.inserted} new, {self.counts.updated} updated, "
            f"{self.counts.unchanged} unchanged, {self.rows_rejected} rejected"
        )
        return f"{text} ({self.message})" if self.message else text


def history_cut_short(first_bar: str | None, latest_stored: date | None) -> str:
    """What a symbol that needed `full` and got `compact` is told (after its symbol)."""
    since = f"before {first_bar}" if first_bar else "before the compact window"
    stored = f" (stored bars end {latest_stored})" if latest_stored else ""
    return (
        f"history {since} could not be fetched{stored}: outputsize=full is premium-only for "
        f"this key, compact gives the latest {COMPACT_SESSIONS} sessions"
    )


def _reply_series(
    res: Resources, symbol: str, logical_date: date
) -> tuple[dict[str, object], bool, str]:
    """The checked series of the reply for (symbol, date): the lake's copy if any, else the
    source's, stored once, with the warning the user must read ('' when none). Each body is
    parsed once: a reply of years is mostly parsing."""
    key = lake_keys.json_key(symbol, logical_date)
    body = res.lake.get(key)
    if body is not None:
        return check_reply(symbol, body), False, ""
    if res.source.has_daily_limit and daily_limit_met(res.conn, logical_date):
        raise DailyLimitError(f"{symbol}: not requested, {DAILY_LIMIT_MESSAGE} earlier in this run")
    latest_stored = latest_price_dates(res.conn, [symbol]).get(symbol)
    outputsize = outputsize_for(
        res.settings.alpha_vantage_outputsize,
        latest_stored,
        last_session_on_or_before(logical_date),
    )
    started_at = datetime.now(UTC)
    try:
        body = res.source.fetch_daily(symbol, outputsize)
    except DailyLimitError:
        record_ingest_run(
            res.conn,
            IngestRun(
                logical_date,
                symbol,
                res.source.name,
                RunStatus.DAILY_LIMIT,
                started_at,
                dataset=Dataset.QUOTA,
            ),
        )
        raise
    series = check_reply(symbol, body)  # a broken reply must not become the write-once record
    warning = ""
    if outputsize is OutputSize.FULL and res.source.full_refused:
        warning = history_cut_short(min(series, default=None), latest_stored)
        logger.warning("%s: %s", symbol, warning)
    if not res.lake.put_once(key, body, "application/json"):
        stored = res.lake.get(key)  # another writer won the race: theirs is the record
        if stored is not None:
            series = check_reply(symbol, stored)
    return series, True, warning


def _load_snapshot(
    res: Resources,
    symbol: str,
    logical_date: date,
    series: dict[str, object],
    started_at: datetime,
    warning: str = "",
) -> tuple[LoadCounts, int]:
    table, rejects = series_table(symbol, series, res.source.name, logical_date)
    pkey = lake_keys.parquet_key(symbol, logical_date)
    if not res.lake.put_table_once(pkey, table) and not res.lake.get_table(pkey).equals(table):
        # A rerun keeps the write-once snapshot, so it must still be the one this reply makes.
        raise LakeError(
            f"s3://{res.lake.bucket}/{pkey} differs from the snapshot its reply makes; "
            "delete it and rerun the date to rebuild it"
        )
    with res.conn, res.conn.cursor() as cur:
        counts = load_price_table(cur, price_table(table, pkey))
        record_rejects(cur, rejects, lake_keys.json_key(symbol, logical_date))
        insert_ingest_run(
            cur,
            IngestRun(
                logical_date,
                symbol,
                res.source.name,
                RunStatus.LOADED,
                started_at,
                rows_loaded=counts.written,
                rows_rejected=len(rejects),
                error=warning or None,
            ),
        )
    return counts, len(rejects)


def _stale_fallback(
    res: Resources, symbol: str, logical_date: date, started_at: datetime
) -> SymbolResult:
    """After the daily API limit: reload the newest earlier snapshot the lake holds, if any."""
    earlier = [s for s in res.lake.snapshots(symbol) if s.snapshot_date < logical_date]
    if not earlier:
        raise SymbolIngestError(f"{symbol}: {DAILY_LIMIT_MESSAGE} and the lake has no earlier data")
    snapshot = earlier[-1]
    rows = price_table(res.lake.get_table(snapshot.key), snapshot.key)
    source = str(rows["source"][0].as_py()) if rows.num_rows else "unknown"
    message = f"{DAILY_LIMIT_MESSAGE}; kept the lake's snapshot of {snapshot.snapshot_date}"
    with res.conn, res.conn.cursor() as cur:
        counts = load_price_table(cur, rows)
        insert_ingest_run(
            cur,
            IngestRun(
                logical_date,
                symbol,
                source,
                RunStatus.STALE,
                started_at,
                rows_loaded=counts.written,
                error=message,
            ),
        )
    return SymbolResult(symbol, SymbolOutcome.STALE, counts, message=message)


def ingest_symbol_with(res: Resources, symbol: str, logical_date: date) -> SymbolResult:
    """Fetch (or reuse) one symbol's reply for the date and load it; raises SymbolIngestError."""
    started_at = datetime.now(UTC)
    try:
        try:
            series, called_api, warning = _reply_series(res, symbol, logical_date)
        except DailyLimitError:
            return _stale_fallback(res, symbol, logical_date, started_at)
        counts, rejected = _load_snapshot(res, symbol, logical_date, series, started_at, warning)
    except InvalidApiKeyError:
        raise
    except (
        SymbolIngestError,
        AlphaVantageError,
        ReplyFormatError,
        LakeError,
        WarehouseError,
    ) as exc:
        message = str(exc).splitlines()[0]
        res.conn.rollback()
        record_ingest_run(
            res.conn,
            IngestRun(
                logical_date, symbol, res.source.name, RunStatus.FAILED, started_at, error=message
            ),
        )
        raise SymbolIngestError(
            message if message.startswith(symbol) else f"{symbol}: {message}"
        ) from None
    return SymbolResult(symbol, SymbolOutcome.LOADED, counts, rejected, called_api, warning)


def ingest_symbol(settings: Settings, symbol: str, logical_date: date) -> SymbolResult:
    """One symbol end to end with its own connections."""
    with open_resources(settings, logical_date) as res:
        return ingest_symbol_with(res, symbol, logical_date)


def ingest_prices(
    res: Resources,
    symbols: list[str],
    logical_date: date,
    on_symbol: Callable[[SymbolResult], None] = lambda result: None,
) -> list[SymbolResult]:
    """Every symbol in turn; a failure is a result naming the symbol, never a stop."""
    results = []
    for symbol in symbols:
        try:
            result = ingest_symbol_with(res, symbol, logical_date)
        except SymbolIngestError as exc:
            message = str(exc).removeprefix(f"{symbol}: ")
            result = SymbolResult(symbol, SymbolOutcome.FAILED, message=message)
        results.append(result)
        on_symbol(result)
    return results


class BatchIngestError(SymbolIngestError):
    """Some symbols of a batch could not be ingested (the others loaded); one line naming each."""

    def __init__(self, failed: list[SymbolResult], batch_size: int) -> None:
        self.symbols = [result.symbol for result in failed]
        reasons = "; ".join(f"{result.symbol}: {result.message}" for result in failed)
        super().__init__(f"{len(failed)} of {batch_size} symbols failed: {reasons}")


@dataclass
class BatchResult:
    """One batch's symbols: those ingested by this call, and those an earlier try had loaded."""

    results: list[SymbolResult]
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [result.summary() for result in self.results]
        if self.skipped:
            lines.append(f"loaded by an earlier try, skipped: {', '.join(self.skipped)}")
        return "\n".join(lines)


def ingest_batch(
    settings: Settings, symbols: list[str], logical_date: date, *, skip_loaded: bool = False
) -> BatchResult:
    """A batch of symbols with one set of connections; each symbol is its own transaction.

    A failing symbol never stops the others; once all are done, BatchIngestError names every
    failed one. `skip_loaded` is for a retry of the batch: symbols whose latest record for the
    date is a load are not fetched or loaded again, so the retry redoes only what failed.
    """
    with open_resources(settings, logical_date) as res:
        skipped = loaded_symbols(res.conn, logical_date, symbols) if skip_loaded else set()
        todo = [symbol for symbol in symbols if symbol not in skipped]
        results = ingest_prices(res, todo, logical_date)
    failed = [result for result in results if result.status is SymbolOutcome.FAILED]
    if failed:
        raise BatchIngestError(failed, len(symbols))
    return BatchResult(results, [symbol for symbol in symbols if symbol in skipped])
