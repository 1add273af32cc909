"""What a user checks in the stack's warehouse: its encoding, marts with rows, and tables
unchanged by a rerun (checksummed as every other test does, tests/support/warehouse.py)."""

from __future__ import annotations

from contextlib import closing

import psycopg2
from psycopg2.extensions import connection as Connection

from tests.support.warehouse import Checksum, query, schema_checksums

CHECKED_SCHEMAS = ("raw", "mart")


def _connect(port: int, password: str) -> Connection:
    """The stack's warehouse through its published port, as its owner `fintrade`."""
    return psycopg2.connect(
        host="127.0.0.1",
        port=port,
        user="fintrade",
        password=password,
        dbname="fintrade",
        connect_timeout=10,
        client_encoding="UTF8",
    )


def table_checksums(port: int, password: str) -> dict[str, Checksum]:
    """{schema.table: Checksum} of raw and mart, but the run logs a rerun adds to by design."""
    with closing(_connect(port, password)) as connection:
        return schema_checksums(connection, CHECKED_SCHEMAS)


def database_encoding(port: int, password: str) -> str:
    with closing(_connect(port, password)) as connection:
        return query(
            connection,
            "select pg_encoding_to_char(encoding) from pg_database where datname = 'fintrade'",
        )[0][0]
