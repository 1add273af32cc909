"""The nightly incremental build by what arrived (issue 27) against the previous release's
lookback window, side by side in one run on the same raw data, and what adding one stock with
its whole history costs against one night; prints the figures, asserts nothing.

The history is loaded once through the pipeline (synthetic source, as scripts/bench_scale_dbt.py
loads it) into a scratch database, then copied (PostgreSQL's template copy) for the baseline,
which is built with the dbt project of `--baseline-rev` (exported from git). Each night loads
into both databases (the baseline's from the same lake objects, as a rerun does), then each is
built, in alternating order. Last, a stock is added to the universe file and the night is run
again: only that stock's history is new.

Usage: .venv/bin/python scripts/bench_incremental.py [--symbols 5000] [--years 20]
           [--nights 2] [--baseline-rev bfaaeb4] [--workers 2] [--keep]
Goal: the nightly build no slower than the baseline's (ratio <= 1.0).
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from contextlib import closing
from datetime import date
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.localdev.processes import stop_pid
from data_generator.localdev.seaweedfs import start_seaweedfs
from data_generator.reference.scale_universe import write_universe
from data_generator.reference.trading_calendar import trading_days
from data_generator.reference.universe import select_stocks
from data_generator.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Settings, load_settings
from data_generator.steps import transform
from data_generator.steps.resources import open_resources, prepare_resources
from data_generator.storage.warehouse import connect, drop_database
from scripts.bench_scale_dbt import (
    DAILY_HISTORY_DAYS,
    LAST_DAY,
    analyze,
    history_settings,
    load_day,
)
from tests.support.ports import free_port_base

ADDED_LINE = "ZZNEW,Added Later Inc.,Information Technology,NASDAQ,USD\n"


def export_project(rev: str, into: Path) -> Path:
    """The dbt project as it was at `rev`, from git."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, "dbt/fintrade"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "dbt" / "fintrade"


def copy_database(settings: Settings, name: str) -> Settings:
    with closing(connect(settings.with_overrides(pg_database="postgres"))) as admin:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'create database "{name}" template "{settings.pg_database}"')
    return settings.with_overrides(pg_database=name)


def timed(settings: Settings, project_dir: Path) -> float:
    started = time.perf_counter()
    transform.build(settings, project_dir=project_dir)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=5000)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--nights", type=int, default=2)
    parser.add_argument("--baseline-rev", default="bfaaeb4", help="the lookback-window release")
    parser.add_argument("--workers", type=int, default=2, help="loading processes (task slots)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    args = parser.parse_args()
    base = load_settings()
    with tempfile.TemporaryDirectory(prefix="bench-incremental-") as work:
        work_dir = Path(work)
        baseline_project = export_project(args.baseline_rev, work_dir / "baseline")
        universe = work_dir / "universe.csv"
        write_universe(universe, args.symbols)
        port = free_port_base()
        access_key, secret_key = f"bench{secrets.token_hex(4)}", secrets.token_hex(16)
        pid = start_seaweedfs(work_dir / "s3", port, access_key, secret_key)
        created: list[Settings] = []
        try:
            lake = base.with_overrides(
                aws_endpoint_url=f"http://127.0.0.1:{port}",
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                local_state_dir=work_dir / "state",
            )
            current = history_settings(lake, universe, args.years)
            created.append(current)
            days = trading_days(date(LAST_DAY.year, LAST_DAY.month, 1), LAST_DAY)
            first, nights = days[-args.nights - 1], days[-args.nights :]
            started = time.perf_counter()
            bars = load_day(current, first, first=True, workers=args.workers)
            print(f"{bars:,} bars loaded in {time.perf_counter() - started:.0f} s", flush=True)
            analyze(current)
            baseline = copy_database(current, f"{current.pg_database}_baseline")
            created.append(baseline)
            full = {
                "current": timed(current, DBT_PROJECT_DIR),
                "baseline": timed(baseline, baseline_project),
            }
            print(f"full builds: {full}", flush=True)
            seconds: dict[str, list[float]] = {"current": [], "baseline": []}
            for index, night in enumerate(nights):
                for settings in (current, baseline):
                    daily = settings.with_overrides(history_days=DAILY_HISTORY_DAYS)
                    load_day(daily, night, first=False, workers=args.workers)
                    analyze(settings)
                order = [("current", current), ("baseline", baseline)]
                for label, settings in order if index % 2 == 0 else order[::-1]:
                    project = DBT_PROJECT_DIR if label == "current" else baseline_project
                    seconds[label].append(timed(settings, project))
                    print(f"{night} {label}: {seconds[label][-1]:.1f} s", flush=True)
            universe.write_text(universe.read_text() + ADDED_LINE)
            stocks = select_stocks(None, universe)
            with open_resources(current, nights[-1], stocks) as res:
                prepare_resources(res, stocks)
            load_day(current, nights[-1], first=False, workers=args.workers)
            analyze(current)
            added = timed(current, DBT_PROJECT_DIR)
        finally:
            for settings in created:
                if args.keep:
                    print(f"kept {settings.pg_database}")
                else:
                    drop_database(settings)
                    shutil.rmtree(transform.run_dir(settings), ignore_errors=True)
            stop_pid(pid, "SeaweedFS")
    now, before = statistics.median(seconds["current"]), statistics.median(seconds["baseline"])
    print(f"\n{args.symbols:,} symbols x {args.years} years: {bars:,} bars")
    print(f"full build: current {full['current']:.1f} s, baseline {full['baseline']:.1f} s")
    print(f"nightly build (median of {args.nights}): current {now:.1f} s, baseline {before:.1f} s")
    print(f"nightly ratio current / baseline: {now / before:.2f}x (goal <= 1.0x)")
    print(f"adding one stock with {args.years} years: {added:.1f} s = {added / now:.2f}x a night")


if __name__ == "__main__":
    main()
