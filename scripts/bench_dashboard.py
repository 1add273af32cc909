"""Times the dashboard's first page load in headless Chromium: from navigation start until
every chart is drawn, in a fresh browser profile on a freshly started server (which fills its
cache before it serves), and again in the same browser (its script cache warm), at the demo size
(15 symbols x 1 year) and at 500 symbols x 5 years. The machine's load average is printed beside
the figures, with the browser's CPU seconds for each load: on a shared machine wall time
stretches with the load, CPU time much less.

Each size gets its own throwaway database and bucket, filled by the pipeline itself (synthetic
prices through the loader, Faker OLTP) and built by dbt; the dashboard runs as a child process.

    .venv/bin/python scripts/bench_dashboard.py [--sizes 15x1 500x5] [--keep]

Needs the services up (`make services-up`) and Chromium (`make browser`).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.localdev import seaweedfs
from data_generator.reference.universe import synthetic_stocks
from data_generator.settings import Settings, load_settings
from data_generator.steps import transform
from data_generator.steps.day import ingest_day
from data_generator.steps.resources import open_resources
from data_generator.storage.warehouse import drop_database
from tests.support.browser import (
    browser_cpu_seconds,
    chromium,
    dashboard_server,
    load_until_charts_drawn,
)

DAY = date(2026, 11, 25)
LOADS = 3


def build(settings: Settings, symbols: int) -> float:
    """Ingest `symbols` synthetic stocks' history for DAY and build the marts; seconds taken."""
    started = time.perf_counter()
    stocks = synthetic_stocks(symbols)
    with open_resources(settings, DAY, stocks) as res:
        report = ingest_day(res, stocks, DAY, initialise=True)
    if report.failed:
        raise SystemExit(f"ingest failed for {report.failed}")
    transform.build(settings)
    return time.perf_counter() - started


def environ(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DASHBOARD_"))}
    return {**env, **settings.pg_environ()}


def bench(symbols: int, years: int, keep: bool) -> dict[str, float]:
    base = seaweedfs.ensure_s3(load_settings())
    settings = base.with_overrides(
        pg_database=f"fintrade_bench_dash_{secrets.token_hex(3)}",
        s3_bucket=f"bench-dash-{secrets.token_hex(4)}",
        history_days=years * 365,
    )
    try:
        build_seconds = build(settings, symbols)
        with (
            tempfile.TemporaryDirectory() as logs,
            dashboard_server(environ(settings), Path(logs)) as address,
            chromium() as driver,
        ):
            # The browser is already running when a person opens the page: start it first.
            driver.get("about:blank")
            loads, cpu = [], []
            for _ in range(LOADS):
                cpu_before = browser_cpu_seconds(driver)
                loads.append(load_until_charts_drawn(driver, address))
                cpu.append(browser_cpu_seconds(driver) - cpu_before)
            load_average = os.getloadavg()[0]
    finally:
        if keep:
            print(f"kept database {settings.pg_database}")
        else:
            drop_database(settings)
            shutil.rmtree(transform.run_dir(settings), ignore_errors=True)
    return {
        "build": build_seconds,
        "first": loads[0],
        "first_cpu": cpu[0],
        "cached": min(loads[1:]),
        "cached_cpu": min(cpu[1:]),
        "load": load_average,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["15x1", "500x5"])
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    args = parser.parse_args()
    print(
        f"{'symbols':>8} {'years':>5} {'build s':>8} {'first load ms':>14} {'cpu s':>6}"
        f" {'again ms':>9} {'cpu s':>6} {'load avg':>9}"
    )
    for size in args.sizes:
        symbols, years = (int(part) for part in size.split("x"))
        f = bench(symbols, years, args.keep)
        print(
            f"{symbols:>8} {years:>5} {f['build']:>8.1f} {f['first']:>14.0f}"
            f" {f['first_cpu']:>6.2f} {f['cached']:>9.0f} {f['cached_cpu']:>6.2f} {f['load']:>9.1f}"
        )


if __name__ == "__main__":
    main()
