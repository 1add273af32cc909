"""A warehouse whose database is SQL_ASCII, as a legacy server's default can be.

psycopg2 encodes with the session's client encoding, which defaults to the database's; on
SQL_ASCII that is Python's ASCII codec, and any non-ASCII character in a query fails. Every
connection the project opens asks for UTF-8, and `sql/init.sql` makes UTF-8 the database's
default, so the pipeline and dbt (by the project or by hand) work there too.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from data_generator.settings import DBT_PROJECT_DIR, Settings
from data_generator.steps import transform
from data_generator.storage.warehouse import drop_database
from tests.support.harness import S3Server, load_day, scratch_warehouse, settings_environ
from tests.support.warehouse import connect, query

pytestmark = pytest.mark.dbt

DAY = date(2026, 11, 24)
NON_ASCII_NAME = "Soci\u00e9t\u00e9 G\u00e9n\u00e9rale \u2013 \u03a9"


def _admin(settings: Settings) -> Connection:
    admin = connect(settings, database="postgres")
    admin.autocommit = True
    return admin


@pytest.fixture
def sql_ascii_warehouse(
    base_settings: Settings, s3_server: S3Server, tmp_path: Path
) -> Iterator[Settings]:
    """A fresh bucket and a database created SQL_ASCII (template0: template1 may be UTF-8)."""
    with scratch_warehouse(base_settings, s3_server, tmp_path / "state") as scratch:
        settings = scratch.with_overrides(
            pg_database=f"{scratch.pg_database}_ascii", symbols=("AAPL", "MSFT", "XOM")
        )
        admin = _admin(settings)
        try:
            with admin.cursor() as cur:
                cur.execute(
                    sql.SQL(
                        "create database {} encoding 'SQL_ASCII' lc_collate 'C' lc_ctype 'C' "
                        "template template0"
                    ).format(sql.Identifier(settings.pg_database))
                )
        finally:
            admin.close()
        try:
            yield settings
        finally:
            drop_database(settings)


def test_pipeline_and_dbt_build_on_an_sql_ascii_database(sql_ascii_warehouse: Settings) -> None:
    settings = sql_ascii_warehouse
    assert query(
        settings,
        "select pg_encoding_to_char(encoding) from pg_database where datname = current_database()",
    ) == [("SQL_ASCII",)]

    load_day(settings, DAY)
    query(
        settings,
        "update raw.stocks set company_name = %s where symbol = 'AAPL'",
        (NON_ASCII_NAME,),
    )
    result = transform.build(settings)

    assert "ERROR=0" in result.summary
    assert query(
        settings, "select company_name from mart.mart_stock_performance where symbol = 'AAPL'"
    ) == [(NON_ASCII_NAME,)]


def test_dbt_by_hand_speaks_utf8_to_an_sql_ascii_database(sql_ascii_warehouse: Settings) -> None:
    """Plain `dbt build` with only the PG* variables, as docs/operations.md shows: the
    database's own default client encoding (set by init.sql) is what keeps dbt's SQL comments
    from failing."""
    settings = sql_ascii_warehouse
    load_day(settings, DAY)
    env = settings_environ(settings)
    assert "PGCLIENTENCODING" not in env
    run_dir = transform.run_dir(settings)

    built = subprocess.run(
        [
            str(transform.DBT_EXECUTABLE),
            "build",
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(run_dir),
            "--log-path",
            str(run_dir / "logs"),
        ],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert built.returncode == 0, built.stdout[-3000:]
    assert query(settings, "select count(*) from mart.mart_stock_performance") == [(3,)]
