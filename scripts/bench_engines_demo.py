"""The demo day's dbt builds on both engines (issue 22), side by side in one run: PostgreSQL
from its raw tables, DuckDB from the lake; prints the figures, asserts nothing.

One scratch database and bucket on a SeaweedFS this script starts and stops; the demo day
(2026-11-24, a year of history for the fifteen default stocks, as `fintrade run` loads it) is
loaded once through the pipeline. Each round then makes a full build on each engine (PostgreSQL
`--full-refresh`; DuckDB into a new file, which also reads the whole lake), then the build again
on each (incremental models re-read their window); the engines alternate which goes first.

Usage: .venv/bin/python scripts/bench_engines_demo.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.localdev.processes import stop_pid
from data_generator.localdev.seaweedfs import start_seaweedfs
from data_generator.reference.universe import select_stocks
from data_generator.settings import Engine, Settings, load_settings
from data_generator.steps import transform
from data_generator.steps.day import ingest_day
from data_generator.steps.resources import open_resources
from data_generator.storage.warehouse import create_database_if_missing, drop_database
from tests.support.ports import free_port_base

DEMO_DAY = date(2026, 11, 24)


def timed(build: Callable[[], object]) -> float:
    started = time.perf_counter()
    build()
    return time.perf_counter() - started


def build_again(settings: Settings, engine: Engine) -> float:
    return timed(lambda: transform.build(settings, engine=engine))


def full_build(settings: Settings, engine: Engine) -> float:
    if engine is Engine.DUCKDB:
        settings.duckdb_file.unlink(missing_ok=True)
        return timed(lambda: transform.build(settings, engine=engine))
    return timed(lambda: transform.build(settings, full_refresh=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engines = [Engine.POSTGRES, Engine.DUCKDB]
    full: dict[Engine, list[float]] = {engine: [] for engine in engines}
    again: dict[Engine, list[float]] = {engine: [] for engine in engines}
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as work:
        work_dir = Path(work)
        port = free_port_base()
        access_key, secret_key = f"bench{secrets.token_hex(4)}", secrets.token_hex(16)
        pid = start_seaweedfs(work_dir / "s3", port, access_key, secret_key)
        tag = secrets.token_hex(3)
        settings = load_settings().with_overrides(
            pg_database=f"bench_engines_{tag}",
            s3_bucket=f"bench-engines-{tag}",
            aws_endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            local_state_dir=work_dir / "state",
            duckdb_path=work_dir / "fintrade.duckdb",
        )
        try:
            create_database_if_missing(settings)
            stocks = select_stocks(None, settings.universe_file)
            with open_resources(settings, DEMO_DAY, stocks) as res:
                ingest_day(res, stocks, DEMO_DAY, initialise=True)
            for round_number in range(args.rounds):
                order = engines if round_number % 2 == 0 else engines[::-1]
                for engine in order:
                    full[engine].append(full_build(settings, engine))
                    print(f"round {round_number + 1}: {engine} full {full[engine][-1]:.1f} s")
                for engine in order:
                    again[engine].append(build_again(settings, engine))
                    print(f"round {round_number + 1}: {engine} again {again[engine][-1]:.1f} s")
        finally:
            drop_database(settings)
            shutil.rmtree(transform.run_dir(settings), ignore_errors=True)
            shutil.rmtree(transform.run_dir(settings, Engine.DUCKDB), ignore_errors=True)
            stop_pid(pid, "SeaweedFS")
    print(f"\ndemo day {DEMO_DAY}, {args.rounds} rounds (seconds, median and rounds)")
    for label, figures in (("full build", full), ("build again", again)):
        for engine in engines:
            rounds = ", ".join(f"{s:.1f}" for s in figures[engine])
            median = statistics.median(figures[engine])
            print(f"  {label:>11} {engine:>8}: {median:6.1f} ({rounds})")
        ratio = statistics.median(figures[Engine.DUCKDB]) / statistics.median(
            figures[Engine.POSTGRES]
        )
        print(f"  {label:>11} duckdb / postgres: {ratio:.2f}x")


if __name__ == "__main__":
    main()
