"""The local scheduler path: `make airflow` for real, driven as a user drives it.

`make airflow` starts the scheduler, dag-processor and api-server; the test logs in with the
password SimpleAuthManager generated, unpauses the DAG and triggers two logical dates through the
REST API, the later day first, then two earlier sessions as a backfill does, and waits for the
real scheduler to run all three; the warehouse they leave must equal a full rebuild of its raw
data, with no account's cash or holding negative at any instant. Tasks run in the
scheduler's LocalExecutor processes, not in-process as under `airflow dags test`.

The DAG's own schedule is switched off (`[scheduler] use_job_schedule = False`): unpaused, the
scheduler would otherwise add a run for the latest interval, whose date follows the wall clock.
The only runs are the three the test triggers, so what it checks does not depend on today's date.
The run the scheduler makes itself is checked by `make stack-test`.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from data_generator.localdev.processes import port_open
from data_generator.settings import Settings
from data_generator.steps.transform import run_dir
from tests.support.airflow_client import DAG_ID, parse_time
from tests.support.harness import settings_environ
from tests.support.local_airflow import airflow_environ, running_airflow
from tests.support.rebuild import assert_equals_its_rebuild
from tests.support.warehouse import query

pytestmark = pytest.mark.airflow

SYMBOLS = ("AAPL", "MSFT", "XOM")
EARLIEST_DAY = date(2026, 1, 2)  # Friday, an NYSE trading day
EARLIER_DAY = date(2026, 1, 5)
LATER_DAY = date(2026, 1, 6)
# Each mart and the query of the day it describes: one as-of date, or the last day of a series.
MART_AS_OF = {
    "mart.mart_stock_performance": "select distinct as_of_date from mart.mart_stock_performance",
    "mart.mart_sector_performance": "select distinct as_of_date from mart.mart_sector_performance",
    "mart.mart_account_summary": "select distinct as_of_date from mart.mart_account_summary",
    "mart.mart_daily_trading": "select max(trading_date) from mart.mart_daily_trading",
}
# session_gate, resolve_batches, prepare_warehouse, ingest_corporate_actions, load_activity,
# three dbt layers, check_freshness, check_run.
UNMAPPED_TASKS = 10
RUNS_TIMEOUT_SECONDS = 900


@pytest.fixture
def scheduler_env(settings: Settings) -> Iterator[dict[str, str]]:
    """Environment of `make airflow`: the test's own database and bucket, three symbols."""
    run_settings = settings.with_overrides(symbols=SYMBOLS, price_source="synthetic")
    env = airflow_environ(settings_environ(run_settings))
    env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] = "False"
    yield env
    shutil.rmtree(run_dir(settings), ignore_errors=True)


def run_id(day: date) -> str:
    return f"test_{day.isoformat()}"


def test_make_airflow_runs_dates_triggered_out_of_order(
    scheduler_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    later, earlier, earliest = run_id(LATER_DAY), run_id(EARLIER_DAY), run_id(EARLIEST_DAY)
    venv = Path(sys.prefix)

    with running_airflow(scheduler_env, tmp_path / "airflow", venv) as airflow:
        airflow.api.wait_for_dag(DAG_ID, timeout_seconds=300)
        airflow.api.set_paused(DAG_ID, False)
        airflow.api.trigger(DAG_ID, later, LATER_DAY)
        airflow.api.trigger(DAG_ID, earlier, EARLIER_DAY)
        airflow.api.trigger(DAG_ID, earliest, EARLIEST_DAY)

        runs = airflow.api.wait_for_runs(DAG_ID, [later, earlier, earliest], RUNS_TIMEOUT_SECONDS)

        for name, run in runs.items():
            assert run["state"] == "success", airflow.failed_task_logs(DAG_ID, name)
        for name in runs:
            states = {
                (ti["task_id"], ti["map_index"]): ti["state"]
                for ti in airflow.api.task_instances(DAG_ID, name)
            }
            assert set(states.values()) == {"success"}, states
            assert len(states) == UNMAPPED_TASKS + len(SYMBOLS), states
        assert sorted(run["dag_run_id"] for run in airflow.api.dag_runs(DAG_ID)) == sorted(runs)

    # The earlier days ran after: the scheduler starts queued runs in trigger order, one at a time.
    assert parse_time(runs[earlier]["start_date"]) >= parse_time(runs[later]["end_date"])
    assert parse_time(runs[earliest]["start_date"]) >= parse_time(runs[earlier]["end_date"])
    assert not port_open("127.0.0.1", airflow.port)
    assert airflow.stopped_cleanly, (
        f"still running after SIGTERM and SIGKILL: {airflow.leftover_pids}"
    )

    loaded = query(
        settings,
        "select logical_date, symbol from raw.ingest_runs"
        " where status = 'loaded' and dataset = 'prices' order by 1, 2",
    )
    days = (EARLIEST_DAY, EARLIER_DAY, LATER_DAY)
    assert loaded == [(day, s) for day in days for s in sorted(SYMBOLS)]
    for table, as_of in MART_AS_OF.items():
        assert query(settings, as_of) == [(LATER_DAY,)], table
    assert query(
        settings,
        "select symbol, latest_price_date from mart.mart_stock_performance order by symbol",
    ) == [(symbol, LATER_DAY) for symbol in sorted(SYMBOLS)]
    # The backfilled sessions' activity spends nothing the stored history spends later, and the
    # incremental builds after them equal a rebuild of the same raw data.
    assert_equals_its_rebuild(settings, EARLIEST_DAY)
