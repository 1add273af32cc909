"""The OLTP tables' extracts in the lake: what a second engine (DuckDB, docs/engines.md) reads for
the raw tables that exist only in PostgreSQL, written at the end of every pipeline day.

Prices and corporate actions are in the lake already, as the vendor's snapshots; accounts,
orders, trades, cash movements, stocks and the run log are made by the pipeline itself, so each
day ends with a copy of every one of those tables, whole, as the warehouse holds it.

These are derived exports, not evidence: a rerun may replace them. Three rules keep them honest:

- One set, never half of one. Every table is read in one repeatable-read transaction (a set is
  one moment of the warehouse), each table goes to a key named by the MD5 of its bytes, and only
  then is the day's manifest written, naming the set. A reader follows a manifest, so a write cut
  off half way leaves the previous set in force and a few objects no manifest names, which the
  next write of the day removes.
- A rerun that changes nothing changes nothing. Rows are ordered and the Parquet bytes are a
  function of the rows, so unchanged tables map to keys already stored and the manifest to the
  same bytes; a put is skipped whenever the stored ETag (the MD5 of a plain upload) matches.
- The newest manifest wins by its contents, not its date: `extracted_through` is the latest time
  any extracted row was stamped, so a back-filled earlier date, whose extract holds everything
  the warehouse holds now, outranks a later date's older one.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from psycopg2 import sql

from data_generator.storage.lake import Lake
from data_generator.storage.warehouse import Connection, Cursor, fetch_one

# Every raw table that the lake has no vendor snapshot of. raw.daily_prices, raw.dividends and
# raw.stock_splits are read from the price and corporate-action snapshots instead.
EXTRACTED_TABLES = (
    "stocks",
    "accounts",
    "orders",
    "trades",
    "cash_movements",
    "ingest_runs",
    "rejected_prices",
    "rejected_actions",
)
# The times a load stamps on a row: the newest of them dates a set (module docstring).
STAMP_COLUMNS = ("loaded_at", "rejected_at", "started_at", "finished_at")
PREFIX = "raw/oltp/"
PARQUET_PREFIX = f"{PREFIX}parquet/"
MANIFEST_PREFIX = f"{PREFIX}manifest/"
PARQUET_TYPE = "application/vnd.apache.parquet"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

MANIFEST_SCHEMA = pa.schema(
    [
        pa.field("table_name", pa.string(), nullable=False),
        pa.field("lake_key", pa.string(), nullable=False),
        pa.field("row_count", pa.int64(), nullable=False),
        pa.field("extracted_through", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)
_EXTRACT_KEY = re.compile(
    r"raw/oltp/parquet/(?P<table>[^/]+)/date=(?P<date>\d{4}-\d{2}-\d{2})/[0-9a-f]{32}\.parquet$"
)
_NUMERIC = re.compile(r"numeric\((\d+),(\d+)\)")


def manifest_key(day: date) -> str:
    return f"{MANIFEST_PREFIX}date={day.isoformat()}.parquet"


def extract_key(table: str, day: date, body: bytes) -> str:
    return f"{PARQUET_PREFIX}{table}/date={day.isoformat()}/{_md5(body)}.parquet"


def extract_table_name(key: str) -> str | None:
    """The table an extract object holds, None for any other key."""
    match = _EXTRACT_KEY.match(key)
    return match["table"] if match else None


@dataclass(frozen=True)
class Extract:
    table: str
    key: str
    rows: int
    body: bytes


@dataclass(frozen=True)
class ExtractsResult:
    """What the day's write did: objects put (tables and manifest), and leftovers removed."""

    logical_date: date
    written: int
    removed: int

    def summary(self) -> str:
        if not self.written and not self.removed:
            return f"lake extracts for {self.logical_date}: unchanged"
        return (
            f"lake extracts for {self.logical_date}: {self.written} objects written, "
            f"{self.removed} leftovers removed"
        )


def write_extracts(conn: Connection, lake: Lake, logical_date: date) -> ExtractsResult:
    """Extract every table of `EXTRACTED_TABLES` and make them the day's set (module docstring).

    The transaction that reads the tables also holds an advisory lock until the manifest is
    written, so two writers of the same warehouse (a hand run beside the scheduler) never remove
    each other's objects. Raises LakeError naming the key that could not be written.
    """
    conn.commit()  # a set is one snapshot: start its transaction afresh
    with conn, conn.cursor() as cur:
        cur.execute("set transaction isolation level repeatable read, read only")
        cur.execute("select pg_advisory_xact_lock(hashtext('fintrade.oltp_extracts'))")
        columns = {table: _columns(cur, table) for table in EXTRACTED_TABLES}
        extracts = [_extract(cur, table, columns[table], logical_date) for table in columns]
        through = _extracted_through(cur, columns)
        stored = lake.etags(PREFIX)
        written = 0
        for extract in extracts:
            if stored.get(extract.key) != _md5(extract.body):
                lake.put(extract.key, extract.body, PARQUET_TYPE)
                written += 1
        manifest = _manifest_bytes(extracts, through)
        key = manifest_key(logical_date)
        if stored.get(key) != _md5(manifest):
            lake.put(key, manifest, PARQUET_TYPE)
            written += 1
        kept = {extract.key for extract in extracts}
        day = f"/date={logical_date.isoformat()}/"
        leftovers = [
            stored_key
            for stored_key in stored
            if extract_table_name(stored_key) and day in stored_key and stored_key not in kept
        ]
        for leftover in leftovers:
            lake.delete(leftover)
    return ExtractsResult(logical_date, written, len(leftovers))


def _md5(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def _extract(cur: Cursor, table: str, columns: list[RawColumn], logical_date: date) -> Extract:
    statement = sql.SQL(
        "copy (select {} from raw.{} order by {}) to stdout with (format csv, header)"
    ).format(
        sql.SQL(", ").join(_as_text(name, kind) for name, kind, _ in columns),
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Literal(n) for n in range(1, len(columns) + 1)),
    )
    buffer = io.BytesIO()
    cur.copy_expert(statement.as_string(cur), buffer)
    schema = pa.schema(
        pa.field(name, _arrow_type(kind), nullable=nullable) for name, kind, nullable in columns
    )
    rows = pa_csv.read_csv(
        io.BytesIO(buffer.getvalue()),
        convert_options=pa_csv.ConvertOptions(
            column_types=schema,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    ).cast(schema)
    body = _parquet_bytes(rows)
    return Extract(table, extract_key(table, logical_date, body), rows.num_rows, body)


# A raw column as the catalog gives it: name, PostgreSQL type, nullable.
RawColumn = tuple[str, str, bool]


def _columns(cur: Cursor, table: str) -> list[RawColumn]:
    cur.execute(
        """
        select attname, format_type(atttypid, atttypmod), not attnotnull
        from pg_attribute
        where attrelid = %s::regclass and attnum > 0 and not attisdropped
        order by attnum
        """,
        (f"raw.{table}",),
    )
    return list(cur.fetchall())


def _as_text(name: str, kind: str) -> sql.Composable:
    """A column as COPY should write it for Arrow's reader: times as UTC ISO text (the session's
    time zone and date style would otherwise decide), the rest as PostgreSQL prints it."""
    column = sql.Identifier(name)
    if kind == "timestamp with time zone":
        return sql.SQL(
            """to_char({} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as {}"""
        ).format(column, column)
    if kind == "date":
        return sql.SQL("to_char({}, 'YYYY-MM-DD') as {}").format(column, column)
    return column


def _arrow_type(kind: str) -> pa.DataType:
    numeric = _NUMERIC.fullmatch(kind.replace(" ", ""))
    if numeric:
        return pa.decimal128(int(numeric[1]), int(numeric[2]))
    types = {
        "text": pa.string(),
        "jsonb": pa.string(),  # its text, as PostgreSQL normalises it
        "integer": pa.int32(),
        "bigint": pa.int64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    }
    if kind not in types:
        raise TypeError(f"no Arrow type for a raw column of type {kind}")
    return types[kind]


def _extracted_through(cur: Cursor, columns: dict[str, list[RawColumn]]) -> datetime:
    stamps = sql.SQL(" union all ").join(
        sql.SQL("select max({}) from raw.{}").format(sql.Identifier(name), sql.Identifier(table))
        for table, table_columns in columns.items()
        for name, _, _ in table_columns
        if name in STAMP_COLUMNS
    )
    cur.execute(sql.SQL("select max(m) from ({}) as stamps (m)").format(stamps))
    newest = fetch_one(cur)[0]
    return newest.astimezone(UTC) if newest is not None else EPOCH


def _manifest_bytes(extracts: Sequence[Extract], through: datetime) -> bytes:
    table = pa.table(
        {
            "table_name": [e.table for e in extracts],
            "lake_key": [e.key for e in extracts],
            "row_count": [e.rows for e in extracts],
            "extracted_through": [through] * len(extracts),
        },
        schema=MANIFEST_SCHEMA,
    )
    return _parquet_bytes(table)


def _parquet_bytes(table: pa.Table) -> bytes:
    """The same rows give the same bytes: one writer version, no time in the file."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()
