"""Times the dbt build: a full build of the default dataset, and the daily incremental build at
one year against ten years of history, to check the daily cost stays flat as history grows.

Each size gets its own throwaway database and bucket, filled by the pipeline itself (synthetic
prices, Faker OLTP): `init` for the first day, a full build, then each following trading day is
ingested and the whole project rebuilt, as the daily pipeline does.

    .venv/bin/python scripts/bench_dbt.py [--years 1 10] [--daily-runs 2]

Needs the services up (`make services-up`).
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.localdev.services import load_run_settings
from data_generator.reference.trading_calendar import trading_days
from data_generator.reference.universe import select_stocks
from data_generator.settings import Settings
from data_generator.steps import transform
from data_generator.steps.day import ingest_day
from data_generator.steps.resources import open_resources
from data_generator.storage.warehouse import drop_database

FIRST_DAY = date(2026, 11, 16)
LAST_DAY = date(2026, 11, 25)
DBT_ELAPSED = re.compile(r"\(([\d.]+)s\)")


def load(settings: Settings, day: date, initialise: bool) -> int:
    stocks = select_stocks(settings.symbols, settings.universe_file)
    with open_resources(settings, day, stocks) as res:
        report = ingest_day(res, stocks, day, initialise=initialise)
    return sum(r.counts.inserted for r in report.results)


def timed_build(settings: Settings) -> tuple[float, float]:
    """Wall seconds of the dbt process (start-up and parse included) and dbt's own run time."""
    started = time.perf_counter()
    result = transform.build(settings)
    wall = time.perf_counter() - started
    match = DBT_ELAPSED.search(result.summary)
    return wall, float(match.group(1)) if match else float("nan")


def bench_history(years: int, daily_runs: int) -> dict[str, float]:
    base = load_run_settings()
    settings = base.with_overrides(
        pg_database=f"fintrade_bench_dbt_{secrets.token_hex(3)}",
        s3_bucket=f"bench-dbt-{secrets.token_hex(4)}",
        history_days=years * 365,
    )
    days = trading_days(FIRST_DAY, LAST_DAY)
    first, following = days[-daily_runs - 1], days[-daily_runs:]
    try:
        price_rows = load(settings, first, initialise=True)
        full_wall, full_dbt = timed_build(settings)
        daily = []
        for day in following:
            price_rows += load(settings, day, initialise=False)
            daily.append(timed_build(settings))
    finally:
        drop_database(settings)
    return {
        "price_rows": price_rows,
        "full_wall": full_wall,
        "full_dbt": full_dbt,
        "daily_wall": statistics.median(wall for wall, _ in daily),
        "daily_dbt": statistics.median(dbt for _, dbt in daily),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--daily-runs", type=int, default=2)
    args = parser.parse_args()

    figures = {years: bench_history(years, args.daily_runs) for years in args.years}
    print(f"{'history':>8} {'bars':>7} {'full build s':>14} {'daily build s':>15}")
    print(f"{'':>8} {'':>7} {'wall / dbt':>14} {'wall / dbt':>15}")
    for years, f in figures.items():
        print(
            f"{years:>7}y {f['price_rows']:>7} "
            f"{f['full_wall']:>6.1f} / {f['full_dbt']:<5.1f} "
            f"{f['daily_wall']:>7.1f} / {f['daily_dbt']:<5.1f}"
        )
    if len(figures) >= 2:
        first, last = min(figures), max(figures)
        ratio = figures[last]["daily_wall"] / figures[first]["daily_wall"]
        dbt_ratio = figures[last]["daily_dbt"] / figures[first]["daily_dbt"]
        print(f"daily build {last}y / {first}y: {ratio:.2f}x wall, {dbt_ratio:.2f}x dbt run time")


if __name__ == "__main__":
    main()
