"""The Celery path: `make airflow EXECUTOR=celery` for real, the DAG run green through a worker.

`make airflow EXECUTOR=celery` starts the scheduler, dag-processor, api-server and one `airflow
celery worker`; FINTRADE_REDIS_URL names a free port on 127.0.0.1, so the make starts a
project-local redis-server there (never the machine's shared 6379, whose queues other users'
workers would drain) and stops it when it stops. The test triggers one logical date through the
REST API and waits for the real scheduler to run it.

That Celery ran the tasks is read where a user would look for it: the scheduler gave every task
instance a Celery task id (its `external_executor_id`) and the result backend holds a SUCCESS
for each of those ids. Under the LocalExecutor neither exists.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from data_generator.settings import Settings
from data_generator.steps.transform import run_dir
from tests.support.airflow_client import DAG_ID
from tests.support.harness import settings_environ
from tests.support.local_airflow import (
    Executor,
    airflow_environ,
    running_airflow,
)
from tests.support.ports import free_port, port_listening
from tests.support.warehouse import query

pytestmark = [
    pytest.mark.airflow,
    pytest.mark.skipif(
        shutil.which("redis-server") is None,
        reason="redis-server is not installed (Debian: apt-get install redis-server)",
    ),
]

SYMBOLS = ("AAPL", "MSFT", "XOM")
DAY = date(2026, 1, 5)  # Monday, an NYSE trading day
RUN_ID = f"celery_{DAY.isoformat()}"
# session_gate, resolve_batches, prepare_warehouse, ingest_corporate_actions, load_activity,
# three dbt layers, check_freshness, check_run; plus one mapped price task per symbol.
TASKS = 10 + len(SYMBOLS)
MARTS = (
    "mart.mart_stock_performance",
    "mart.mart_sector_performance",
    "mart.mart_account_summary",
    "mart.mart_daily_trading",
)
RUN_TIMEOUT_SECONDS = 900


@pytest.fixture
def celery_env(settings: Settings) -> Iterator[tuple[dict[str, str], int]]:
    """Environment of `make airflow EXECUTOR=celery`, and the port its own Redis will use."""
    run_settings = settings.with_overrides(symbols=SYMBOLS, price_source="synthetic")
    env = airflow_environ(settings_environ(run_settings))
    env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] = "False"
    redis_port = free_port()
    env["FINTRADE_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    yield env, redis_port
    shutil.rmtree(run_dir(settings), ignore_errors=True)


def celery_task_ids(home: Path) -> dict[tuple[str, int], str | None]:
    """Each task instance of the run and the Celery task id the scheduler queued it under."""
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "select task_id, map_index, external_executor_id from task_instance where run_id = ?",
            (RUN_ID,),
        ).fetchall()
    return {(task_id, map_index): celery_id for task_id, map_index, celery_id in rows}


def celery_results(home: Path) -> dict[str, str]:
    """Celery task id -> status, from the result backend the workers report to."""
    with sqlite3.connect(home / "celery-results.db") as db:
        return dict(db.execute("select task_id, status from celery_taskmeta").fetchall())


def test_make_airflow_celery_runs_the_dag_through_a_worker(
    celery_env: tuple[dict[str, str], int], settings: Settings, tmp_path: Path
) -> None:
    env, redis_port = celery_env
    home = tmp_path / "airflow"

    with running_airflow(env, home, Path(sys.prefix), executor=Executor.CELERY) as airflow:
        airflow.api.wait_for_dag(DAG_ID, timeout_seconds=300)
        assert port_listening(redis_port), airflow.log_tail()
        airflow.api.set_paused(DAG_ID, False)
        airflow.api.trigger(DAG_ID, RUN_ID, DAY)

        run = airflow.api.wait_for_runs(DAG_ID, [RUN_ID], RUN_TIMEOUT_SECONDS)[RUN_ID]

        assert run["state"] == "success", airflow.failed_task_logs(DAG_ID, RUN_ID)
        states = {
            (ti["task_id"], ti["map_index"]): ti["state"]
            for ti in airflow.api.task_instances(DAG_ID, RUN_ID)
        }
        assert set(states.values()) == {"success"}, states
        assert len(states) == TASKS, states

    celery_ids = celery_task_ids(home)
    assert set(celery_ids) == set(states)
    assert None not in celery_ids.values(), celery_ids
    results = celery_results(home)
    assert {results.get(celery_id) for celery_id in celery_ids.values()} == {"SUCCESS"}, results

    assert not port_listening(airflow.port)
    assert not port_listening(redis_port), "the project-local Redis outlived `make airflow`"
    assert airflow.stopped_cleanly, (
        f"still running after SIGTERM and SIGKILL: {airflow.leftover_pids}"
    )

    for mart in MARTS:
        assert query(settings, f"select count(*) from {mart}")[0][0] > 0, mart
    assert query(
        settings,
        "select symbol, latest_price_date from mart.mart_stock_performance order by symbol",
    ) == [(symbol, DAY) for symbol in sorted(SYMBOLS)]
