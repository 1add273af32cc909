"""Time `airflow dags test fintrade_pipeline` on the default dataset and show where time goes.

Runs against a fresh database on the PostgreSQL that PG* point at (default 127.0.0.1:5432) and a
SeaweedFS of its own on 127.0.0.1, with SQLite metadata in a temporary Airflow home; prints the
wall time of the whole command and each task's duration, grouped by step.

    .venv/bin/python scripts/bench_dag.py [--date 2026-01-05] [--symbols AAPL,MSFT] [--runs 2]
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.localdev.processes import stop_pid
from data_generator.localdev.seaweedfs import start_seaweedfs
from data_generator.settings import load_settings
from data_generator.storage.warehouse import create_database_if_missing, drop_database
from tests.support.airflow_client import (
    DAG_ID,
    cli_task_instances,
    dags_test,
    dags_test_environ,
    error_lines,
)
from tests.support.ports import free_port_base

AIRFLOW = Path(sys.executable).parent / "airflow"


def _task_durations(env: dict[str, str], day: date) -> dict[str, float]:
    """Seconds per task, summed over a mapped task's instances."""
    totals: dict[str, float] = defaultdict(float)
    for row in cli_task_instances(AIRFLOW, env, DAG_ID, day):
        if row["start_date"] and row["end_date"]:
            spent = datetime.fromisoformat(row["end_date"]) - datetime.fromisoformat(
                row["start_date"]
            )
            totals[row["task_id"]] += spent.total_seconds()
    return dict(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 1, 5))
    parser.add_argument("--symbols", default="", help="comma list; default the whole universe")
    parser.add_argument("--runs", type=int, default=1, help="repeat runs of the same date")
    args = parser.parse_args()

    database = f"fintrade_af_bench_{secrets.token_hex(4)}"
    warehouse = load_settings().with_overrides(pg_database=database)
    access_key, secret_key = f"bench{secrets.token_hex(4)}", secrets.token_hex(20)
    s3_port = free_port_base()
    with tempfile.TemporaryDirectory(prefix="fintrade-bench-dag-") as tmp:
        home = Path(tmp) / "airflow"
        project = ("AWS_", "S3_", "FINTRADE_", "ALPHA_VANTAGE_")
        env = dags_test_environ(
            {k: v for k, v in os.environ.items() if not k.startswith(project)},
            home,
            AIRFLOW.parent,
        )
        env.update(
            {
                "PGDATABASE": database,
                "S3_BUCKET": "fintrade-bench",
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
                "AWS_ACCESS_KEY_ID": access_key,
                "AWS_SECRET_ACCESS_KEY": secret_key,
                "AWS_DEFAULT_REGION": "us-east-1",
                "FINTRADE_PRICE_SOURCE": "synthetic",
                "ALPHA_VANTAGE_API_KEY": "",
                "FINTRADE_SYMBOLS": args.symbols,
                "FINTRADE_STATE_DIR": str(Path(tmp) / "state"),
            }
        )
        subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, check=True, capture_output=True)
        pid = start_seaweedfs(Path(tmp) / "s3", s3_port, access_key, secret_key)
        try:
            create_database_if_missing(warehouse)
            for run in range(1, args.runs + 1):
                started = time.monotonic()
                result = dags_test(AIRFLOW, env, args.date)
                wall = time.monotonic() - started
                durations = _task_durations(env, args.date)
                print(f"run {run}: exit {result.returncode}, {wall:.1f} s wall")
                if result.returncode != 0:
                    print(error_lines(result))
                for task_id, seconds in sorted(durations.items(), key=lambda kv: -kv[1]):
                    print(f"  {task_id:32} {seconds:6.1f} s")
                print(
                    f"  {'(Airflow: parse, start-up, scheduling)':32} "
                    f"{wall - sum(durations.values()):6.1f} s"
                )
        finally:
            stop_pid(pid, "SeaweedFS")
            drop_database(warehouse)


if __name__ == "__main__":
    main()
