"""dbt at scale (issue 11): the full build and the daily incremental build over N symbols, at Y
years of history against 1 year, side by side in one run; prints the figures and the slowest
nodes of each build (from dbt's run_results.json), asserts nothing.

Each history gets a scratch database (`scale_dbt_*`) and bucket on a SeaweedFS this script
starts and stops. The first day loads every symbol's history through the pipeline (synthetic
source), the corporate actions and the OLTP history of the fifteen default stocks (accounts
trade those), then a full build; each following trading day loads ten days of every symbol (like
Alpha Vantage's compact reply), that day's actions and activity, then the daily build.

Usage: .venv/bin/python scripts/bench_scale_dbt.py [--symbols 5000] [--years 1 20]
           [--daily-runs 2] [--workers 2] [--rebuild-rounds 2] [--keep]
Goal: daily build at Y years <= 1.5x the daily build at 1 year.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.localdev.processes import stop_pid
from data_generator.localdev.seaweedfs import start_seaweedfs
from data_generator.reference.scale_universe import write_universe
from data_generator.reference.trading_calendar import trading_days
from data_generator.reference.universe import load_universe, select_stocks
from data_generator.settings import PriceSourceKind, Settings, load_settings
from data_generator.steps import transform
from data_generator.steps.actions import ingest_actions_with
from data_generator.steps.activity import (
    DEFAULT_ACCOUNTS,
    DEFAULT_ORDERS,
    day_activity,
    initialise_activity,
)
from data_generator.steps.prices import SymbolOutcome, ingest_prices
from data_generator.steps.resources import open_resources, prepare_resources
from data_generator.storage.warehouse import connect, drop_database
from scripts.bench_scale_load import history_start
from tests.support.ports import free_port_base

LAST_DAY = date(2026, 11, 25)
DAILY_HISTORY_DAYS = 10
# The brokerage's account book is a year old in both histories: loading more price history does
# not make the customers older, and mart_positions / mart_account_daily_equity grow with the
# book's age (a row per account, symbol and day held), not with the bars.
BOOK_START = date(LAST_DAY.year - 1, LAST_DAY.month, LAST_DAY.day)
TRADED = [stock.symbol for stock in load_universe()]  # the default fifteen


@dataclass
class Figures:
    bars: int = 0
    load_seconds: float = 0.0
    full_seconds: float = 0.0
    daily_seconds: list[float] = field(default_factory=list)
    rebuild_seconds: list[float] = field(default_factory=list)
    full_nodes: list[tuple[float, str]] = field(default_factory=list)
    daily_nodes: list[tuple[float, str]] = field(default_factory=list)


def load_prices(settings: Settings, symbols: list[str], day: date) -> int:
    """One loading process's share of the day's symbols, as one mapped price task loads its
    batch; bars inserted."""
    with open_resources(settings, day) as res:
        results = ingest_prices(res, symbols, day)
    failed = [r.summary() for r in results if r.status is SymbolOutcome.FAILED]
    if failed:
        raise SystemExit(f"{len(failed)} symbols failed, e.g. {failed[0]}")
    return sum(r.counts.inserted for r in results)


def load_day(settings: Settings, day: date, *, first: bool, workers: int) -> int:
    """One day as the pipeline loads it: every symbol's prices, `workers` processes side by side
    (the DAG's task slots), then the traded stocks' actions and OLTP activity (their history on
    the first day)."""
    stocks = select_stocks(None, settings.universe_file)
    symbols = [stock.symbol for stock in stocks]
    if first:
        with open_resources(settings, day, stocks) as res:
            prepare_resources(res, stocks)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        shares = [symbols[worker::workers] for worker in range(workers)]
        bars = sum(pool.map(load_prices, [settings] * workers, shares, [day] * workers))
    with open_resources(settings, day, stocks) as res:
        ingest_actions_with(res.conn, res.lake, res.source, TRADED, day)
        if first:
            initialise_activity(
                res, TRADED, day, DEFAULT_ACCOUNTS, DEFAULT_ORDERS, since=BOOK_START
            )
        day_activity(res, TRADED, day)
    return bars


def node_seconds(settings: Settings) -> list[tuple[float, str]]:
    results = json.loads((transform.run_dir(settings) / "run_results.json").read_text())
    nodes = (
        (node["execution_time"], node["unique_id"].split(".")[2]) for node in results["results"]
    )
    return sorted(nodes, reverse=True)


def analyze(settings: Settings) -> None:
    """What autovacuum does after a bulk load on a default server (this one runs with it off):
    without statistics every range is guessed at a third of the table and read by a scan."""
    conn = connect(settings)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("analyze")
    finally:
        conn.close()


def timed_build(settings: Settings) -> tuple[float, list[tuple[float, str]]]:
    started = time.perf_counter()
    transform.build(settings)
    return time.perf_counter() - started, node_seconds(settings)


def history_settings(base: Settings, universe: Path, years: int) -> Settings:
    start = history_start(years)
    tag = secrets.token_hex(3)
    return base.with_overrides(
        pg_database=f"scale_dbt_{years}y_{tag}",
        s3_bucket=f"scale-dbt-{years}y-{tag}",
        universe_file=universe,
        history_days=(LAST_DAY - start).days + 1,
        synthetic_start=start,
        price_source=PriceSourceKind.SYNTHETIC,
    )


def bench_history(settings: Settings, years: int, daily_runs: int, workers: int) -> Figures:
    """The first day's load and full build, then `daily_runs` days of load and daily build."""
    days = trading_days(date(LAST_DAY.year, LAST_DAY.month, 1), LAST_DAY)
    first, following = days[-daily_runs - 1], days[-daily_runs:]
    figures = Figures()
    print(f"{years}y: {settings.pg_database}, loading {first} ...", flush=True)
    started = time.perf_counter()
    figures.bars = load_day(settings, first, first=True, workers=workers)
    figures.load_seconds = time.perf_counter() - started
    print(f"{years}y: {figures.bars:,} bars in {figures.load_seconds:.0f} s", flush=True)
    analyze(settings)
    figures.full_seconds, figures.full_nodes = timed_build(settings)
    print(f"{years}y: full build {figures.full_seconds:.1f} s", flush=True)
    analyze(settings)
    daily = settings.with_overrides(history_days=DAILY_HISTORY_DAYS)
    for day in following:
        load_day(daily, day, first=False, workers=workers)
        seconds, nodes = timed_build(daily)
        figures.daily_seconds.append(seconds)
        figures.daily_nodes = nodes
        print(f"{years}y: daily build {day} {seconds:.1f} s", flush=True)
    return figures


def rebuild_in_turn(
    histories: dict[int, Settings], figures: dict[int, Figures], rounds: int
) -> None:
    """The daily build again (no new day) on each history's database in turn, `rounds` times:
    the histories' daily builds above run minutes apart, these side by side."""
    for _ in range(rounds):
        for years, settings in histories.items():
            seconds, _nodes = timed_build(settings)
            figures[years].rebuild_seconds.append(seconds)
            print(f"{years}y: daily build again {seconds:.1f} s", flush=True)


def show_nodes(label: str, nodes: list[tuple[float, str]], count: int = 8) -> None:
    print(f"  {label}: " + ", ".join(f"{name} {seconds:.1f}s" for seconds, name in nodes[:count]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=5000)
    parser.add_argument("--years", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--daily-runs", type=int, default=2)
    parser.add_argument("--rebuild-rounds", type=int, default=2, help="daily builds in turn")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    parser.add_argument("--workers", type=int, default=2, help="loading processes (task slots)")
    parser.add_argument("--work-dir", type=Path, help="lake data and universe (default: a temp)")
    args = parser.parse_args()
    base = load_settings()
    with tempfile.TemporaryDirectory(prefix="scale-dbt-", dir=args.work_dir) as work:
        work_dir = Path(work)
        universe = work_dir / f"universe-{args.symbols}.csv"
        write_universe(universe, args.symbols)
        port = free_port_base()
        access_key, secret_key = f"scale{secrets.token_hex(4)}", secrets.token_hex(16)
        pid = start_seaweedfs(work_dir / "s3", port, access_key, secret_key)
        try:
            settings = base.with_overrides(
                aws_endpoint_url=f"http://127.0.0.1:{port}",
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                local_state_dir=work_dir / "state",
            )
            histories = {years: history_settings(settings, universe, years) for years in args.years}
            try:
                figures = {
                    years: bench_history(history, years, args.daily_runs, args.workers)
                    for years, history in histories.items()
                }
                rebuild_in_turn(histories, figures, args.rebuild_rounds)
            finally:
                for history in histories.values():
                    if args.keep:
                        print(f"kept {history.pg_database}")
                    else:
                        drop_database(history)
                        shutil.rmtree(transform.run_dir(history), ignore_errors=True)
        finally:
            stop_pid(pid, "SeaweedFS")
    print(f"\n{args.symbols:,} symbols")
    print(
        f"{'history':>8} {'bars':>12} {'load s':>8} {'full build s':>13} {'daily build s':>14} "
        f"{'again, in turn s':>17}"
    )
    for years, f in figures.items():
        again = statistics.median(f.rebuild_seconds) if f.rebuild_seconds else float("nan")
        print(
            f"{years:>7}y {f.bars:>12,} {f.load_seconds:>8.0f} {f.full_seconds:>13.1f} "
            f"{statistics.median(f.daily_seconds):>14.1f} {again:>17.1f}"
        )
        show_nodes("slowest in the full build", f.full_nodes)
        show_nodes("slowest in the daily build", f.daily_nodes)
    if len(figures) >= 2:
        low, high = min(figures), max(figures)
        ratio = statistics.median(figures[high].daily_seconds) / statistics.median(
            figures[low].daily_seconds
        )
        print(f"daily build {high}y / {low}y: {ratio:.2f}x (goal <= 1.5x)")
        if figures[low].rebuild_seconds:
            again = statistics.median(figures[high].rebuild_seconds) / statistics.median(
                figures[low].rebuild_seconds
            )
            print(f"daily build again, in turn, {high}y / {low}y: {again:.2f}x (goal <= 1.5x)")


if __name__ == "__main__":
    main()
