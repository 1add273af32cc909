"""One daily run under the real scheduler, by universe size and executor, side by side.

For each universe size (`--symbols 15,500`) and executor (`--executor local,celery`) it writes a
universe file of that many stocks (the reference fifteen, then made-up tickers:
`universe.synthetic_stocks`), starts `make airflow` (with `EXECUTOR=celery CELERY_WORKERS=K` for
Celery, and a project-local Redis on a free port) on a free port with a fresh database, bucket
and Airflow home, triggers one logical date through the REST API and prints the wall time from
trigger to finished, with where the run spent it (from the metadata database).

    .venv/bin/python scripts/bench_scale_scheduler.py --symbols 15,500 --executor local,celery \\
        --workers 2 [--date 2026-01-05] [--parallelism 2] [--db-prefix fintrade_scale_bench]

Needs PostgreSQL (PG*, default 127.0.0.1:5432) and, for Celery, redis-server; starts its own
SeaweedFS on 127.0.0.1. Every database it creates is dropped again.
"""

from __future__ import annotations

import argparse
import csv
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.reference.universe import synthetic_stocks
from data_generator.settings import load_settings
from data_generator.storage.warehouse import create_database_if_missing, drop_database
from scripts.bench_scheduler import PROJECT_PREFIXES, RunTimes, read_run, s3_server
from tests.support.airflow_client import DAG_ID
from tests.support.local_airflow import (
    Executor,
    airflow_environ,
    running_airflow,
)
from tests.support.ports import free_port

UNIVERSE_COLUMNS = ("symbol", "company_name", "sector", "exchange", "currency")
RUN_TIMEOUT_SECONDS = 4 * 3600


@dataclass(frozen=True)
class Case:
    symbols: int
    executor: Executor
    workers: int

    @property
    def label(self) -> str:
        workers = f" x{self.workers}" if self.executor is Executor.CELERY else ""
        return f"{self.symbols} sym, {self.executor}{workers}"


@dataclass
class Figures:
    ready_seconds: float
    trigger_to_end_seconds: float
    state: str
    run: RunTimes


def write_universe(path: Path, count: int) -> None:
    """A universe CSV of `count` stocks, in the reference file's columns."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(UNIVERSE_COLUMNS)
        for stock in synthetic_stocks(count):
            writer.writerow([getattr(stock, column) for column in UNIVERSE_COLUMNS])


@contextmanager
def fresh_warehouse(base_env: dict[str, str], prefix: str, folder: Path) -> Iterator[dict]:
    """A new database, bucket and state folder for one run; the database is dropped after."""
    warehouse = load_settings().with_overrides(pg_database=f"{prefix}_{secrets.token_hex(4)}")
    create_database_if_missing(warehouse)
    try:
        yield {
            **base_env,
            **warehouse.pg_environ(),
            "S3_BUCKET": f"bench-{secrets.token_hex(4)}",
            "FINTRADE_STATE_DIR": str(folder / "state"),
        }
    finally:
        drop_database(warehouse)


def measure(case: Case, base_env: dict[str, str], args: argparse.Namespace, root: Path) -> Figures:
    folder = root / f"{case.symbols}-{case.executor}-{case.workers}"
    folder.mkdir(parents=True)
    universe = folder / "universe.csv"
    write_universe(universe, case.symbols)
    print(f"[{case.label}] make airflow, one REST-triggered run of {args.date}", flush=True)
    with fresh_warehouse(base_env, args.db_prefix, folder) as env:
        env |= {
            "FINTRADE_UNIVERSE_FILE": str(universe),
            "FINTRADE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        }
        started = time.monotonic()
        slots = str(args.parallelism)
        with running_airflow(
            env,
            folder / "airflow",
            Path(sys.prefix),
            executor=case.executor,
            celery_workers=case.workers,
            make_variables={
                "AIRFLOW__CORE__PARALLELISM": slots,
                "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": slots,
            },
        ) as airflow:
            airflow.api.wait_for_dag(DAG_ID, timeout_seconds=600)
            ready = time.monotonic() - started
            airflow.api.set_paused(DAG_ID, False)
            run_id = f"bench_{args.date.isoformat()}"
            triggered = time.monotonic()
            airflow.api.trigger(DAG_ID, run_id, args.date)
            run = airflow.api.wait_for_runs(DAG_ID, [run_id], RUN_TIMEOUT_SECONDS)[run_id]
            elapsed = time.monotonic() - triggered
        return Figures(ready, elapsed, run["state"], read_run(folder / "airflow", run_id))


def report(figures: dict[Case, Figures], load: tuple[float, float], parallelism: int) -> None:
    def row(label: str, values: list[str]) -> None:
        print(f"{label:40}" + "".join(f"{value:>22}" for value in values))

    print(
        f"\nseconds; task slots (parallelism) {parallelism}; "
        f"1-min load average {load[0]:.1f} at start, {load[1]:.1f} at end"
    )
    row("", [case.label for case in figures])
    row("run state", [f.state for f in figures.values()])
    row(
        "make airflow: start -> DAG registered",
        [f"{f.ready_seconds:.1f}" for f in figures.values()],
    )
    row(
        "REST trigger -> run finished",
        [f"{f.trigger_to_end_seconds:.1f}" for f in figures.values()],
    )
    row("  first task start -> last task end", [f"{f.run.seconds:.1f}" for f in figures.values()])
    row("  in there, no task running", [f"{f.run.idle_seconds():.1f}" for f in figures.values()])
    row(
        "  sum of task durations",
        [f"{sum(f.run.per_task().values()):.1f}" for f in figures.values()],
    )
    row(
        "  sum of queued -> started",
        [f"{f.run.queue_wait_seconds():.1f}" for f in figures.values()],
    )
    row("  task instances", [str(len(f.run.tasks)) for f in figures.values()])
    baseline = {
        executor: next((f for c, f in figures.items() if c.executor == executor), None)
        for executor in Executor
    }
    row(
        "trigger -> finished / first size's",
        [
            f"{f.trigger_to_end_seconds / base.trigger_to_end_seconds:.2f}x"
            if (base := baseline[case.executor])
            else "-"
            for case, f in figures.items()
        ],
    )

    print("\ntask seconds (summed over mapped instances)")
    task_ids = list(dict.fromkeys(t.task_id for f in figures.values() for t in f.run.tasks))
    for task_id in task_ids:
        row(task_id, [f"{f.run.per_task().get(task_id, 0.0):.1f}" for f in figures.values()])


def _counts(raw: str) -> list[int]:
    try:
        counts = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma list of whole numbers: {raw!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"symbol counts must be at least 1: {raw!r}")
    return counts


def _executors(raw: str) -> list[Executor]:
    try:
        return [Executor(part.strip()) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"executors are local and celery, got {raw!r}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=_counts, default=[15], help="comma list, e.g. 15,500")
    parser.add_argument("--executor", type=_executors, default=list(Executor))
    parser.add_argument("--workers", type=int, default=1, help="Celery workers")
    parser.add_argument("--parallelism", type=int, default=2, help="task slots, all executors")
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 1, 5))
    parser.add_argument("--db-prefix", default="fintrade_scale_bench")
    args = parser.parse_args()

    load_at_start = os.getloadavg()[0]
    base_env = airflow_environ(
        {k: v for k, v in os.environ.items() if not k.startswith(PROJECT_PREFIXES)}
    )
    base_env.update(
        {
            "FINTRADE_PRICE_SOURCE": "synthetic",
            **{k: v for k, v in os.environ.items() if k.startswith("PG")},
        }
    )
    cases = [
        Case(symbols, executor, args.workers if executor is Executor.CELERY else 1)
        for symbols in args.symbols
        for executor in args.executor
    ]
    with tempfile.TemporaryDirectory(prefix="fintrade-bench-scale-") as tmp:
        root = Path(tmp)
        with s3_server(root / "s3") as s3_env:
            base_env.update(s3_env)
            figures = {case: measure(case, base_env, args, root) for case in cases}
    report(figures, (load_at_start, os.getloadavg()[0]), args.parallelism)


if __name__ == "__main__":
    main()
