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
        "session_gate": {"resolve_batches"},
        "resolve_batches": {"prepare_warehouse", "ingest_prices"},
        "prepare_warehouse": {"ingest_prices"},
        "ingest_prices": {"ingest_corporate_actions", "check_run"},
        "ingest_corporate_actions": {"load_activity"},
        "load_activity": {"dbt.build_staging", "check_freshness"},
        "dbt.build_staging": {"dbt.build_core"},
        "dbt.build_core": {"dbt.build_mart"},
        "dbt.build_mart": {"check_run"},
        "check_freshness": {"check_run"},
        "check_run": set(),
    }
    # The price task maps over what the run's first task resolved, not a list fixed at parse time.
    mapped_over = dag.get_task("ingest_prices").op_kwargs_expand_input.value["symbols"]
    assert mapped_over.operator.task_id == "resolve_batches"
    assert dag.get_task("load_activity").trigger_rule == "all_done"
    assert dag.get_task("ingest_corporate_actions").trigger_rule == "all_done"
    assert dag.get_task("check_run").trigger_rule == "all_done"
    assert dag.catchup is False
    assert type(dag.timetable).__name__ == "TradingDayTimetable"
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


@pytest.fixture
def alpha_vantage_failing_xom_and_msft_actions(tmp_path: Path) -> Iterator[StandaloneStub]:
    """As above, and MSFT's SPLITS and DIVIDENDS answered with an 'Error Message'."""
    with standalone_stub(
        error_symbols=["XOM"],
        action_error_symbols=["MSFT"],
        series_end=RUN_DATE,
        request_log=tmp_path / "stub-requests.log",
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
    dag_env: dict[str, str],
    settings: Settings,
    alpha_vantage_failing_xom_and_msft_actions: StandaloneStub,
) -> None:
    """XOM's prices and MSFT's corporate actions fail: the marts build from what loaded (MSFT
    included, with the factors it had), then check_run names both, as `fintrade run` does."""
    use_stub(dag_env, alpha_vantage_failing_xom_and_msft_actions)
    run = run_dag(dag_env, RUN_DATE)

    assert run.returncode != 0
    # The first day's activity is held back (XOM has no prices), so the freshness check names
    # both: XOM's missing bar and the session's missing activity.
    assert (
        "failed: check_freshness, ingest_corporate_actions[MSFT], ingest_prices[XOM]"
        in run.stdout + run.stderr
    )
    assert (
        f"data not as of session {RUN_DATE}: XOM has no bar; no OLTP activity is stored for it"
        in run.stdout + run.stderr
    )
    states = task_states(dag_env, RUN_DATE)
    xom = SYMBOLS.index("XOM")
    assert states.pop(f"ingest_prices[{xom}]") == "failed"
    assert states.pop("check_run") == "failed"
    assert states.pop("check_freshness") == "failed"
    assert states.pop("ingest_corporate_actions") == "failed"
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
    assert "failed: check_freshness, ingest_prices[XOM]" in output
    assert "1 of 2 symbols failed: XOM" in output
    assert map_index_labels(dag_env, RUN_DATE) == {0: "AAPL..XOM", 1: "MSFT"}
    states = task_states(dag_env, RUN_DATE)
    assert states.pop("ingest_prices[0]") == "failed"
    assert states.pop("check_run") == "failed"
    assert states.pop("check_freshness") == "failed"
    assert set(states.values()) == {"success"}, states
    assert mart_symbols(settings) == set(SYMBOLS) - {"XOM"}
    # Three tries of the first batch: AAPL fetched and loaded by the first try only.
    assert alpha_vantage_failing_xom.daily_requests() == {"AAPL": 1, "MSFT": 1, "XOM": 3}
    assert query(
        settings,
        "select symbol, status, count(*) from raw.ingest_runs"
        " where dataset = 'prices' and status <> 'api_call' group by 1, 2 order by 1, 2",
    ) == [("AAPL", "loaded", 1), ("MSFT", "loaded", 1), ("XOM", "failed", 3)]


# --- nights on end: Thanksgiving week 2026 on one warehouse ---------------------------------

THANKSGIVING_WEEK = (
    date(2026, 11, 25),  # Wednesday, a session
    date(2026, 11, 26),  # Thanksgiving, closed
    date(2026, 11, 27),  # Friday, closes at 13:00
    date(2026, 11, 28),  # Saturday
    date(2026, 11, 29),  # Sunday
    date(2026, 11, 30),  # Monday, a session
)
# The clock stamps the loader writes (not the data's own times: an order's created_at is when
# it was placed, and stays so however many days pass).
LOAD_STAMPS = ("loaded_at", "rejected_at", "started_at", "finished_at")


def a_day_passes(settings: Settings) -> None:
    """What a night does to the warehouse as the wall clock sees it: every load is a day older,
    in raw and in the models that carry raw's stamps."""
    columns = query(
        settings,
        "select table_name, column_name from information_schema.columns"
        " where table_schema = 'raw' and column_name = any(%s) order by 1, 2",
        (list(LOAD_STAMPS),),
    )
    assert ("daily_prices", "loaded_at") in columns and ("ingest_runs", "started_at") in columns
    for table, column in columns:
        query(settings, f"update raw.{table} set {column} = {column} - interval '1 day'")
    # The models keep raw's stamp of each bar (their change watermark): the same loads, as old.
    for model in ("core.fct_daily_prices", "mart.mart_daily_trading"):
        if query(settings, "select to_regclass(%s) is not null", (model,)) == [(True,)]:
            query(settings, f"update {model} set loaded_at = loaded_at - interval '1 day'")


def finished_state(run: subprocess.CompletedProcess[str]) -> str:
    """The state `airflow dags test` reports for the run it made ('success', 'failed')."""
    (line,) = [line for line in run.stdout.splitlines() if "DagRun Finished" in line]
    return line.split("state=")[1].split(",")[0]


def test_thanksgiving_week_runs_green_every_night_and_ends_as_of_monday(
    dag_env: dict[str, str], settings: Settings
) -> None:
    """Each night of the week, by hand as `airflow dags test` runs it: the sessions load and
    build, the closed days skip every task and change nothing, and no night turns red however
    old the loads look to the wall clock."""
    for night, day in enumerate(THANKSGIVING_WEEK):
        if night:
            a_day_passes(settings)
        before = schema_checksums(settings, ("raw", "mart")) if night else None

        run = run_dag(dag_env, day)

        assert run.returncode == 0, (day, error_lines(run))
        assert finished_state(run) == "success", day
        states = task_states(dag_env, day)
        if is_trading_day(day):
            assert set(states.values()) == {"success"}, (day, states)
            assert f"freshness for {day}: 3 symbols and the activity as of session {day}" in (
                run.stdout + run.stderr
            )
        else:
            assert states.pop("session_gate") == "success"
            assert set(states.values()) == {"skipped"}, (day, states)
            assert schema_checksums(settings, ("raw", "mart")) == before, day

    sessions = [day for day in THANKSGIVING_WEEK if is_trading_day(day)]
    assert query(
        settings,
        "select price_date, count(*) from raw.daily_prices"
        " where price_date >= %s group by 1 order by 1",
        (THANKSGIVING_WEEK[0],),
    ) == [(day, len(SYMBOLS)) for day in sessions]
    assert query(
        settings,
        "select distinct as_of_date, latest_price_date from mart.mart_stock_performance",
    ) == [(date(2026, 11, 30), date(2026, 11, 30))]
    assert query(settings, "select max(trading_date) from mart.mart_daily_trading") == [
        (date(2026, 11, 30),)
    ]


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
