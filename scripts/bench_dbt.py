"""Times the dbt build: a full build of the default dataset, and the daily incremental build at
one year against ten years of history, to check the daily cost stays flat as history grows.

Each size gets its own throwaway database: the history minus its last days is built once, then
each held-back day is loaded and the whole project rebuilt, as the daily pipeline does.

    uv run python scripts/bench_dbt.py [--years 1 10] [--daily-runs 2]

Until the pipeline's own generator is used here, the raw rows come from the contract-shaped
builder of the dbt tests (tests/raw_seed.py).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from raw_seed import RawRows, create_database, drop_database, insert_raw_rows, make_raw_rows

from data_generator import transform
from data_generator.config import load_settings

SESSIONS_PER_YEAR = 252
DBT_ELAPSED = re.compile(r"\(([\d.]+)s\)")


def timed_build(settings, **kwargs) -> tuple[float, float]:
    """Wall seconds of the dbt process (start-up and parse included) and dbt's own run time."""
    started = time.perf_counter()
    result = transform.build(settings, **kwargs)
    wall = time.perf_counter() - started
    match = DBT_ELAPSED.search(result.summary)
    return wall, float(match.group(1)) if match else float("nan")


def bench_history(years: int, daily_runs: int) -> dict[str, float]:
    rows = make_raw_rows(days=years * SESSIONS_PER_YEAR)
    days = sorted({row[1] for row in rows.daily_prices})
    held_back = days[-daily_runs:]
    initial = RawRows(
        rows.stocks,
        [row for row in rows.daily_prices if row[1] < held_back[0]],
        rows.accounts,
        rows.orders,
        rows.trades,
    )
    settings = create_database(load_settings(), prefix="fintrade_bench_dbt")
    try:
        insert_raw_rows(settings, initial)
        full_wall, full_dbt = timed_build(settings)
        daily = []
        for day in held_back:
            new_bars = [row for row in rows.daily_prices if row[1] == day]
            insert_raw_rows(settings, RawRows([], new_bars, [], [], []))
            daily.append(timed_build(settings))
    finally:
        drop_database(settings)
    return {
        "price_rows": len(rows.daily_prices),
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
