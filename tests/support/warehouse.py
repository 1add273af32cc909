"""How tests, scripts and the stack driver read a warehouse: one way to connect, one query helper
and the one table checksum every idempotence and recovery check compares.

Everything takes either the project's `Settings` (a connection is opened and closed around the
call) or an open psycopg2 connection (the stack driver's, to a container's published port), so
the checksum's SQL exists once whoever asks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from data_generator.settings import Settings

Warehouse = Settings | Connection
# raw.ingest_runs logs every attempt by design, so a rerun adds a row there, and
# mart.mart_ingest_status shows that latest attempt: idempotence checks compare everything else.
RUN_LOGS = frozenset({"raw.ingest_runs", "mart.mart_ingest_status"})
# PostgreSQL's totals of the incremental models' bars, kept by triggers beside them for the
# completeness tests (dbt/fintrade/macros/bar_totals.sql); DuckDB aggregates instead.
BAR_TOTALS = frozenset(
    {
        "core.fct_daily_prices_bar_totals",
        "core.fct_daily_prices_figure_totals",
        "mart.mart_daily_trading_figure_totals",
    }
)


def connect(settings: Settings, *, database: str | None = None) -> Connection:
    """A plain session as the settings' user, to their database or to `database`."""
    return psycopg2.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=settings.pg_user,
        password=settings.pg_password,
        dbname=database or settings.pg_database,
    )


@contextmanager
def _session(warehouse: Warehouse) -> Iterator[Connection]:
    """The caller's connection as it is, or one opened for `Settings` and closed afterwards;
    a statement of ours commits on success and rolls back on error either way."""
    if isinstance(warehouse, Settings):
        with closing(connect(warehouse)) as opened, opened:
            yield opened
    else:
        with warehouse:
            yield warehouse


def query(warehouse: Warehouse, statement: str, params: tuple[Any, ...] = ()) -> list[tuple]:
    """The statement's rows (none for a statement without a result), committed."""
    with _session(warehouse) as session, session.cursor() as cursor:
        cursor.execute(statement, params or None)
        return cursor.fetchall() if cursor.description else []


@dataclass(frozen=True)
class Checksum:
    """A table's contents in two numbers: equal checksums mean equal rows."""

    rows: int
    digest: str  # md5 over every row's text, in the order of that text


def table_checksums(
    warehouse: Warehouse, tables: Iterable[str], *, exclude: tuple[str, ...] = ()
) -> dict[str, Checksum]:
    """{"schema.table": Checksum} of `tables`, leaving out the columns named in `exclude` (the
    times a load stamps, which differ between two runs of the same data)."""
    checksums = {}
    with _session(warehouse) as session, session.cursor() as cursor:
        for table in tables:
            schema, name = table.split(".")
            cursor.execute(
                "select column_name from information_schema.columns"
                " where table_schema = %s and table_name = %s order by ordinal_position",
                (schema, name),
            )
            columns = [column for (column,) in cursor.fetchall() if column not in exclude]
            cursor.execute(
                sql.SQL(
                    "select count(*), md5(coalesce(string_agg(r::text, '|' order by r::text), ''))"
                    " from (select {} from {}.{}) as r"
                ).format(
                    sql.SQL(", ").join(map(sql.Identifier, columns)),
                    sql.Identifier(schema),
                    sql.Identifier(name),
                )
            )
            row = cursor.fetchone()
            assert row is not None  # an aggregate without group by has exactly one row
            checksums[table] = Checksum(*row)
    return checksums


def table_checksum(warehouse: Warehouse, table: str, *, exclude: tuple[str, ...] = ()) -> Checksum:
    return table_checksums(warehouse, [table], exclude=exclude)[table]


def tables_of(
    warehouse: Warehouse, schemas: Iterable[str], *, skip: frozenset[str] = RUN_LOGS
) -> list[str]:
    """Every base table of `schemas` as "schema.table", but those in `skip`: discovered, not
    listed, so a table added later is compared too."""
    rows = query(
        warehouse,
        "select table_schema || '.' || table_name from information_schema.tables"
        " where table_schema = any(%s) and table_type = 'BASE TABLE' order by 1",
        (list(schemas),),
    )
    return [table for (table,) in rows if table not in skip]


def schema_checksums(
    warehouse: Warehouse,
    schemas: Iterable[str],
    *,
    skip: frozenset[str] = RUN_LOGS,
    exclude: tuple[str, ...] = (),
) -> dict[str, Checksum]:
    """Checksums of every table `tables_of` finds."""
    return table_checksums(warehouse, tables_of(warehouse, schemas, skip=skip), exclude=exclude)


def changed_tables(before: dict[str, Checksum], after: dict[str, Checksum]) -> list[str]:
    """Tables whose rows differ between two checksum sets, with their row counts."""
    nothing = Checksum(0, "")
    return [
        f"{name}: {before.get(name, nothing).rows} -> {after.get(name, nothing).rows} rows"
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]
