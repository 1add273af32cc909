"""Time `airflow dags test fintrade_pipeline` on the default dataset and show where time goes.

Runs against a fresh database on the PostgreSQL that PG* point at (default 127.0.0.1:5432) and a
SeaweedFS of its own on 127.0.0.1, with SQLite metadata in a temporary Airflow home; prints the
wall time of the whole command and each task's duration, grouped by step.

    .venv/bin/python scripts/bench_dag.py [--date 2026-01-05] [--symbols AAPL,MSFT] [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

from data_generator.localdev.seaweedfs import start_seaweedfs
from data_generator.settings import load_settings
from data_generator.storage.warehouse import create_database_if_missing, drop_database

REPO_ROOT = Path(__file__).resolve().parent.parent
AIRFLOW = Path(sys.executable).parent / "airflow"
S3_BASE_PORT = 18350


def _task_durations(env: dict[str, str], day: date) -> dict[str, float]:
    listed = subprocess.run(
        [
            str(AIRFLOW),
            "tasks",
            "states-for-dag-run",
            "fintrade_pipeline",
            f"{day.isoformat()}T00:00:00+00:00",
            "--output",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    totals: dict[str, float] = defaultdict(float)
    for row in json.loads(listed.stdout[listed.stdout.index("[") :]):
        if row["start_date"] and row["end_date"]:
            spent = datetime.fromisoformat(row["end_date"]) - datetime.fromisoformat(
                row["start_date"]
            )
            totals[row["task_id"]] += spent.total_seconds()
    return dict(totals)


def _stop(pid: int) -> None:
    """SIGTERM, then SIGKILL: weed mini can hang on shutdown once its folder is gone."""
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        time.sleep(0.2)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
    os.kill(pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 1, 5))
    parser.add_argument("--symbols", default="", help="comma list; default the whole universe")
    parser.add_argument("--runs", type=int, default=1, help="repeat runs of the same date")
    args = parser.parse_args()

    database = f"fintrade_af_bench_{secrets.token_hex(4)}"
    warehouse = load_settings().with_overrides(pg_database=database)
    access_key, secret_key = f"bench{secrets.token_hex(4)}", secrets.token_hex(20)
    with tempfile.TemporaryDirectory(prefix="fintrade-bench-dag-") as tmp:
        home = Path(tmp) / "airflow"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW", "AWS_", "S3_", "FINTRADE_", "ALPHA_VANTAGE_"))
        }
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "airflow" / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "PATH": f"{AIRFLOW.parent}{os.pathsep}{env.get('PATH', '')}",
                "PGDATABASE": database,
                "S3_BUCKET": "fintrade-bench",
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{S3_BASE_PORT}",
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
        pid = start_seaweedfs(Path(tmp) / "s3", S3_BASE_PORT, access_key, secret_key)
        try:
            create_database_if_missing(warehouse)
            for run in range(1, args.runs + 1):
                started = time.monotonic()
                result = subprocess.run(
                    [str(AIRFLOW), "dags", "test", "fintrade_pipeline", args.date.isoformat()],
                    env=env,
                    cwd=REPO_ROOT,
                    capture_output=True,
                    text=True,
                )
                wall = time.monotonic() - started
                durations = _task_durations(env, args.date)
                print(f"run {run}: exit {result.returncode}, {wall:.1f} s wall")
                if result.returncode != 0:
                    print("\n".join(line for line in result.stdout.splitlines() if "Error" in line))
                for task_id, seconds in sorted(durations.items(), key=lambda kv: -kv[1]):
                    print(f"  {task_id:32} {seconds:6.1f} s")
                print(
                    f"  {'(Airflow: parse, start-up, scheduling)':32} "
                    f"{wall - sum(durations.values()):6.1f} s"
                )
        finally:
            _stop(pid)
            drop_database(warehouse)


if __name__ == "__main__":
    main()
