"""What a user checks in the stack's warehouse: marts with rows, and tables unchanged by a rerun."""

from __future__ import annotations

from contextlib import closing

import psycopg2
from psycopg2 import sql

# raw.ingest_runs logs every run by design, so a rerun adds a row there, and
# mart.mart_ingest_status shows that latest attempt: a rerun changes those two and nothing else.
RUN_LOG_TABLES = frozenset({("raw", "ingest_runs"), ("mart", "mart_ingest_status")})
CHECKED_SCHEMAS = ("raw", "mart")


def _connect(port: int, password: str):  # type: ignore[no-untyped-def]
    return psycopg2.connect(
        host="127.0.0.1",
        port=port,
        user="fintrade",
        password=password,
        dbname="fintrade",
        connect_timeout=10,
        client_encoding="UTF8",
    )


def _tables(cursor) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    cursor.execute(
        "select table_schema, table_name from information_schema.tables"
        " where table_schema = any(%s) and table_type in ('BASE TABLE', 'VIEW')"
        " order by 1, 2",
        (list(CHECKED_SCHEMAS),),
    )
    return [row for row in cursor.fetchall() if row not in RUN_LOG_TABLES]


def table_checksums(port: int, password: str) -> dict[str, tuple[int, str]]:
    """{schema.table: (rows, md5 of every row's text in a fixed order)} of raw and mart."""
    checksums = {}
    with closing(_connect(port, password)) as connection, connection.cursor() as cursor:
        for schema, table in _tables(cursor):
            cursor.execute(
                sql.SQL(
                    "select count(*),"
                    " coalesce(md5(string_agg(t::text, E'\\n' order by t::text)), '')"
                    " from {}.{} as t"
                ).format(sql.Identifier(schema), sql.Identifier(table))
            )
            rows, digest = cursor.fetchone()
            checksums[f"{schema}.{table}"] = (rows, digest)
    return checksums


def database_encoding(port: int, password: str) -> str:
    with closing(_connect(port, password)) as connection, connection.cursor() as cursor:
        cursor.execute(
            "select pg_encoding_to_char(encoding) from pg_database where datname = 'fintrade'"
        )
        return cursor.fetchone()[0]


def changed_tables(
    before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]
) -> list[str]:
    """Tables whose rows differ between two checksum sets, with their row counts."""
    return [
        f"{name}: {before.get(name, (0, ''))[0]} -> {after.get(name, (0, ''))[0]} rows"
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]
