"""The Airflow DAG, run by the real Airflow against the real PostgreSQL and S3 server.

`airflow dags test` runs every task of one DAG run in-process with SQLite metadata, which is what
`make demo` does, so these tests check what a user of the project would see: the run's state,
each task's state, and the rows in the warehouse.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg2
import pytest

from data_generator.reference.trading_calendar import is_trading_day
from data_generator.settings import Settings
from data_generator.steps.transform import run_dir
from tests.support.harness import settings_environ

pytestmark = pytest.mark.airflow

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO_ROOT / "airflow" / "dags"
AIRFLOW = Path(sys.executable).parent / "airflow"
DAG_ID = "fintrade_pipeline"
RUN_DATE = date(2026, 1, 5)  # a Monday and an NYSE trading day
SYMBOLS = ("AAPL", "MSFT", "XOM")
DAG_RUN_TIMEOUT_SECONDS = 900
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
    """`base` with Airflow's own variables replaced by this home's; `PATH` finds the venv's dbt."""
    env = {k: v for k, v in base.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}",
        }
    )
    return env


@pytest.fixture
def dag_env(airflow_home: Path, settings: Settings) -> Iterator[dict[str, str]]:
    """The environment of one DAG run: its own database and bucket, synthetic prices."""
    run_settings = settings.with_overrides(symbols=SYMBOLS, price_source="synthetic")
    env = _airflow_environ(airflow_home, settings_environ(run_settings))
    yield env
    shutil.rmtree(run_dir(settings), ignore_errors=True)


# --- end Airflow ----------------------------------------------------------------------------


def run_dag(env: dict[str, str], day: date) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AIRFLOW), "dags", "test", DAG_ID, day.isoformat()],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=DAG_RUN_TIMEOUT_SECONDS,
    )


def failure_lines(run: subprocess.CompletedProcess[str]) -> str:
    """The lines of a DAG run's output that say why a task failed, for assertion messages."""
    return "\n".join(line for line in (run.stdout + run.stderr).splitlines() if "Error" in line)[
        -4000:
    ]


def task_states(env: dict[str, str], day: date) -> dict[str, str]:
    """State per task of the run for `day`; mapped price tasks are keyed `ingest_prices[i]`."""
    listed = subprocess.run(
        [
            str(AIRFLOW),
            "tasks",
            "states-for-dag-run",
            DAG_ID,
            f"{day.isoformat()}T00:00:00+00:00",
            "--output",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    rows = json.loads(listed.stdout[listed.stdout.index("[") :])
    states = {}
    for row in rows:
        index = row.get("map_index") or ""  # "" for a task that is not mapped
        key = f"{row['task_id']}[{index}]" if index else row["task_id"]
        states[key] = row["state"]
    return states


def map_index_labels(env: dict[str, str], day: date) -> dict[int, str]:
    """What the UI shows for each price task instance of the run for `day` (Airflow's metadata)."""
    conn = sqlite3.connect(f"file:{Path(env['AIRFLOW_HOME']) / 'airflow.db'}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "select ti.map_index, ti.rendered_map_index from task_instance ti"
            " join dag_run dr on dr.dag_id = ti.dag_id and dr.run_id = ti.run_id"
            " where ti.dag_id = ? and ti.task_id = 'ingest_prices' and date(dr.logical_date) = ?",
            (DAG_ID, day.isoformat()),
        ).fetchall()
    finally:
        conn.close()
    return dict(rows)


def query(database: str, sql: str) -> list[tuple]:
    conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=database)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def table_checksums(database: str) -> dict[str, str]:
    """md5 of every row of each raw and mart table, except the per-run log raw.ingest_runs and
    the mart showing its last run."""
    tables = query(
        database,
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema in ('raw', 'mart') "
        "and table_name not in ('ingest_runs', 'mart_ingest_status') "
        "order by 1",
    )
    return {
        table: query(
            database,
            f"select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {table} t",
        )[0][0]
        for (table,) in tables
    }


def next_trading_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_trading_day(day):
        day += timedelta(days=1)
    return day


def mart_symbols(database: str) -> set[str]:
    return {s for (s,) in query(database, "select symbol from mart.mart_stock_performance")}


def test_dag_parses_with_expected_tasks_and_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith(OWNED_PREFIXES)]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("FINTRADE_SYMBOLS", "AAPL,MSFT")
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))

    assert bag.import_errors == {}
    dag = bag.dags[DAG_ID]
    downstream = {task.task_id: task.downstream_task_ids for task in dag.tasks}
    assert downstream == {
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
    prices = dag.get_task("ingest_prices")
    assert prices.op_kwargs_expand_input.value["symbols"] == [["AAPL"], ["MSFT"]]
    assert dag.get_task("load_activity").trigger_rule == "all_done"
    assert dag.get_task("ingest_corporate_actions").trigger_rule == "all_done"
    assert dag.get_task("check_run").trigger_rule == "all_done"
    assert dag.catchup is False
    assert all(task.retries >= 1 for task in dag.tasks)


def test_dag_run_is_green_repeatable_and_adds_the_next_day(dag_env: dict[str, str]) -> None:
    database = dag_env["PGDATABASE"]

    first = run_dag(dag_env, RUN_DATE)

    assert first.returncode == 0, failure_lines(first)
    states = task_states(dag_env, RUN_DATE)
    assert set(states.values()) == {"success"}, states
    assert mart_symbols(database) == set(SYMBOLS)
    before = table_checksums(database)
    assert {"raw.daily_prices", "mart.mart_stock_performance"} <= before.keys()

    again = run_dag(dag_env, RUN_DATE)

    assert again.returncode == 0, failure_lines(again)
    assert table_checksums(database) == before

    next_day = next_trading_day(RUN_DATE)
    old_rows_sql = (
        "select count(*), md5(string_agg(p::text, '|' order by p::text)) "
        f"from raw.daily_prices p where price_date <= '{RUN_DATE}'"
    )
    old_rows = query(database, old_rows_sql)

    following = run_dag(dag_env, next_day)

    assert following.returncode == 0, failure_lines(following)
    assert query(database, old_rows_sql) == old_rows
    new_rows = query(
        database,
        f"select symbol from raw.daily_prices where price_date > '{RUN_DATE}' order by symbol",
    )
    assert new_rows == [(symbol,) for symbol in sorted(SYMBOLS)]
    assert query(database, "select max(latest_price_date) from mart.mart_stock_performance") == [
        (next_day,)
    ]


@dataclass(frozen=True)
class StubProcess:
    """The Alpha Vantage stand-in running as its own process, and the log of its requests."""

    base_url: str
    request_log: Path

    def daily_requests(self) -> Counter[str]:
        """TIME_SERIES_DAILY requests per symbol so far."""
        lines = self.request_log.read_text().splitlines() if self.request_log.exists() else []
        return Counter(
            symbol
            for function, symbol in (line.split(" ", 1) for line in lines)
            if function == "TIME_SERIES_DAILY"
        )


@pytest.fixture
def alpha_vantage_failing_xom(tmp_path: Path) -> Iterator[StubProcess]:
    """The project's Alpha Vantage stand-in as its own process, 'Error Message' for XOM."""
    request_log = tmp_path / "stub-requests.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.alpha_vantage_stub",
            "--port",
            "0",
            "--error-symbols",
            "XOM",
            "--series-end",
            RUN_DATE.isoformat(),
            "--request-log",
            str(request_log),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = server.stdout.readline()
        assert first_line.startswith("listening on "), first_line
        yield StubProcess(first_line.removeprefix("listening on ").strip(), request_log)
    finally:
        server.terminate()
        server.wait(timeout=30)


def use_stub(env: dict[str, str], stub: StubProcess) -> None:
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


def test_failing_symbol_fails_alone_while_the_others_reach_the_marts(
    dag_env: dict[str, str], alpha_vantage_failing_xom: StubProcess
) -> None:
    use_stub(dag_env, alpha_vantage_failing_xom)
    database = dag_env["PGDATABASE"]

    run = run_dag(dag_env, RUN_DATE)

    assert run.returncode != 0
    assert "failed: ingest_prices[XOM]" in run.stdout + run.stderr
    states = task_states(dag_env, RUN_DATE)
    xom = SYMBOLS.index("XOM")
    assert states.pop(f"ingest_prices[{xom}]") == "failed"
    assert states.pop("check_run") == "failed"
    assert set(states.values()) == {"success"}, states
    assert mart_symbols(database) == set(SYMBOLS) - {"XOM"}
    assert (
        query(
            database,
            "select status from raw.ingest_runs"
            " where symbol = 'XOM' and dataset = 'prices' and status <> 'api_call'",
        )
        == [("failed",)] * 3
    )
    # The CLI's rule: no activity and no XOM actions for a day XOM has no prices for.
    assert "held back until every symbol loaded" in run.stdout + run.stderr
    assert query(database, "select count(*) from raw.orders") == [(0,)]
    assert query(
        database, "select count(*) from raw.ingest_runs where symbol = 'XOM' and dataset = 'splits'"
    ) == [(0,)]


def test_a_batch_loads_around_its_failing_symbol_and_retries_only_that_one(
    dag_env: dict[str, str], alpha_vantage_failing_xom: StubProcess
) -> None:
    use_stub(dag_env, alpha_vantage_failing_xom)
    # Two batches, XOM in the first with AAPL: [AAPL, XOM], [MSFT].
    dag_env["FINTRADE_SYMBOLS"] = "AAPL,XOM,MSFT"
    dag_env["FINTRADE_SYMBOLS_PER_TASK"] = "2"
    database = dag_env["PGDATABASE"]

    run = run_dag(dag_env, RUN_DATE)

    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "failed: ingest_prices[XOM]" in output
    assert "1 of 2 symbols failed: XOM" in output
    assert map_index_labels(dag_env, RUN_DATE) == {0: "AAPL..XOM", 1: "MSFT"}
    states = task_states(dag_env, RUN_DATE)
    assert states.pop("ingest_prices[0]") == "failed"
    assert states.pop("check_run") == "failed"
    assert set(states.values()) == {"success"}, states
    assert mart_symbols(database) == set(SYMBOLS) - {"XOM"}
    # Three tries of the first batch: AAPL fetched and loaded by the first try only.
    assert alpha_vantage_failing_xom.daily_requests() == {"AAPL": 1, "MSFT": 1, "XOM": 3}
    assert query(
        database,
        "select symbol, status, count(*) from raw.ingest_runs"
        " where dataset = 'prices' and status <> 'api_call' group by 1, 2 order by 1, 2",
    ) == [("AAPL", "loaded", 1), ("MSFT", "loaded", 1), ("XOM", "failed", 3)]
