"""DuckDB builds from the lake alone (issue 22): raw as the pipeline left it in the lake, equal to
PostgreSQL's raw tables, built with no PostgreSQL server at all, the lake's key pair nowhere in
what dbt writes, and a damaged lake object refused by name with the last good file kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from data_generator.settings import Engine, Settings
from data_generator.steps import transform
from data_generator.storage import lake as lake_keys
from data_generator.storage.lake import s3_client
from tests.support.harness import load_day, run_fintrade, scratch_warehouse
from tests.support.ports import closed_port
from tests.support.warehouse import query
from tests.support.warehouse_state import STAMP_COLUMNS, lake_objects

DAYS = (date(2026, 11, 23), date(2026, 11, 24))
SYMBOLS = ("AAPL", "JPM", "NVDA", "XOM")
# How DuckDB names the types sql/init.sql gives the raw columns.
DUCKDB_TYPES = {
    "text": "VARCHAR",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp with time zone": "TIMESTAMP WITH TIME ZONE",
    "jsonb": "JSON",
}


@pytest.fixture(scope="module")
def demo(base_settings, s3_server, tmp_path_factory) -> Iterator[Settings]:
    """Two pipeline days (so every bar of the first is in two snapshots) in PostgreSQL and the
    lake, and a DuckDB file path of the module's own."""
    state = tmp_path_factory.mktemp("state")
    with scratch_warehouse(base_settings, s3_server, state) as scratch:
        settings = scratch.with_overrides(symbols=SYMBOLS, duckdb_path=state / "lake.duckdb")
        for day in DAYS:
            load_day(settings, day)
        yield settings


def build_duckdb(settings: Settings, *args: str):
    return run_fintrade(
        settings,
        "build",
        "--engine",
        "duckdb",
        *args,
        env={"PGPORT": str(closed_port())},
    )


def pg_raw_tables(settings: Settings) -> list[str]:
    rows = query(
        settings,
        "select table_name from information_schema.tables"
        " where table_schema = 'raw' and table_type = 'BASE TABLE' order by 1",
    )
    # replay's tombstones and the triggers' bar totals: DuckDB compares its bars with the lake
    # and aggregates them instead (macros/changed_bars.sql, macros/bar_totals.sql)
    return [table for (table,) in rows if table not in {"withdrawn_prices", "daily_price_totals"}]


def pg_columns(settings: Settings, table: str) -> list[tuple[str, str]]:
    rows = query(
        settings,
        "select column_name, data_type, numeric_precision, numeric_scale"
        " from information_schema.columns where table_schema = 'raw' and table_name = %s"
        " order by ordinal_position",
        (table,),
    )
    return [
        (name, f"DECIMAL({precision},{scale})" if kind == "numeric" else DUCKDB_TYPES[kind])
        for name, kind, precision, scale in rows
    ]


def as_text(columns: list[str]) -> str:
    return ", ".join(f'"{column}"::text' for column in columns)


def test_raw_on_duckdb_is_raw_on_postgres(demo):
    """Every raw table, column by column and type by type, and its rows but the load stamps."""
    result = build_duckdb(demo, "--select", "staging")
    assert result.returncode == 0, result.stdout + result.stderr

    with duckdb.connect(str(demo.duckdb_file), read_only=True) as duck:
        for table in pg_raw_tables(demo):
            columns = pg_columns(demo, table)
            described = duck.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = 'raw' and table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
            assert described == columns, table
            compared = [name for name, _ in columns if name not in STAMP_COLUMNS]
            statement = f"select {as_text(compared)} from raw.{table}"
            on_postgres = sorted(query(demo, statement))
            on_duckdb = sorted(duck.execute(statement).fetchall())
            assert on_duckdb == on_postgres, table
            if table in ("daily_prices", "orders", "trades", "ingest_runs"):
                assert on_postgres, f"raw.{table} is empty: the demo proves nothing for it"


def test_the_build_needs_no_postgres_and_writes_no_secret(demo):
    """PostgreSQL is at a closed port; the staging build passes, and the lake's secret key is
    in none of dbt's files (its log, the compiled SQL, the artifacts), nor in the DuckDB file."""
    result = build_duckdb(demo, "--select", "staging")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR=0" in result.stdout
    secret = demo.aws_secret_access_key
    assert secret
    written = [
        path
        for path in [*transform.run_dir(demo, Engine.DUCKDB).rglob("*"), demo.duckdb_file]
        if path.is_file()
    ]
    assert any(path.name == "dbt.log" for path in written)
    assert [path for path in written if secret.encode() in path.read_bytes()] == []
    assert secret not in result.stdout + result.stderr


def test_a_damaged_snapshot_is_named_and_the_last_good_file_kept(demo):
    assert build_duckdb(demo, "--select", "staging").returncode == 0
    good_file = demo.duckdb_file.read_bytes()
    client = s3_client(demo)
    key = lake_keys.parquet_key("JPM", DAYS[-1])
    good = client.get_object(Bucket=demo.s3_bucket, Key=key)["Body"].read()
    client.put_object(Bucket=demo.s3_bucket, Key=key, Body=good[: len(good) // 2])
    try:
        result = build_duckdb(demo, "--select", "staging")
    finally:
        client.put_object(Bucket=demo.s3_bucket, Key=key, Body=good)

    assert result.returncode == 1
    verdict = result.stderr.strip().splitlines()
    assert len(verdict) == 1, result.stderr
    assert verdict[0].startswith("fintrade build: dbt build failed building raw from the lake: ")
    assert f"s3://{demo.s3_bucket}/{key}" in verdict[0]
    assert demo.duckdb_file.read_bytes() == good_file
    assert [p.name for p in Path(demo.duckdb_file).parent.glob("*.building")] == []


def test_a_rerun_of_the_day_changes_only_the_run_log_extract(demo):
    """The day's extracts are stored already: the rerun's are the same bytes, so no put, but the
    run log, which logs the rerun's attempts."""
    before = lake_objects(demo)
    report = load_day(demo, DAYS[-1])
    after = lake_objects(demo)

    assert report.extracts is not None
    assert report.extracts.summary() == (
        f"lake extracts for {DAYS[-1]}: 2 objects written, 1 leftovers removed"
    )  # the run log's new extract and the manifest naming it; its old extract removed

    # The run log's extract counts as present whatever it holds (warehouse_state), so only an
    # object put or removed for the other tables, or a leftover, would show here.
    assert sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k)) == []
