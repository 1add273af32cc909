"""The pipeline's steps: prepare, ingest prices (source -> lake -> raw), OLTP activity, replay.

The CLI and the Airflow DAG both call these functions, one symbol or one step at a time, so the
same code runs by hand, in tests and under the scheduler. Each symbol's load is one transaction;
one symbol's failure is recorded and reported but never stops the others.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_generator import lake as lake_keys
from data_generator import ledger, ledger_store, oltp, roles
from data_generator.actions_step import (
    ActionReplayResult,
    ActionsReport,
    ingest_actions_with,
    replay_actions,
)
from data_generator.alpha_vantage import (
    AlphaVantageClient,
    AlphaVantageError,
    DailyLimitError,
    InvalidApiKeyError,
)
from data_generator.call_budget import CallBudget
from data_generator.config import Settings, load_settings
from data_generator.lake import Lake, LakeError
from data_generator.prices import ReplyFormatError, check_reply, series_table
from data_generator.services import local_s3_settings
from data_generator.synthetic import SyntheticPriceSource
from data_generator.trading_calendar import is_trading_day
from data_generator.universe import Stock, load_universe, select_stocks
from data_generator.warehouse import (
    PRICE_TABLE_SCHEMA,
    Connection,
    LoadCounts,
    WarehouseError,
    delete_prices_not_in,
    insert_new_rows,
    load_price_table,
    price_table,
    record_ingest_run,
    record_rejects,
    upsert_stocks,
)

log = logging.getLogger(__name__)

DEFAULT_ACCOUNTS = 50
DEFAULT_ORDERS = 600
DAILY_ORDERS_RANGE = (15, 40)


class FutureDateError(ValueError):
    """The logical date has not happened yet: a source would have to invent its prices, and the
    write-once lake would keep them."""


def check_logical_date(logical_date: date) -> None:
    today = datetime.now(UTC).date()
    if logical_date > today:
        raise FutureDateError(f"{logical_date} is in the future (today is {today} UTC)")


class SymbolIngestError(RuntimeError):
    """One symbol could not be ingested; the message is one line naming the symbol and cause."""


@dataclass
class SymbolResult:
    symbol: str
    status: str  # loaded | stale | failed
    counts: LoadCounts = field(default_factory=lambda: LoadCounts(0, 0, 0))
    rows_rejected: int = 0
    called_api: bool = False
    message: str = ""

    def summary(self) -> str:
        if self.status == "failed":
            return f"{self.symbol}: FAILED {self.message}"
        text = (
            f"{self.symbol}: {self.counts.inserted} new, {self.counts.updated} updated, "
            f"{self.counts.unchanged} unchanged, {self.rows_rejected} rejected"
        )
        return f"{text} ({self.message})" if self.message else text


@dataclass
class ActivityResult:
    logical_date: date
    orders: int = 0
    trades: int = 0
    accounts: int = 0
    skipped: str = ""

    def summary(self) -> str:
        if self.skipped:
            return f"OLTP activity for {self.logical_date}: skipped, {self.skipped}"
        accounts = f"{self.accounts} new accounts, " if self.accounts else ""
        return (
            f"OLTP activity for {self.logical_date}: {accounts}"
            f"{self.orders} new orders, {self.trades} new trades"
        )


@dataclass
class IngestReport:
    logical_date: date
    results: list[SymbolResult]
    history: ActivityResult | None = None
    activity: ActivityResult | None = None
    notices: list[str] = field(default_factory=list)
    actions: ActionsReport | None = None

    @property
    def failed(self) -> list[str]:
        return [r.symbol for r in self.results if r.status == "failed"]

    @property
    def stale(self) -> list[str]:
        return [r.symbol for r in self.results if r.status == "stale"]


@dataclass
class Resources:
    """What a step needs open: the warehouse connection, the lake and the price source."""

    settings: Settings
    conn: Connection
    lake: Lake
    source: object  # has .fetch_daily(symbol) -> bytes, .name, .notices


def load_run_settings() -> Settings:
    """Settings from the environment, pointed at the local S3 server when the user set none."""
    return local_s3_settings(load_settings())


def make_price_source(
    settings: Settings, logical_date: date, stocks: tuple[Stock, ...] = (), call_gate=None
):
    if settings.price_source == "alphavantage":
        return AlphaVantageClient(settings, call_gate=call_gate)
    # The sector picks the synthetic profile, so a source opened for one symbol (an Airflow
    # task) still knows every stock of the universe file.
    return SyntheticPriceSource(
        settings.seed,
        settings.history_days,
        logical_date,
        stocks or load_universe(settings.universe_file),
        start=settings.synthetic_start,
    )


def _source_name(source) -> str:
    return "alphavantage" if isinstance(source, AlphaVantageClient) else "synthetic"


@contextmanager
def open_resources(
    settings: Settings, logical_date: date, stocks: tuple[Stock, ...] = ()
) -> Iterator[Resources]:
    check_logical_date(logical_date)
    conn = roles.connect_as(settings, roles.Role.LOADER)
    try:
        yield Resources(
            settings=settings,
            conn=conn,
            lake=Lake.from_settings(settings),
            source=make_price_source(
                settings,
                logical_date,
                stocks,
                call_gate=CallBudget(conn, settings.alpha_vantage_daily_budget, logical_date),
            ),
        )
    finally:
        conn.close()


def prepare_resources(res: Resources, stocks: tuple[Stock, ...]) -> None:
    """raw.stocks mirrors the whole universe file (plus any extra `stocks`, e.g. a benchmark's
    made-up tickers), whichever subset this run ingests; stocks no longer listed stay, inactive."""
    roles.provision(res.settings)
    universe = load_universe(res.settings.universe_file)
    listed = {stock.symbol for stock in universe}
    upsert_stocks(res.conn, universe + tuple(s for s in stocks if s.symbol not in listed))
    res.lake.ensure_bucket()


def prepare(settings: Settings, logical_date: date) -> None:
    """Schema, reference stocks and bucket; idempotent, so every run may start with it."""
    stocks = select_stocks(settings.symbols, settings.universe_file)
    with open_resources(settings, logical_date, stocks) as res:
        prepare_resources(res, stocks)


# --- prices ---------------------------------------------------------------------------------


DAILY_LIMIT_MESSAGE = "daily API limit reached"


def _daily_limit_hit_in_run(res: Resources, logical_date: date) -> bool:
    """Whether another process of this run (an Airflow task for another symbol) already met the
    daily limit: the quota is per key and day, so calling again would only repeat that reply."""
    with res.conn, res.conn.cursor() as cur:
        cur.execute(
            """
            select exists (
                select 1 from raw.ingest_runs
                where logical_date = %s
                  and source = 'alphavantage'
                  and error like %s
                  and started_at > now() - interval '12 hours'
            )
            """,
            (logical_date, f"%{DAILY_LIMIT_MESSAGE}%"),
        )
        return cur.fetchone()[0]


def _reply_series(
    res: Resources, symbol: str, logical_date: date
) -> tuple[dict[str, object], bool]:
    """The checked series of the reply for (symbol, date): the lake's copy if any, else the
    source's, stored once. Each body is parsed once: a reply of years is mostly parsing."""
    key = lake_keys.json_key(symbol, logical_date)
    body = res.lake.get(key)
    if body is not None:
        return check_reply(symbol, body), False
    if isinstance(res.source, AlphaVantageClient) and _daily_limit_hit_in_run(res, logical_date):
        raise DailyLimitError(f"{symbol}: not requested, {DAILY_LIMIT_MESSAGE} earlier in this run")
    body = res.source.fetch_daily(symbol)
    series = check_reply(symbol, body)  # a broken reply must not become the write-once record
    if not res.lake.put_once(key, body, "application/json"):
        stored = res.lake.get(key)  # another writer won the race: theirs is the record
        if stored is not None:
            series = check_reply(symbol, stored)
    return series, True


def _load_snapshot(
    res: Resources,
    symbol: str,
    logical_date: date,
    series: dict[str, object],
    started_at: datetime,
) -> tuple[LoadCounts, int]:
    source_name = _source_name(res.source)
    table, rejects = series_table(symbol, series, source_name, logical_date)
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
    record_ingest_run(
        res.conn,
        logical_date=logical_date,
        symbol=symbol,
        source=source_name,
        status="loaded",
        rows_loaded=counts.written,
        rows_rejected=len(rejects),
        error=None,
        started_at=started_at,
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
    source = rows["source"][0].as_py() if rows.num_rows else "unknown"
    with res.conn, res.conn.cursor() as cur:
        counts = load_price_table(cur, rows)
    message = f"{DAILY_LIMIT_MESSAGE}; kept the lake's snapshot of {snapshot.snapshot_date}"
    record_ingest_run(
        res.conn,
        logical_date=logical_date,
        symbol=symbol,
        source=source,
        status="stale",
        rows_loaded=counts.written,
        rows_rejected=0,
        error=message,
        started_at=started_at,
    )
    return SymbolResult(symbol, "stale", counts, message=message)


def ingest_symbol_with(res: Resources, symbol: str, logical_date: date) -> SymbolResult:
    """Fetch (or reuse) one symbol's reply for the date and load it; raises SymbolIngestError."""
    started_at = datetime.now(UTC)
    try:
        try:
            series, called_api = _reply_series(res, symbol, logical_date)
        except DailyLimitError:
            return _stale_fallback(res, symbol, logical_date, started_at)
        counts, rejected = _load_snapshot(res, symbol, logical_date, series, started_at)
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
        _record_failure(res, symbol, logical_date, started_at, message)
        raise SymbolIngestError(
            message if message.startswith(symbol) else f"{symbol}: {message}"
        ) from None
    return SymbolResult(symbol, "loaded", counts, rejected, called_api)


def _record_failure(
    res: Resources, symbol: str, logical_date: date, started_at: datetime, message: str
) -> None:
    res.conn.rollback()
    record_ingest_run(
        res.conn,
        logical_date=logical_date,
        symbol=symbol,
        source=_source_name(res.source),
        status="failed",
        rows_loaded=0,
        rows_rejected=0,
        error=message,
        started_at=started_at,
    )


def ingest_symbol(settings: Settings, symbol: str, logical_date: date) -> SymbolResult:
    """One symbol end to end with its own connections: the unit Airflow maps over."""
    with open_resources(settings, logical_date) as res:
        return ingest_symbol_with(res, symbol, logical_date)


def ingest_prices(
    res: Resources,
    symbols: list[str],
    logical_date: date,
    on_symbol: Callable[[SymbolResult], None] = lambda result: None,
) -> list[SymbolResult]:
    results = []
    for symbol in symbols:
        try:
            result = ingest_symbol_with(res, symbol, logical_date)
        except SymbolIngestError as exc:
            result = SymbolResult(symbol, "failed", message=str(exc).removeprefix(f"{symbol}: "))
        results.append(result)
        on_symbol(result)
    return results


def ingest_actions(settings: Settings, logical_date: date) -> ActionsReport:
    """The scheduled corporate-actions step, after every symbol's prices (see `actions_step`)."""
    symbols = [s.symbol for s in select_stocks(settings.symbols)]
    with open_resources(settings, logical_date) as res:
        return ingest_actions_with(res.conn, res.lake, res.source, symbols, logical_date)


# --- OLTP -----------------------------------------------------------------------------------


def _day_ranges(
    conn: Connection, symbols: list[str], first: date | None, last: date
) -> list[oltp.DayRange]:
    with conn, conn.cursor() as cur:
        cur.execute(
            """
            select symbol, price_date, low_price, high_price, close_price
            from raw.daily_prices
            where symbol = any(%s)
              and price_date <= %s
              and (%s::date is null or price_date >= %s::date)
            order by symbol, price_date
            """,
            (symbols, last, first, first),
        )
        return [oltp.DayRange(*row) for row in cur.fetchall()]


def _account_ids(conn: Connection) -> list[str]:
    with conn, conn.cursor() as cur:
        cur.execute("select account_id from raw.accounts order by account_id")
        return [row[0] for row in cur.fetchall()]


def _insert_activity(cur, activity: oltp.Activity) -> tuple[int, int]:
    """Orders, trades and cash movements in the caller's transaction; ids already there are
    skipped."""
    orders = insert_new_rows(cur, "raw.orders", "order_id", oltp.ORDER_COLUMNS, activity.orders)
    trades = insert_new_rows(cur, "raw.trades", "trade_id", oltp.TRADE_COLUMNS, activity.trades)
    insert_new_rows(
        cur, "raw.cash_movements", "movement_id", oltp.MOVEMENT_COLUMNS, activity.movements
    )
    return orders, trades


def initialise_activity(
    res: Resources, symbols: list[str], logical_date: date, accounts: int, orders: int
) -> ActivityResult:
    """Accounts and the order history over the prices before the day, once: a rerun adds
    nothing. The day itself is left to `day_activity`, so the two never interleave."""
    result = ActivityResult(logical_date)
    if _account_ids(res.conn):
        result.skipped = "accounts already exist (initialised before)"
        return result
    days = _day_ranges(res.conn, symbols, None, logical_date - timedelta(days=1))
    if not days:
        result.skipped = f"no prices before {logical_date} to trade on"
        return result
    first_day = min(day.price_date for day in days)
    rows = oltp.make_accounts(res.settings.seed, accounts, first_day)
    opening = {row[0]: row[4] for row in rows}
    with res.conn, res.conn.cursor() as cur:
        ledger_store.lock_books(cur)
        splits = ledger_store.stored_splits(cur)
        activity = oltp.history_activity(res.settings.seed, days, opening, orders, splits)
        result.accounts = insert_new_rows(
            cur, "raw.accounts", "account_id", oltp.ACCOUNT_COLUMNS, rows
        )
        result.orders, result.trades = _insert_activity(cur, activity)
    return result


def day_activity(res: Resources, symbols: list[str], logical_date: date) -> ActivityResult:
    """That trading day's new orders, trades and cash movements, deterministic from the seed,
    the date and the books as stored; once generated, a day is never generated again."""
    result = ActivityResult(logical_date)
    account_ids = _account_ids(res.conn)
    if not account_ids:
        result.skipped = "no accounts yet (run 'fintrade init' first)"
        return result
    if not is_trading_day(logical_date):
        result.skipped = "not an NYSE trading day"
        return result
    days = _day_ranges(res.conn, symbols, logical_date, logical_date)
    if not days:
        result.skipped = f"no prices loaded for {logical_date}"
        return result
    rng = random.Random(f"size-{res.settings.seed}-{logical_date.isoformat()}")
    with res.conn, res.conn.cursor() as cur:
        ledger_store.lock_books(cur)
        if ledger_store.day_generated(cur, logical_date):
            result.skipped = "the day's activity is already stored"
            return result
        opening = ledger_store.opening_cash(cur)
        books = ledger.books_for_day(
            opening,
            ledger_store.stored_events(cur),
            ledger_store.stored_splits(cur),
            logical_date,
        )
        activity = oltp.daily_activity(
            res.settings.seed,
            logical_date,
            days,
            books,
            opening,
            rng.randint(*DAILY_ORDERS_RANGE),
        )
        result.orders, result.trades = _insert_activity(cur, activity)
    return result


def load_activity(settings: Settings, logical_date: date) -> ActivityResult:
    """The scheduled OLTP step: initialise accounts and history on first run, then the day."""
    symbols = [s.symbol for s in select_stocks(settings.symbols, settings.universe_file)]
    with open_resources(settings, logical_date) as res:
        first = initialise_activity(res, symbols, logical_date, DEFAULT_ACCOUNTS, DEFAULT_ORDERS)
        result = day_activity(res, symbols, logical_date)
        result.accounts = first.accounts
        result.orders += first.orders
        result.trades += first.trades
        return result


# --- replay ---------------------------------------------------------------------------------


@dataclass
class ReplayResult:
    symbol: str
    snapshots: int
    counts: LoadCounts
    deleted: int

    def summary(self) -> str:
        return (
            f"{self.symbol}: {self.snapshots} snapshots, {self.counts.inserted} new, "
            f"{self.counts.updated} updated, {self.counts.unchanged} unchanged, "
            f"{self.deleted} removed"
        )


def _newest_rows(snapshots: list[pa.Table]) -> pa.Table:
    """One row per day from price tables oldest snapshot first: the newest values, keyed to the
    snapshot that first gave them (the start of their last unbroken run), in Arrow, not per row.
    """
    if not snapshots:
        return PRICE_TABLE_SCHEMA.empty_table()
    order = pa.concat_tables(snapshots).append_column(
        "snapshot_order",
        pa.array(np.repeat(np.arange(len(snapshots)), [t.num_rows for t in snapshots])),
    )
    rows = order.sort_by([("price_date", "ascending"), ("snapshot_order", "ascending")])
    if rows.num_rows == 0:
        return rows.drop_columns(["snapshot_order"])
    same_day = pc.equal(rows["price_date"][1:], rows["price_date"][:-1])
    unchanged = same_day
    for name in ("open_price", "high_price", "low_price", "close_price", "volume", "source"):
        unchanged = pc.and_(unchanged, pc.equal(rows[name][1:], rows[name][:-1]))
    positions = np.arange(rows.num_rows)
    continues = np.concatenate(([False], unchanged.to_numpy(zero_copy_only=False)))
    run_start = np.maximum.accumulate(np.where(continues, 0, positions))
    last_of_day = np.concatenate((~same_day.to_numpy(zero_copy_only=False), [True]))
    newest = positions[last_of_day]
    return (
        rows.take(newest)
        .set_column(
            rows.schema.get_field_index("lake_key"),
            "lake_key",
            rows["lake_key"].take(run_start[newest]),
        )
        .drop_columns(["snapshot_order"])
    )


def replay_symbol(conn: Connection, lake: Lake, symbol: str, since: date | None) -> ReplayResult:
    """Rebuild one symbol's rows from its Parquet snapshots with no API call.

    Snapshots are applied oldest first and a row keeps the key of the snapshot that first gave
    its current values, which is exactly what the daily loads recorded; the newest value wins.
    """
    snapshots = [s for s in lake.snapshots(symbol) if since is None or s.snapshot_date >= since]
    tables = []
    for snapshot in snapshots:
        rows = price_table(lake.get_table(snapshot.key), snapshot.key)
        if since is not None:
            rows = rows.filter(pc.greater_equal(rows["price_date"], pa.scalar(since, pa.date32())))
        tables.append(rows)
    latest = _newest_rows(tables)
    with conn, conn.cursor() as cur:
        counts = load_price_table(cur, latest, authoritative=True)
        deleted = delete_prices_not_in(cur, symbol, latest["price_date"].to_pylist(), since)
    return ReplayResult(symbol, len(snapshots), counts, deleted)


def replay(
    settings: Settings,
    since: date | None,
    on_symbol: Callable[[ReplayResult | ActionReplayResult], None] = lambda result: None,
) -> list[ReplayResult]:
    """`fintrade replay`: every symbol the lake holds (those of `settings.symbols` if set), then
    their corporate actions (whole lists per snapshot, so `since` does not apply to them)."""
    lake = Lake.from_settings(settings)
    symbols = [s for s in lake.snapshot_symbols() if not settings.symbols or s in settings.symbols]
    roles.provision(settings)
    conn = roles.connect_as(settings, roles.Role.LOADER)
    try:
        results = []
        for symbol in symbols:
            results.append(replay_symbol(conn, lake, symbol, since))
            on_symbol(results[-1])
        for action_result in replay_actions(conn, lake, settings.symbols):
            on_symbol(action_result)
    finally:
        conn.close()
    return results


# --- a whole day ----------------------------------------------------------------------------


def ingest_day(
    res: Resources,
    stocks: tuple[Stock, ...],
    logical_date: date,
    *,
    initialise: bool = False,
    accounts: int = DEFAULT_ACCOUNTS,
    orders: int = DEFAULT_ORDERS,
    on_symbol: Callable[[SymbolResult], None] = lambda result: None,
) -> IngestReport:
    """What `fintrade init`/`ingest` do: prepare, every symbol's prices, corporate actions as the
    day's call budget allows, then the OLTP activity.

    With `initialise`, accounts and the order history are made first (once); without it a
    database that has no accounts yet gets its prices and no activity.
    """
    prepare_resources(res, stocks)
    symbols = [stock.symbol for stock in stocks]
    results = ingest_prices(res, symbols, logical_date, on_symbol)
    # A symbol whose prices failed is rerun for this date; its actions wait for that rerun, so a
    # refused reply leaves nothing of the symbol's day stored.
    priced = [result.symbol for result in results if result.status != "failed"]
    actions = ingest_actions_with(res.conn, res.lake, res.source, priced, logical_date)
    report = IngestReport(logical_date, results, notices=list(res.source.notices), actions=actions)
    if report.failed:
        # Orders are drawn over the symbols that have prices and are never redrawn, so activity
        # made now would differ for good from a clean run's: the rerun of the date makes it.
        report.activity = ActivityResult(
            logical_date, skipped="held back until every symbol loaded (rerun the date)"
        )
        return report
    if initialise:
        report.history = initialise_activity(res, symbols, logical_date, accounts, orders)
    report.activity = day_activity(res, symbols, logical_date)
    return report
