"""The universe file in the pipeline: a stock added or removed there reaches (or leaves) the
warehouse on the next run, and the DAG reads it per run, not when parsed (its rules: tests/unit)."""

from __future__ import annotations

import json
import os
from datetime import date

import pandas as pd
import pytest

from data_generator.reference.universe import (
    load_universe,
)
from data_generator.sources.synthetic_prices import SyntheticPriceSource
from data_generator.storage.warehouse import apply_schema, connect
from tests.integration.test_dag import OWNED_PREFIXES
from tests.support.airflow_client import DAG_ID, DAGS_FOLDER
from tests.support.harness import load_day, run_fintrade
from tests.support.universe_file import AMD, write_universe
from tests.support.warehouse import query

DAY = date(2026, 11, 25)
NEXT_DAY = date(2026, 11, 27)


def test_schema_upgrade_adds_the_new_stock_columns_to_an_existing_table(database):
    conn = connect(database)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "create schema raw; create table raw.stocks (symbol text primary key, "
                "company_name text not null, sector text not null, exchange text not null, "
                "loaded_at timestamptz not null default now());"
                "insert into raw.stocks (symbol, company_name, sector, exchange) "
                "values ('AAPL', 'Apple Inc.', 'Technology', 'NASDAQ')"
            )
        apply_schema(conn)
        apply_schema(conn)
    finally:
        conn.close()

    assert query(database, "select symbol, currency, is_active from raw.stocks") == [
        ("AAPL", "USD", True)
    ]


def test_added_stock_reaches_the_marts_and_a_removed_one_keeps_its_history(settings, tmp_path):
    path = write_universe(
        tmp_path / "stocks.csv",
        "AAPL,Apple Inc.,Information Technology,NASDAQ,USD\n",
        "MSFT,Microsoft Corporation,Information Technology,NASDAQ,USD\n",
    )
    settings = settings.with_overrides(universe_file=path)
    load_day(settings, DAY)
    msft_rows = query(settings, "select count(*) from raw.daily_prices where symbol = 'MSFT'")

    # The user removes MSFT and adds AMD; the next run is the CLI's, as a user runs it.
    write_universe(path, "AAPL,Apple Inc.,Information Technology,NASDAQ,USD\n", AMD)
    result = run_fintrade(settings, "run", "--date", NEXT_DAY.isoformat())

    assert result.returncode == 0, result.stderr
    assert "AMD: " in result.stdout and "MSFT" not in result.stdout
    stocks = query(settings, "select symbol, is_active from core.dim_stocks order by symbol")
    assert stocks == [("AAPL", True), ("AMD", True), ("MSFT", False)]
    assert (
        query(settings, "select count(*) from raw.daily_prices where symbol = 'MSFT'") == msft_rows
    )
    amd_prices = pd.DataFrame(
        query(
            settings,
            "select price_date, close_price from core.fct_daily_prices "
            "where symbol = 'AMD' order by price_date",
        ),
        columns=["price_date", "close_price"],
    )
    expected = pd.DataFrame(
        json.loads(
            SyntheticPriceSource(
                settings.seed, settings.history_days, NEXT_DAY, load_universe(path)
            ).fetch_daily("AMD")
        )["Time Series (Daily)"]
    ).T
    assert len(amd_prices) == len(expected) > 240  # its history, from the source
    assert amd_prices["price_date"].iloc[-1] == NEXT_DAY
    mart = query(
        settings,
        "select symbol, sector, latest_close_price from mart.mart_stock_performance "
        "where symbol = 'AMD'",
    )
    assert [(s, sec, str(c)) for s, sec, c in mart] == [
        ("AMD", "Semiconductors", expected.loc[NEXT_DAY.isoformat(), "4. close"])
    ]


def test_a_bad_universe_line_stops_the_cli_with_one_line(settings, tmp_path):
    path = write_universe(tmp_path / "stocks.csv", "AAPL,Apple Inc.,Tech,NASDAQ\n")
    broken = settings.with_overrides(universe_file=path)

    result = run_fintrade(broken, "ingest", "--date", "2026-11-25")

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"fintrade ingest: {path}:2: expected 5 fields "
        "(symbol,company_name,sector,exchange,currency), got 4"
    )
    assert query(settings, "select count(*) from pg_tables where schemaname = 'raw'") == [(0,)]


@pytest.mark.airflow
def test_the_dag_reads_no_universe_file_when_parsed(tmp_path, monkeypatch):
    """Its shape is no longer the file's: a file that is not there yet still parses, and the
    price task maps over the batches the run's first task resolves (tests/unit/test_batches)."""
    for name in [k for k in os.environ if k.startswith(OWNED_PREFIXES)]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("FINTRADE_UNIVERSE_FILE", str(tmp_path / "not-written-yet.csv"))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))

    assert bag.import_errors == {}
    prices = bag.dags[DAG_ID].get_task("ingest_prices")
    assert prices.op_kwargs_expand_input.value["symbols"].operator.task_id == "resolve_batches"
