"""The Airflow DAG, run by the real Airflow against the real PostgreSQL and S3 server.

`airflow dags test` runs every task of one DAG run in-process with SQLite metadata, which is what
`make demo` does, so these tests check what a user of the project would see: the run's state,
each task's state, and the rows in the warehouse.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

import pytest

from data_generator.reference.trading_calendar import is_trading_day
from data_generator.settings import Settings
from data_generator.steps.transform import run_dir
from tests.support.airflow_client import (
    DAG_ID,
    DAGS_FOLDER,
    cli_task_instances,
    dags_test,
    dags_test_environ,
    error_lines,
    task_key,
)
from tests.support.alpha_vantage_stub import (
    AlphaVantageStub,
    StandaloneStub,
    StubReply,
    StubRequest,
    invalid_key_body,
    standalone_stub,
)
from tests.support.harness import settings_environ
from tests.support.universe_file import write_universe
from tests.support.warehouse import query, schema_checksums

pytestmark = pytest.mark.airflow

AIRFLOW = Path(sys.executable).parent / "airflow"
RUN_DATE = date(2026, 1, 5)  # a Monday and an NYSE trading day
SYMBOLS = ("AAPL", "MSFT", "XOM")
DAG_RUN_TIMEOUT_SECONDS = 900
UNIVERSE_LINES = {
    "AAPL": "AAPL,Apple Inc.,Information Technology,NASDAQ,USD\n",
    "MSFT": "MSFT,Microsoft Corporation,Information Technology,NASDAQ,USD\n",
    "XOM": "XOM,Exxon Mobil Corporation,Energy,NYSE,USD\n",
}
# Variables the project or Airflow reads: the parse test drops them, so a developer's shell
# cannot steer it.
OWNED_PREFIXES = ("AIRFLOW", "PG", "AWS_", "S3_", "FINTRADE_", "ALPHA_VANTAGE_")


# --- Airflow: a home with SQLite metadata, and the environment of one DAG run ----------------
# PostgreSQL and S3 come from conftest's `settings` (a fresh database and bucket per test).


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Airflow home with migrated SQLite metadata, shared by the session's DAG runs."""
    home = tmp_path_factory.mktemp("airflow_home")
    subprocess.run(
        [str(AIRFLOW), "db", "migrate"],
        env=_airflow_environ(home, dict(os.environ)),
        check=True,
        capture_output=True,
        timeout=300,
    )
    return home


def _airflow_environ(home: Path, base: dict[str, str]) -> dict[str, str]:
    """`base` with this home's Airflow, two tasks at a time."""
    return dags_test_environ(base, home, AIRFLOW.parent) | {"AIRFLOW__CORE__PARALLELISM": "2"}


@pytest.fixture
def dag_env(airflow_home: Path, settings: Settings) -> Iterator[dict[str, str]]:
    """The environment of one DAG run: its own database and bucket, synthetic prices."""
    run_settings = settings.with_overrides(symbols=SYMBOLS, price_source="synthetic")
    env = _airflow_environ(airflow_home, settings_environ(run_settings))
    yield env
    shutil.rmtree(run_dir(settings), ignore_errors=True)


# --- end Airflow ----------------------------------------------------------------------------


def run_dag(env: dict[str, str], day: date) -> subprocess.CompletedProcess[str]:
    return dags_test(AIRFLOW, env, day, DAG_RUN_TIMEOUT_SECONDS)


def task_states(env: dict[str, str], day: date) -> dict[str, str]:
    """State per task of the run for `day`; mapped price tasks are keyed `ingest_prices[i]`."""
    return {
        task_key(row["task_id"], row["map_index"]): row["state"]
        for row in cli_task_instances(AIRFLOW, env, DAG_ID, day)
    }


def next_trading_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_trading_day(day):
        day += timedelta(days=1)
    return day


def mart_symbols(settings: Settings) -> set[str]:
    return {s for (s,) in query(settings, "select symbol from mart.mart_stock_performance")}


def test_dag_parses_with_expected_tasks_and_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith(OWNED_PREFIXES)]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))

    assert bag.import_errors == {}
    dag = bag.dags[DAG_ID]
    downstream = {task.task_id: task.downstream_task_ids for task in dag.tasks}
    assert downstream == {
        "resolve_batches": {"prepare_warehouse", "ingest_prices"},
        "prepare_warehouse": {"ingest_prices"},
        "ingest_prices": {"ingest_corporate_actions", "check_run"},
        "ingest_corporate_actions": {"load_activity"},
        "load_activity": {"dbt.build_staging", "dbt_source_freshness"},
        "dbt.build_staging": {"dbt.build_core"},
        "dbt.build_core": {"dbt.build_mart"},
        "dbt.build_mart": {"check_run"},
        "dbt_source_freshness": {"check_run"},
        "check_run": set(),
    }
    # The price task maps over what the run's first task resolved, not a list fixed at parse time.
    mapped_over = dag.get_task("ingest_prices").op_kwargs_expand_input.value["symbols"]
    assert mapped_over.operator.task_id == "resolve_batches"
    assert dag.get_task("load_activity").trigger_rule == "all_done"
    assert dag.get_task("ingest_corporate_actions").trigger_rule == "all_done"
    assert dag.get_task("check_run").trigger_rule == "all_done"
    assert dag.catchup is False
    assert all(task.retries >= 1 for task in dag.tasks)


def test_dag_run_is_green_repeatable_and_adds_the_next_day(
    dag_env: dict[str, str], settings: Settings
) -> None:
    first = run_dag(dag_env, RUN_DATE)

    assert first.returncode == 0, error_lines(first)
    states = task_states(dag_env, RUN_DATE)
    assert set(states.values()) == {"success"}, states
    assert mart_symbols(settings) == set(SYMBOLS)
    before = schema_checksums(settings, ("raw", "mart"))
    assert {"raw.daily_prices", "mart.mart_stock_performance"} <= before.keys()

    again = run_dag(dag_env, RUN_DATE)

    assert again.returncode == 0, error_lines(again)
    assert schema_checksums(settings, ("raw", "mart")) == before

    next_day = next_trading_day(RUN_DATE)
    old_rows_sql = (
        "select count(*), md5(string_agg(p::text, '|' order by p::text)) "
        f"from raw.daily_prices p where price_date <= '{RUN_DATE}'"
    )
    old_rows = query(settings, old_rows_sql)

    following = run_dag(dag_env, next_day)

    assert following.returncode == 0, error_lines(following)
    assert query(settings, old_rows_sql) == old_rows
    new_rows = query(
        settings,
        f"select symbol from raw.daily_prices where price_date > '{RUN_DATE}' order by symbol",
    )
    assert new_rows == [(symbol,) for symbol in sorted(SYMBOLS)]
    assert query(settings, "select max(latest_price_date) from mart.mart_stock_performance") == [
        (next_day,)
    ]


@pytest.fixture
def alpha_vantage_failing_xom(tmp_path: Path) -> Iterator[StandaloneStub]:
    """The project's Alpha Vantage stand-in as its own process, 'Error Message' for XOM."""
    with standalone_stub(
        error_symbols=["XOM"], series_end=RUN_DATE, request_log=tmp_path / "stub-requests.log"
    ) as server:
        yield server


def use_stub(env: dict[str, str], stub: StandaloneStub) -> None:
    """Prices from the stand-in, one attempt per try and no pacing, so a failure is quick."""
    env.update(
        {
            "FINTRADE_PRICE_SOURCE": "alphavantage",
            "ALPHA_VANTAGE_API_KEY": "dag-test-key",
            "ALPHA_VANTAGE_BASE_URL": stub.base_url,
            "ALPHA_VANTAGE_MAX_ATTEMPTS": "1",
            "ALPHA_VANTAGE_BACKOFF_SECONDS": "0",
            "ALPHA_VANTAGE_CALLS_PER_MINUTE": "6000",
        }
    )


def map_index_labels(env: dict[str, str], day: date) -> dict[int, str]:
    """What the UI shows for each price task instance of the run for `day` (Airflow's metadata)."""
    home = Path(env["AIRFLOW_HOME"])
    with closing(sqlite3.connect(f"file:{home / 'airflow.db'}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "select ti.map_index, ti.rendered_map_index from task_instance ti"
            " join dag_run dr on dr.dag_id = ti.dag_id and dr.run_id = ti.run_id"
            " where ti.dag_id = ? and ti.task_id = 'ingest_prices' and date(dr.logical_date) = ?",
            (DAG_ID, day.isoformat()),
        ).fetchall()
    return dict(rows)


def test_failing_symbol_fails_alone_while_the_others_reach_the_marts(
    dag_env: dict[str, str], settings: Settings, alpha_vantage_failing_xom: StandaloneStub
) -> None:
    use_stub(dag_env, alpha_vantage_failing_xom)
    run = run_dag(dag_env, RUN_DATE)

    assert run.returncode != 0
    # The first day's activity is held back (XOM has no prices), so raw.orders and raw.trades
    # are empty and source freshness says so, besides naming XOM.
    assert "failed: dbt_source_freshness, ingest_prices[XOM]" in run.stdout + run.stderr
    states = task_states(dag_env, RUN_DATE)
    xom = SYMBOLS.index("XOM")
    assert states.pop(f"ingest_prices[{xom}]") == "failed"
    assert states.pop("check_run") == "failed"
    assert states.pop("dbt_source_freshness") == "failed"
    assert set(states.values()) == {"success"}, states
    assert mart_symbols(settings) == set(SYMBOLS) - {"XOM"}
    assert (
        query(
            settings,
            "select status from raw.ingest_runs"
            " where symbol = 'XOM' and dataset = 'prices' and status <> 'api_call'",
        )
        == [("failed",)] * 3
    )
    # The CLI's rule: no activity and no XOM actions for a day XOM has no prices for.
    assert "held back until every symbol loaded" in run.stdout + run.stderr
    assert query(settings, "select count(*) from raw.orders") == [(0,)]
    assert query(
        settings, "select count(*) from raw.ingest_runs where symbol = 'XOM' and dataset = 'splits'"
    ) == [(0,)]


def test_a_batch_loads_around_its_failing_symbol_and_retries_only_that_one(
    dag_env: dict[str, str], settings: Settings, alpha_vantage_failing_xom: StandaloneStub
) -> None:
    use_stub(dag_env, alpha_vantage_failing_xom)
    # Two batches, XOM in the first with AAPL: [AAPL, XOM], [MSFT].
    dag_env["FINTRADE_SYMBOLS"] = "AAPL,XOM,MSFT"
    dag_env["FINTRADE_SYMBOLS_PER_TASK"] = "2"

    run = run_dag(dag_env, RUN_DATE)

    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "failed: dbt_source_freshness, ingest_prices[XOM]" in output
    assert "1 of 2 symbols failed: XOM" in output
    assert map_index_labels(dag_env, RUN_DATE) == {0: "AAPL..XOM", 1: "MSFT"}
    states = task_states(dag_env, RUN_DATE)
    assert states.pop("ingest_prices[0]") == "failed"
    assert states.pop("check_run") == "failed"
    assert states.pop("dbt_source_freshness") == "failed"
    assert set(states.values()) == {"success"}, states
    assert mart_symbols(settings) == set(SYMBOLS) - {"XOM"}
    # Three tries of the first batch: AAPL fetched and loaded by the first try only.
    assert alpha_vantage_failing_xom.daily_requests() == {"AAPL": 1, "MSFT": 1, "XOM": 3}
    assert query(
        settings,
        "select symbol, status, count(*) from raw.ingest_runs"
        " where dataset = 'prices' and status <> 'api_call' group by 1, 2 order by 1, 2",
    ) == [("AAPL", "loaded", 1), ("MSFT", "loaded", 1), ("XOM", "failed", 3)]


def test_a_stock_removed_mid_run_leaves_the_run_as_it_started(
    dag_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    """MSFT leaves the universe file while XOM's price task runs, and XOM's batch fails before
    it can say which symbols failed (the key is refused, so the batch stops at once): check_run
    names XOM from the batches this run mapped. Re-reading the file would give two batches, not
    three, and no batch 2."""
    universe = write_universe(tmp_path / "stocks.csv", *(UNIVERSE_LINES[s] for s in SYMBOLS))
    dag_env["FINTRADE_UNIVERSE_FILE"] = str(universe)
    del dag_env["FINTRADE_SYMBOLS"]  # the whole file

    def remove_msft_then_refuse_the_key(request: StubRequest) -> bytes:
        write_universe(universe, UNIVERSE_LINES["AAPL"], UNIVERSE_LINES["XOM"])
        return invalid_key_body()

    with AlphaVantageStub(series_end=RUN_DATE) as stub:
        stub.set_default("XOM", StubReply(body=remove_msft_then_refuse_the_key))
        use_stub(dag_env, stub)
        run = run_dag(dag_env, RUN_DATE)
        xom_requests = len(stub.requests_for("XOM"))

    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert xom_requests == 3  # the first try and both retries: the file was edited mid-run
    assert "MSFT" not in universe.read_text()
    assert set(re.findall(r"ingest_prices\[(\w+)\]", output)) == {"XOM"}, error_lines(run)
    assert map_index_labels(dag_env, RUN_DATE) == {0: "AAPL", 1: "MSFT", 2: "XOM"}
    states = task_states(dag_env, RUN_DATE)
    assert states["ingest_prices[2]"] == "failed"
    assert states["ingest_prices[0]"] == states["ingest_prices[1]"] == "success"
    assert query(
        settings,
        "select symbol from raw.ingest_runs"
        " where dataset = 'prices' and status = 'loaded' order by 1",
    ) == [("AAPL",), ("MSFT",)]
