"""PostgreSQL side of the pipeline: schema, set-based upserts through COPY, and run records.

Every load goes through a temporary table filled by COPY and one set-based statement into the raw
table, so a load is fast, atomic and idempotent: new rows are inserted, changed rows updated,
identical rows left untouched, and a rerun writes nothing.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeAlias

import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from psycopg2 import sql
from psycopg2.extensions import connection, cursor

from data_generator.errors import FintradeError, first_line
from data_generator.reference.universe import Stock
from data_generator.settings import INIT_SQL, Settings
from data_generator.sources.prices import ARROW_SCHEMA, PriceRow, RejectedBar

# psycopg2's classes under the names the storage modules use.
Connection: TypeAlias = connection
Cursor: TypeAlias = cursor

PRICE_COLUMNS = (
    "symbol",
    "price_date",
    "open_price",
    "high_price",
    "low_price",
    "close_price",
    "volume",
    "source",
    "lake_key",
)


class WarehouseError(FintradeError):
    """The warehouse could not be reached or prepared; the message says which and why."""


@dataclass(frozen=True)
class LoadCounts:
    inserted: int
    updated: int
    unchanged: int

    @property
    def written(self) -> int:
        return self.inserted + self.updated


def _connect(settings: Settings, dbname: str) -> Connection:
    return psycopg2.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=settings.pg_user,
        password=settings.pg_password,
        dbname=dbname,
        connect_timeout=10,
        application_name="fintrade",
        # A legacy server's databases can be SQL_ASCII; UTF-8 on the wire keeps non-ASCII text
        # (company names, dbt's SQL comments) from failing in psycopg2's ASCII codec.
        client_encoding="UTF8",
    )


def create_database_if_missing(settings: Settings) -> None:
    """The default database may not exist on a fresh server; make it rather than fail."""
    admin = _connect(settings, "postgres")
    try:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (settings.pg_database,))
            if cur.fetchone() is None:
                cur.execute(
                    sql.SQL("create database {}").format(sql.Identifier(settings.pg_database))
                )
    finally:
        admin.close()


def drop_database(settings: Settings) -> None:
    """Drop the settings' database, closing its sessions: for scratch databases only."""
    admin = _connect(settings, "postgres")
    try:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(
                sql.SQL("drop database if exists {} with (force)").format(
                    sql.Identifier(settings.pg_database)
                )
            )
    finally:
        admin.close()


def _cannot_connect(settings: Settings, exc: psycopg2.Error) -> WarehouseError:
    return WarehouseError(
        f"cannot connect to PostgreSQL at {settings.pg_host}:{settings.pg_port} "
        f"as {settings.pg_user}: {first_line(exc)}"
    )


def connect_existing(settings: Settings) -> Connection:
    """A connection to the warehouse database as it is: never creates the database."""
    try:
        return _connect(settings, settings.pg_database)
    except psycopg2.Error as exc:
        raise _cannot_connect(settings, exc) from None


def connect(settings: Settings) -> Connection:
    """A connection to the warehouse database, created on first use."""
    try:
        try:
            return _connect(settings, settings.pg_database)
        except psycopg2.OperationalError as exc:
            if "does not exist" not in str(exc):
                raise
        create_database_if_missing(settings)
        return _connect(settings, settings.pg_database)
    except psycopg2.Error as exc:  # no server, no login, or no right to create the database
        raise _cannot_connect(settings, exc) from None


def apply_schema(conn: Connection) -> None:
    """Run `sql/init.sql`; it is idempotent, so every command starts with it."""
    with conn, conn.cursor() as cur:
        # One schema change at a time across concurrent tasks (e.g. Airflow's mapped symbols).
        cur.execute("select pg_advisory_xact_lock(hashtext('fintrade.init_sql'))")
        cur.execute(INIT_SQL.read_text())


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: object) -> str:
    """One value in COPY's text format; numbers and dates need no escaping, so skip it."""
    if value is None:
        return r"\N"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def fetch_one(cur: Cursor) -> tuple[Any, ...]:
    """The row that an aggregate or a single-row `returning` statement always gives back."""
    row = cur.fetchone()
    if row is None:
        raise WarehouseError("the warehouse returned no row to a statement that always has one")
    return row


def copy_rows(
    cur: Cursor, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    """COPY `rows` into `table` through psycopg2's copy_expert (text format)."""
    buffer = io.StringIO()
    buffer.writelines("\t".join(map(_copy_text, row)) + "\n" for row in rows)
    buffer.seek(0)
    statement = sql.SQL("copy {} ({}) from stdin").format(
        sql.SQL(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    cur.copy_expert(statement.as_string(cur), buffer)


def copy_table(cur: Cursor, table: str, rows: pa.Table) -> None:
    """COPY an Arrow table (its column names are the target's) as CSV written by Arrow: no
    Python object per cell, which is what a load of millions of bars spends its time on."""
    buffer = io.BytesIO()
    pa_csv.write_csv(rows, buffer, pa_csv.WriteOptions(include_header=False))
    buffer.seek(0)
    statement = sql.SQL("copy {} ({}) from stdin with (format csv)").format(
        sql.SQL(table), sql.SQL(", ").join(map(sql.Identifier, rows.column_names))
    )
    cur.copy_expert(statement.as_string(cur), buffer)


PRICE_TABLE_SCHEMA = pa.schema(
    [ARROW_SCHEMA.field(name) for name in PRICE_COLUMNS[:-1]]
    + [pa.field("lake_key", pa.string(), nullable=False)]
)


def price_table(snapshot: pa.Table, lake_key: str) -> pa.Table:
    """A Parquet snapshot's bars as raw.daily_prices rows, each keyed to that snapshot."""
    bars = snapshot.select(list(PRICE_COLUMNS[:-1]))
    keys = pa.array([lake_key] * bars.num_rows, pa.string())
    return bars.append_column("lake_key", keys).cast(PRICE_TABLE_SCHEMA)


_UPSERT_PRICES = """
with upserted as (
    insert into raw.daily_prices as target (
        symbol, price_date, open_price, high_price, low_price, close_price, volume, source,
        lake_key
    )
    select
        symbol, price_date, open_price, high_price, low_price, close_price, volume, source,
        lake_key
    from incoming_prices
    on conflict (symbol, price_date) do update set
        open_price = excluded.open_price,
        high_price = excluded.high_price,
        low_price = excluded.low_price,
        close_price = excluded.close_price,
        volume = excluded.volume,
        source = excluded.source,
        lake_key = excluded.lake_key,
        loaded_at = now()
    where (target.open_price, target.high_price, target.low_price, target.close_price,
           target.volume, target.source)
          is distinct from
          (excluded.open_price, excluded.high_price, excluded.low_price, excluded.close_price,
           excluded.volume, excluded.source)
      and (excluded.lake_key >= target.lake_key or %(authoritative)s)
    returning (xmax = 0) as inserted
)
select count(*) filter (where inserted), count(*) filter (where not inserted) from upserted
"""


def load_prices(
    cur: Cursor, rows: Sequence[PriceRow], *, authoritative: bool = False
) -> LoadCounts:
    """`load_price_table` for `PriceRow`s (one symbol's)."""
    columns: list[Sequence[object]] = (
        list(zip(*rows, strict=True)) if rows else [[] for _ in PRICE_COLUMNS]
    )
    arrays = [
        pa.array(column, field.type)
        for column, field in zip(columns, PRICE_TABLE_SCHEMA, strict=True)
    ]
    table = pa.table(arrays, schema=PRICE_TABLE_SCHEMA)
    return load_price_table(cur, table, authoritative=authoritative)


def load_price_table(cur: Cursor, rows: pa.Table, *, authoritative: bool = False) -> LoadCounts:
    """Upsert one symbol's price rows keyed (symbol, price_date) in the caller's transaction.

    Rows dated after the symbol's latest stored day cannot conflict, so they are COPYed straight
    in (COPY's bulk path is what keeps a first load near plain-COPY speed); the rest go through a
    temporary table and one set-based upsert. An advisory lock per symbol keeps two concurrent
    loads of the same symbol from racing between the two; `raw.lock_bars_for_load` (sql/init.sql),
    taken first so that the rows' stamp (the transaction's start) comes just before it, makes an
    incremental dbt build's read of raw wait for this load to commit.

    Lake keys end in the snapshot date, so `excluded.lake_key >= target.lake_key` keeps an older
    snapshot (a late re-run of an earlier day) from overwriting a newer vendor value; a replay,
    which already resolved newest-wins itself, loads as `authoritative`.
    """
    if rows.num_rows == 0:
        return LoadCounts(0, 0, 0)
    symbols = pc.unique(rows["symbol"]).to_pylist()
    if len(symbols) != 1:
        raise ValueError("load_prices takes the rows of one symbol at a time")
    symbol = symbols[0]
    cur.execute("select raw.lock_bars_for_load()")
    cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"raw.daily_prices:{symbol}",))
    cur.execute("select max(price_date) from raw.daily_prices where symbol = %s", (symbol,))
    latest = fetch_one(cur)[0]
    if latest is None:
        appended, overlapping = rows, rows.slice(0, 0)
    else:
        after = pc.greater(rows["price_date"], pa.scalar(latest, pa.date32()))
        appended, overlapping = rows.filter(after), rows.filter(pc.invert(after))
    inserted = updated = 0
    if overlapping.num_rows:
        cur.execute(
            "create temp table if not exists incoming_prices "
            "(like raw.daily_prices including defaults) on commit delete rows"
        )
        copy_table(cur, "incoming_prices", overlapping)
        cur.execute(_UPSERT_PRICES, {"authoritative": authoritative})
        inserted, updated = fetch_one(cur)
    if appended.num_rows:
        copy_table(cur, "raw.daily_prices", appended)
        inserted += appended.num_rows
    return LoadCounts(
        inserted=inserted, updated=updated, unchanged=rows.num_rows - inserted - updated
    )


def delete_prices_not_in(cur: Cursor, symbol: str, kept: Sequence[date], since: date | None) -> int:
    """Drop rows of `symbol` (from `since` on) whose dates are not in `kept`: a replay's rebuild.
    Each leaves a stamped tombstone in raw.withdrawn_prices, the incremental dbt build's only
    way to learn of a row that is gone.

    The dates travel as one array literal: adapting years of dates one by one and parsing the
    statement that lists them cost more than the delete itself."""
    cur.execute("select raw.lock_bars_for_load()")
    cur.execute(
        """
        with withdrawn as (
            delete from raw.daily_prices
            where symbol = %(symbol)s
              and (%(since)s::date is null or price_date >= %(since)s::date)
              and not (price_date = any(%(kept)s::date[]))
            returning symbol, price_date
        )
        insert into raw.withdrawn_prices (symbol, price_date)
        select symbol, price_date from withdrawn
        on conflict (symbol, price_date) do update set withdrawn_at = now()
        """,
        {
            "symbol": symbol,
            "since": since,
            "kept": "{" + ",".join(day.isoformat() for day in kept) + "}",
        },
    )
    return cur.rowcount


def record_rejects(cur: Cursor, rejects: Sequence[RejectedBar], lake_key: str) -> int:
    """Quarantine bad rows; the same bad row from the same object is kept once."""
    if not rejects:
        return 0
    args = [(r.symbol, r.price_date, r.reason, json.dumps(r.payload), lake_key) for r in rejects]
    cur.executemany(
        """
        insert into raw.rejected_prices (symbol, price_date, reason, payload, lake_key)
        values (%s, %s, %s, %s::jsonb, %s)
        on conflict (lake_key, price_date, reason) do nothing
        """,
        args,
    )
    return len(rejects)


def upsert_stocks(conn: Connection, stocks: Iterable[Stock]) -> int:
    """Make raw.stocks list `stocks` as active, in one transaction. A stock missing from them is
    kept and marked inactive, never deleted: its prices and trades still need their dimension."""
    rows = [(s.symbol, s.company_name, s.sector, s.exchange, s.currency) for s in stocks]
    with conn, conn.cursor() as cur:
        cur.executemany(
            """
            insert into raw.stocks as target
                (symbol, company_name, sector, exchange, currency, is_active)
            values (%s, %s, %s, %s, %s, true)
            on conflict (symbol) do update set
                company_name = excluded.company_name,
                sector = excluded.sector,
                exchange = excluded.exchange,
                currency = excluded.currency,
                is_active = true,
                loaded_at = now()
            where (target.company_name, target.sector, target.exchange, target.currency,
                   target.is_active)
                  is distinct from (excluded.company_name, excluded.sector, excluded.exchange,
                                    excluded.currency, true)
            """,
            rows,
        )
        cur.execute(
            """
            update raw.stocks set is_active = false, loaded_at = now()
            where is_active and not (symbol = any(%s))
            """,
            ([row[0] for row in rows],),
        )
    return len(rows)


def latest_price_dates(conn: Connection, symbols: Sequence[str]) -> dict[str, date]:
    """Each of `symbols`' newest `price_date` in raw.daily_prices; a symbol with no bar is left
    out."""
    with conn, conn.cursor() as cur:
        cur.execute(
            """
            select symbol, max(price_date) from raw.daily_prices
            where symbol = any(%s)
            group by symbol
            """,
            (list(symbols),),
        )
        return dict(cur.fetchall())


def insert_new_rows(
    cur: Cursor, table: str, key: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> int:
    """COPY rows in through a temp table and keep only those whose key is new: a rerun adds none."""
    if not rows:
        return 0
    staging = f"incoming_{table.split('.')[-1]}"
    cur.execute(
        sql.SQL(
            "create temp table if not exists {} (like {} including defaults) on commit delete rows"
        ).format(sql.Identifier(staging), sql.SQL(table))
    )
    copy_rows(cur, staging, columns, rows)
    column_list = sql.SQL(", ").join(map(sql.Identifier, columns))
    cur.execute(
        sql.SQL(
            "insert into {table} ({columns}) select {columns} from {staging} "
            "on conflict ({key}) do nothing"
        ).format(
            table=sql.SQL(table),
            columns=column_list,
            staging=sql.Identifier(staging),
            key=sql.Identifier(key),
        )
    )
    return cur.rowcount
