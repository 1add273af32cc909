"""Compiled bytecode, and the real scheduler against `airflow dags test`, side by side.

Builds two throwaway venvs from uv.lock, one as plain `uv sync --frozen` and one as `make`
installs it (`--compile-bytecode`), and in each times `dbt --version`, `import airflow.sdk`,
`airflow dags test` of one date, and one run of the same date under `make airflow` (scheduler,
dag-processor, api-server), triggered through the REST API. Every DAG run gets a fresh database,
bucket and Airflow home. For the scheduler path it reads each task's queued, start and end time
from the metadata database, to show where the run spends time outside its tasks.

    .venv/bin/python scripts/bench_scheduler.py [--date 2026-01-05] [--symbols AAPL,MSFT]

Needs PostgreSQL (PG*, default 127.0.0.1:5432); starts its own SeaweedFS on 127.0.0.1.
PYTHONDONTWRITEBYTECODE=1 is set for every child, so the plain venv stays uncompiled.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.localdev.processes import stop_pid
from data_generator.localdev.seaweedfs import start_seaweedfs
from data_generator.settings import load_settings
from data_generator.storage.warehouse import create_database_if_missing, drop_database
from tests.support.airflow_client import DAG_ID, dags_test_environ
from tests.support.local_airflow import REPO_ROOT, airflow_environ, running_airflow
from tests.support.ports import free_port_base

PROJECT_PREFIXES = ("AIRFLOW", "PG", "AWS_", "S3_", "FINTRADE_", "ALPHA_VANTAGE_")
VENV_KINDS = {"plain": ["--frozen"], "compiled": ["--frozen", "--compile-bytecode"]}
REPEATS = 3
# uv as the Makefile finds it: on PATH, else the system Python's module.
UV = [shutil.which("uv")] if shutil.which("uv") else ["python3", "-m", "uv"]


@dataclass(frozen=True)
class TaskTimes:
    task_id: str
    queued: datetime | None
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass
class RunTimes:
    """One DAG run's tasks as the metadata database saw them."""

    start: datetime
    end: datetime
    tasks: list[TaskTimes]

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def idle_seconds(self) -> float:
        """Time inside the run with no task running: scheduling, queueing, process start-up."""
        busy, covered_until = 0.0, self.start
        for task in sorted(self.tasks, key=lambda t: t.start):
            begin = max(task.start, covered_until)
            if task.end > begin:
                busy += (task.end - begin).total_seconds()
                covered_until = task.end
        return self.seconds - busy

    def queue_wait_seconds(self) -> float:
        """Sum over tasks of queued -> started: the executor picking the task up."""
        return sum((t.start - t.queued).total_seconds() for t in self.tasks if t.queued)

    def per_task(self) -> dict[str, float]:
        totals: dict[str, float] = defaultdict(float)
        for task in self.tasks:
            totals[task.task_id] += task.seconds
        return dict(totals)


@dataclass
class VenvFigures:
    sync_seconds: float
    dbt_version_seconds: float = 0.0
    import_sdk_seconds: float = 0.0
    dags_test_seconds: float = 0.0
    dags_test_run: RunTimes | None = None
    scheduler_ready_seconds: float = 0.0
    scheduler_trigger_to_end_seconds: float = 0.0
    scheduler_run: RunTimes | None = None
    notes: list[str] = field(default_factory=list)


def _utc(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def read_run(home: Path, run_id: str | None = None) -> RunTimes:
    """The (only or named) run's task instances, from the home's SQLite. The run's window is its
    first task's start to its last task's end: `dags test` stores no real start for its run."""
    with sqlite3.connect(home / "airflow.db") as db:
        where, params = ("where run_id = ?", (run_id,)) if run_id else ("", ())
        (found_run_id,) = db.execute(f"select run_id from dag_run {where}", params).fetchone()
        rows = db.execute(
            "select task_id, queued_dttm, start_date, end_date from task_instance "
            "where run_id = ? and start_date is not null and end_date is not null",
            (found_run_id,),
        ).fetchall()
    tasks = [
        TaskTimes(t, _utc(q), datetime.fromisoformat(s), datetime.fromisoformat(e))
        for t, q, s, e in rows
    ]
    return RunTimes(min(t.start for t in tasks), max(t.end for t in tasks), tasks)


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return time.monotonic() - started


def build_venv(path: Path, uv_args: list[str], env: dict[str, str]) -> float:
    """`uv sync` into `path`, stamped as `make` stamps its venv so `make` will not re-sync it."""
    seconds = timed(
        [*UV, "sync", *uv_args],
        {**env, "UV_PROJECT_ENVIRONMENT": str(path)},
    )
    (path / ".synced").touch()
    return seconds


@contextmanager
def s3_server(folder: Path) -> Iterator[dict[str, str]]:
    base = free_port_base()
    access_key, secret_key = f"bench{secrets.token_hex(4)}", secrets.token_hex(20)
    pid = start_seaweedfs(folder, base, access_key, secret_key)
    try:
        yield {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{base}",
            "AWS_ACCESS_KEY_ID": access_key,
            "AWS_SECRET_ACCESS_KEY": secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    finally:
        stop_pid(pid, "SeaweedFS")


@contextmanager
def fresh_warehouse(base_env: dict[str, str], state_dir: Path) -> Iterator[dict[str, str]]:
    """A new database and bucket name for one DAG run, dropped afterwards."""
    database = f"fintrade_sched_bench_{secrets.token_hex(4)}"
    warehouse = load_settings().with_overrides(pg_database=database)
    create_database_if_missing(warehouse)
    try:
        yield {
            **base_env,
            **warehouse.pg_environ(),
            "S3_BUCKET": f"bench-{secrets.token_hex(4)}",
            "FINTRADE_STATE_DIR": str(state_dir),
        }
    finally:
        drop_database(warehouse)


def dags_test(venv: Path, env: dict[str, str], home: Path, day: date) -> tuple[float, RunTimes]:
    airflow_env = dags_test_environ(env, home, venv / "bin")
    airflow = str(venv / "bin" / "airflow")
    timed([airflow, "db", "migrate"], airflow_env)
    seconds = timed([airflow, "dags", "test", DAG_ID, day.isoformat()], airflow_env)
    return seconds, read_run(home)


def scheduler_run(
    venv: Path, env: dict[str, str], home: Path, day: date, figures: VenvFigures
) -> None:
    started = time.monotonic()
    run_env = {**env, "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
    with running_airflow(run_env, home, venv) as airflow:
        airflow.api.wait_for_dag(DAG_ID, timeout_seconds=300)
        figures.scheduler_ready_seconds = time.monotonic() - started
        airflow.api.set_paused(DAG_ID, False)
        run_id = f"bench_{day.isoformat()}"
        triggered = time.monotonic()
        airflow.api.trigger(DAG_ID, run_id, day)
        run = airflow.api.wait_for_runs(DAG_ID, [run_id], timeout_seconds=1800)[run_id]
        figures.scheduler_trigger_to_end_seconds = time.monotonic() - triggered
        if run["state"] != "success":
            figures.notes.append(f"scheduler run {run['state']}")
        figures.scheduler_run = read_run(home, run_id)


def measure(kind: str, root: Path, base_env: dict[str, str], day: date) -> VenvFigures:
    venv = root / f"venv-{kind}"
    print(f"[{kind}] uv sync {' '.join(VENV_KINDS[kind])}", flush=True)
    figures = VenvFigures(sync_seconds=build_venv(venv, VENV_KINDS[kind], base_env))
    figures.dbt_version_seconds = statistics.median(
        timed([str(venv / "bin" / "dbt"), "--version"], base_env) for _ in range(REPEATS)
    )
    figures.import_sdk_seconds = statistics.median(
        timed([str(venv / "bin" / "python"), "-c", "import airflow.sdk"], base_env)
        for _ in range(REPEATS)
    )
    print(f"[{kind}] airflow dags test {day}", flush=True)
    with fresh_warehouse(base_env, root / f"state-{kind}-dags-test") as env:
        figures.dags_test_seconds, figures.dags_test_run = dags_test(
            venv, env, root / f"home-{kind}-dags-test", day
        )
    print(f"[{kind}] make airflow, one REST-triggered run of {day}", flush=True)
    with fresh_warehouse(base_env, root / f"state-{kind}-scheduler") as env:
        scheduler_run(venv, env, root / f"home-{kind}-scheduler", day, figures)
    return figures


def _recorded(run: RunTimes | None) -> RunTimes:
    if run is None:
        raise RuntimeError("a benchmark step recorded no Airflow run")
    return run


def report(figures: dict[str, VenvFigures], load: tuple[float, float]) -> None:
    kinds = list(figures)

    def row(label: str, values: list[float | None]) -> None:
        cells = "".join(f"{'-' if v is None else f'{v:.1f}':>12}" for v in values)
        print(f"{label:46}{cells}")

    print(f"\nseconds; 1-min load average {load[0]:.1f} at start, {load[1]:.1f} at end")
    print(f"{'':46}{''.join(f'{k:>12}' for k in kinds)}")
    row("uv sync into an empty venv", [f.sync_seconds for f in figures.values()])
    row(f"dbt --version (median of {REPEATS})", [f.dbt_version_seconds for f in figures.values()])
    row(
        f"python -c 'import airflow.sdk' (median of {REPEATS})",
        [f.import_sdk_seconds for f in figures.values()],
    )
    row("airflow dags test: the command", [f.dags_test_seconds for f in figures.values()])
    row(
        "  first task start -> last task end",
        [_recorded(f.dags_test_run).seconds for f in figures.values()],
    )
    row(
        "  in there, no task running",
        [_recorded(f.dags_test_run).idle_seconds() for f in figures.values()],
    )
    row(
        "  sum of task durations",
        [sum(_recorded(f.dags_test_run).per_task().values()) for f in figures.values()],
    )
    row(
        "make airflow: start -> healthy, DAG registered",
        [f.scheduler_ready_seconds for f in figures.values()],
    )
    row(
        "  REST trigger -> run finished",
        [f.scheduler_trigger_to_end_seconds for f in figures.values()],
    )
    row(
        "  first task start -> last task end",
        [_recorded(f.scheduler_run).seconds for f in figures.values()],
    )
    row(
        "  in there, no task running",
        [_recorded(f.scheduler_run).idle_seconds() for f in figures.values()],
    )
    row(
        "  sum of task durations (2 run at once)",
        [sum(_recorded(f.scheduler_run).per_task().values()) for f in figures.values()],
    )
    row(
        "  sum of queued -> started over tasks",
        [_recorded(f.scheduler_run).queue_wait_seconds() for f in figures.values()],
    )
    for kind, f in figures.items():
        for note in f.notes:
            print(f"note ({kind}): {note}")

    print("\ntask seconds (summed over mapped instances): dags test | scheduler, per venv")
    task_ids = list(
        dict.fromkeys(t.task_id for f in figures.values() for t in _recorded(f.dags_test_run).tasks)
    )
    print(f"{'':30}" + "".join(f"{k + ' dt':>14}{k + ' sch':>14}" for k in kinds))
    for task_id in task_ids:
        cells = ""
        for f in figures.values():
            cells += f"{_recorded(f.dags_test_run).per_task().get(task_id, 0.0):14.1f}"
            cells += f"{_recorded(f.scheduler_run).per_task().get(task_id, 0.0):14.1f}"
        print(f"{task_id:30}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 1, 5))
    parser.add_argument("--symbols", default="", help="comma list; default the whole universe")
    args = parser.parse_args()

    load_at_start = os.getloadavg()[0]
    base_env = airflow_environ(
        {k: v for k, v in os.environ.items() if not k.startswith(PROJECT_PREFIXES)}
    )
    base_env.update(
        {
            "PYTHONDONTWRITEBYTECODE": "1",
            "FINTRADE_PRICE_SOURCE": "synthetic",
            "FINTRADE_SYMBOLS": args.symbols,
            **{k: v for k, v in os.environ.items() if k.startswith("PG")},
        }
    )
    with tempfile.TemporaryDirectory(prefix="fintrade-bench-scheduler-") as tmp:
        root = Path(tmp)
        with s3_server(root / "s3") as s3_env:
            base_env.update(s3_env)
            figures = {kind: measure(kind, root, base_env, args.date) for kind in VENV_KINDS}
    report(figures, (load_at_start, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
