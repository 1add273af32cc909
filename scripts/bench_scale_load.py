"""Initial load at scale (issue 11): N symbols x Y years from the synthetic source; prints figures.

Side by side in one run, on a scratch database (`scale_load_*`) and a scratch bucket of a
SeaweedFS this script starts on free ports and stops:

1. the pipeline's load (source -> lake JSON + Parquet -> raw.daily_prices), symbol by symbol as
   `fintrade ingest` does, in a child process: rows/s and the child's peak RSS;
2. a plain psycopg2 COPY of the same rows (read back from the lake's Parquet, untimed) into a
   table of the same shape (`like raw.daily_prices including all`): rows/s;
3. `fintrade replay` of the same lake into a second scratch database, in a child: rows/s, RSS;
4. the lake's size (JSON replies, Parquet snapshots).

Usage: .venv/bin/python scripts/bench_scale_load.py [--symbols 5000] [--years 20] [--profile]
PostgreSQL from the PG* variables (a superuser); the goals: load >= 0.5x COPY, RSS <= 500 MB.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyarrow.csv as pa_csv

from data_generator import cli
from data_generator.localdev.processes import stop_pid
from data_generator.localdev.seaweedfs import start_seaweedfs
from data_generator.reference.scale_universe import write_universe
from data_generator.reference.universe import select_stocks
from data_generator.settings import (
    PROJECT_ROOT,
    OutputSize,
    PriceSourceKind,
    Settings,
    load_settings,
)
from data_generator.sources.base import PriceSource
from data_generator.steps.prices import SymbolOutcome, ingest_prices
from data_generator.steps.resources import open_resources, prepare
from data_generator.storage.lake import Lake, parquet_key
from data_generator.storage.warehouse import (
    PRICE_COLUMNS,
    connect,
    create_database_if_missing,
    drop_database,
)
from tests.support.ports import free_port_base

AS_OF = date(2026, 11, 25)
COPY_COMMIT_EVERY = 100  # symbols per transaction of the baseline

T = TypeVar("T")


def history_start(years: int) -> date:
    return date(AS_OF.year - years, AS_OF.month, AS_OF.day) + timedelta(days=1)


def peak_rss_mib() -> float:
    """This process's high-water RSS (VmHWM: ru_maxrss would carry a forking parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child_environ(settings: Settings) -> dict[str, str]:
    """Everything a child reads through `load_settings`, and no vendor key."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PG", "AWS_", "S3_", "FINTRADE_", "ALPHA_VANTAGE_"))
    }
    return (
        env
        | settings.pg_environ()
        | settings.aws_environ()
        | {
            "FINTRADE_PRICE_SOURCE": "synthetic",
            "FINTRADE_UNIVERSE_FILE": str(settings.universe_file),
            "FINTRADE_HISTORY_DAYS": str(settings.history_days),
            "FINTRADE_SYNTHETIC_START": settings.synthetic_start.isoformat(),
            "FINTRADE_STATE_DIR": str(settings.local_state_dir),
        }
    )


# --- the children -----------------------------------------------------------------------------


def _profiled(work: Callable[[], T], profile_path: str | None) -> T:
    if not profile_path:
        return work()
    profiler = cProfile.Profile()
    result: T = profiler.runcall(work)
    profiler.dump_stats(profile_path)
    return result


class TimedSource:
    """The synthetic source with a stopwatch: its share of the load is the vendor's side."""

    def __init__(self, source: PriceSource) -> None:
        self._source = source
        self.name = source.name
        self.notices = source.notices
        self.has_daily_limit = source.has_daily_limit
        self.full_refused = source.full_refused
        self.seconds = 0.0

    def fetch_daily(self, symbol: str, outputsize: OutputSize | None = None) -> bytes:
        started = time.perf_counter()
        try:
            return self._source.fetch_daily(symbol, outputsize)
        finally:
            self.seconds += time.perf_counter() - started

    def fetch_corporate_actions(self, symbol: str, function: str) -> bytes:
        return self._source.fetch_corporate_actions(symbol, function)


def child_load(worker: int, workers: int, profile_path: str | None) -> None:
    """The pipeline's load of every `workers`-th symbol of the universe file (as that many
    Airflow tasks would share it), then one JSON line."""
    settings = load_settings()
    stocks = select_stocks(None, settings.universe_file)
    with open_resources(settings, AS_OF, stocks) as res:
        res.source = source = TimedSource(res.source)
        symbols = [stock.symbol for stock in stocks][worker::workers]
        started = time.perf_counter()
        results = _profiled(lambda: ingest_prices(res, symbols, AS_OF), profile_path)
        seconds = time.perf_counter() - started
    failed = [r.summary() for r in results if r.status is SymbolOutcome.FAILED]
    rows = sum(r.counts.inserted for r in results)
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "source_seconds": source.seconds,
                "rss": peak_rss_mib(),
                "failed": failed,
            }
        )
    )


def child_replay(profile_path: str | None) -> None:
    """`fintrade replay` as the command runs it (its per-symbol lines dropped), then one line."""
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        stdout, sys.stdout = sys.stdout, quiet
        try:
            code = _profiled(lambda: cli.main(["replay"]), profile_path)
        finally:
            sys.stdout = stdout
    seconds = time.perf_counter() - started
    print(json.dumps({"code": code, "seconds": seconds, "rss": peak_rss_mib()}))


def run_children(
    kind: str, settings: Settings, profile_path: str | None, workers: int = 1
) -> list[dict[str, Any]]:
    """`workers` children side by side (worker i takes every workers-th symbol), then each one's
    last line; only the first is profiled."""
    children = []
    for worker in range(workers):
        command = [sys.executable, __file__, "--child", kind, "--worker", f"{worker}/{workers}"]
        if profile_path and worker == 0:
            command += ["--profile-to", profile_path]
        children.append(
            subprocess.Popen(
                command,
                env=child_environ(settings),
                cwd=PROJECT_ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    reports = []
    for child in children:
        stdout, _ = child.communicate()
        if child.returncode != 0:
            raise SystemExit(f"{kind} child failed with exit code {child.returncode}")
        reports.append(json.loads(stdout.strip().splitlines()[-1]))
    return reports


def load_with_workers(settings: Settings, profile_path: str | None, workers: int) -> dict[str, Any]:
    """The whole load: schema, roles and stocks once (as the DAG's prepare task), then the
    workers; rows/s over the wall time of all of them."""
    prepare(settings, AS_OF)
    started = time.perf_counter()
    reports = run_children("load", settings, profile_path, workers)
    return {
        "rows": sum(r["rows"] for r in reports),
        "seconds": time.perf_counter() - started,
        "source_seconds": sum(r["source_seconds"] for r in reports) / workers,
        "rss": max(r["rss"] for r in reports),
        "failed": [f for r in reports for f in r["failed"]],
    }


# --- the parent -------------------------------------------------------------------------------


def timed_plain_copy(settings: Settings, lake: Lake, symbols: list[str]) -> tuple[int, float]:
    """COPY each symbol's rows, made untimed from its Parquet snapshot, into a table shaped like
    raw.daily_prices; only COPY and commit are timed."""
    conn = connect(settings)
    rows = 0
    seconds = 0.0
    try:
        with conn, conn.cursor() as cur:
            cur.execute("create schema if not exists scale_copy")
            cur.execute(
                "create table scale_copy.daily_prices (like raw.daily_prices including all)"
            )
        statement = (
            f"copy scale_copy.daily_prices ({', '.join(PRICE_COLUMNS)}) from stdin "
            "with (format csv)"
        )
        cur = conn.cursor()
        for number, symbol in enumerate(symbols, start=1):
            key = parquet_key(symbol, AS_OF)
            table = lake.get_table(key).select(PRICE_COLUMNS[:-1])
            table = table.append_column("lake_key", [[key] * table.num_rows])
            buffer = io.BytesIO()
            pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False))
            buffer.seek(0)
            rows += table.num_rows
            started = time.perf_counter()
            cur.copy_expert(statement, buffer)
            if number % COPY_COMMIT_EVERY == 0 or number == len(symbols):
                conn.commit()
            seconds += time.perf_counter() - started
        with conn, conn.cursor() as cur:
            cur.execute("drop schema scale_copy cascade")
    finally:
        conn.close()
    return rows, seconds


def lake_size(lake: Lake) -> dict[str, int]:
    sizes = {"json": 0, "parquet": 0, "objects": 0}
    for page in lake._pages(Prefix="raw/"):
        for item in page.get("Contents", []):
            kind = "json" if item["Key"].startswith("raw/json/") else "parquet"
            sizes[kind] += item["Size"]
            sizes["objects"] += 1
    return sizes


def line(label: str, rows: int, seconds: float, extra: str = "") -> None:
    print(
        f"{label:34} {rows:>12,} rows {seconds:9.1f} s {rows / seconds:>11,.0f} rows/s {extra}",
        flush=True,
    )


def show_profile(path: str, title: str) -> None:
    print(f"\n--- profile: {title} (top 20 by internal time) ---")
    pstats.Stats(path, stream=sys.stdout).sort_stats("tottime").print_stats(20)


def bench(
    base: Settings, symbols: int, years: int, workers: int, profile: bool, work_dir: Path
) -> None:
    universe = work_dir / f"universe-{symbols}.csv"
    write_universe(universe, symbols)
    start = history_start(years)
    tag = secrets.token_hex(3)
    load_db = base.with_overrides(
        pg_database=f"scale_load_{tag}",
        s3_bucket=f"scale-{tag}",
        universe_file=universe,
        history_days=(AS_OF - start).days + 1,
        synthetic_start=start,
        local_state_dir=work_dir / "state",
        price_source=PriceSourceKind.SYNTHETIC,
    )
    replay_db = load_db.with_overrides(pg_database=f"scale_replay_{tag}")
    profiles = {kind: str(work_dir / f"{kind}.prof") if profile else None for kind in ("l", "r")}
    print(
        f"{symbols:,} symbols x {years} years ({start} .. {AS_OF}), PostgreSQL "
        f"{base.pg_host}:{base.pg_port} ({load_db.pg_database}), S3 {load_db.aws_endpoint_url}",
        flush=True,
    )
    try:
        load = load_with_workers(load_db, profiles["l"], workers)
        if load["failed"]:
            raise SystemExit(f"load failed for {len(load['failed'])}: {load['failed'][:3]}")
        lake = Lake.from_settings(load_db)
        copy_rows, copy_seconds = timed_plain_copy(
            load_db, lake, [s.symbol for s in select_stocks(None, universe)]
        )
        create_database_if_missing(replay_db)
        (replay,) = run_children("replay", replay_db, profiles["r"])
        sizes = lake_size(lake)
        copy_rate = copy_rows / copy_seconds
        print()
        line("plain COPY (psycopg2, same rows)", copy_rows, copy_seconds)
        line(
            f"pipeline load, {workers} worker(s)",
            load["rows"],
            load["seconds"],
            f"{load['rows'] / load['seconds'] / copy_rate:.2f}x COPY (goal >= 0.5x), "
            f"peak RSS {load['rss']:,.0f} MiB per worker (goal <= 500)",
        )
        without_source = load["rows"] / (load["seconds"] - load["source_seconds"])
        print(
            f"  of which the synthetic source (the vendor's side) {load['source_seconds']:.1f} s "
            f"per worker; without it {without_source:,.0f} rows/s "
            f"({without_source / copy_rate:.2f}x COPY)"
        )
        line(
            "fintrade replay (lake->raw)",
            load["rows"],
            replay["seconds"],
            f"{load['rows'] / replay['seconds'] / copy_rate:.2f}x COPY, "
            f"peak RSS {replay['rss']:,.0f} MiB",
        )
        print(
            f"lake: {sizes['objects']:,} objects, JSON {sizes['json'] / 2**20:,.0f} MiB, "
            f"Parquet {sizes['parquet'] / 2**20:,.0f} MiB "
            f"({sizes['parquet'] / max(load['rows'], 1):.1f} B/row)",
            flush=True,
        )
        if profiles["l"] and profiles["r"]:
            show_profile(profiles["l"], "pipeline load")
            show_profile(profiles["r"], "fintrade replay")
    finally:
        drop_database(load_db)
        drop_database(replay_db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=5000)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="loading processes side by side")
    parser.add_argument("--profile", action="store_true", help="cProfile the (first) children")
    parser.add_argument("--work-dir", type=Path, help="lake data and universe (default: a temp)")
    parser.add_argument("--child", choices=("load", "replay"), help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    parser.add_argument("--worker", default="0/1", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "load":
        worker, workers = (int(part) for part in args.worker.split("/"))
        child_load(worker, workers, args.profile_to)
        return
    if args.child == "replay":
        child_replay(args.profile_to)
        return
    base = load_settings()
    with tempfile.TemporaryDirectory(prefix="scale-", dir=args.work_dir) as work:
        work_dir = Path(work)
        port = free_port_base()
        access_key, secret_key = f"scale{secrets.token_hex(4)}", secrets.token_hex(16)
        pid = start_seaweedfs(work_dir / "s3", port, access_key, secret_key)
        try:
            settings = base.with_overrides(
                aws_endpoint_url=f"http://127.0.0.1:{port}",
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
            )
            bench(settings, args.symbols, args.years, args.workers, args.profile, work_dir)
        finally:
            stop_pid(pid, "SeaweedFS")


if __name__ == "__main__":
    main()
