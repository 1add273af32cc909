"""Benchmarks for the ingestion spine (issue 2); prints the figures, asserts nothing.

1. Price load into raw.daily_prices (COPY -> temp table -> one upsert per symbol) against a plain
   COPY of the same rows into the same table, at 1M rows (500 symbols x 2,000 trading days), on an
   empty table and with half of the rows already present.
2. The demo pipeline (`fintrade run` on the default 15 symbols x 365 days), services already up.
3. Peak memory of a full ingest (source -> lake -> warehouse) at 1M rows, in a child process.

Usage: .venv/bin/python scripts/bench_ingest.py [--symbols 500] [--days 2000] [--skip-e2e]
Needs the services up (`make services-up`); works in scratch databases and buckets it drops.
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.localdev.services import load_run_settings
from data_generator.reference.universe import synthetic_stocks
from data_generator.settings import PROJECT_ROOT, Settings
from data_generator.sources.prices import PriceRow, parse_daily_reply
from data_generator.sources.synthetic_prices import SyntheticPriceSource
from data_generator.steps.prices import ingest_prices
from data_generator.steps.resources import open_resources, prepare_resources
from data_generator.storage.warehouse import (
    PRICE_COLUMNS,
    Connection,
    apply_schema,
    connect,
    copy_rows,
    create_database_if_missing,
    drop_database,
    load_prices,
)

AS_OF = date(2026, 11, 25)


def scratch(settings: Settings, label: str) -> Settings:
    name = f"fintrade_bench_{label}_{secrets.token_hex(3)}"
    return settings.with_overrides(pg_database=name, s3_bucket=f"bench-{secrets.token_hex(5)}")


def make_rows(symbols: int, trading_days: int) -> dict[str, list[PriceRow]]:
    """Bars per symbol from the synthetic source, parsed as the pipeline parses them."""
    stocks = synthetic_stocks(symbols)
    history = int(trading_days * 365 / 252) + 10
    source = SyntheticPriceSource(42, history, AS_OF, stocks)
    rows = {}
    for stock in stocks:
        parsed = parse_daily_reply(
            stock.symbol, source.fetch_daily(stock.symbol), "synthetic", AS_OF
        )
        key = f"raw/parquet/symbol={stock.symbol}/date={AS_OF}.parquet"
        rows[stock.symbol] = parsed.bars.to_rows(key)[-trading_days:]
    return rows


def timed_plain_copy(conn: Connection, rows: dict[str, list[PriceRow]]) -> float:
    """The baseline: plain COPY into the table, one transaction per symbol like the pipeline."""
    started = time.perf_counter()
    for symbol_rows in rows.values():
        with conn, conn.cursor() as cur:
            copy_rows(cur, "raw.daily_prices", PRICE_COLUMNS, symbol_rows)
    return time.perf_counter() - started


def timed_single_copy(conn: Connection, rows: dict[str, list[PriceRow]]) -> float:
    """The strictest baseline: every row in one COPY, one transaction."""
    started = time.perf_counter()
    with conn, conn.cursor() as cur:
        copy_rows(cur, "raw.daily_prices", PRICE_COLUMNS, (r for rs in rows.values() for r in rs))
    return time.perf_counter() - started


def timed_upsert(conn: Connection, rows: dict[str, list[PriceRow]]) -> float:
    """One transaction per symbol, as the pipeline loads."""
    started = time.perf_counter()
    for symbol_rows in rows.values():
        with conn, conn.cursor() as cur:
            load_prices(cur, symbol_rows)
    return time.perf_counter() - started


def reset(conn: Connection) -> None:
    with conn, conn.cursor() as cur:
        cur.execute("truncate raw.daily_prices")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("checkpoint")
    conn.autocommit = False


def bench_load(settings: Settings, symbols: int, days: int) -> None:
    rows = make_rows(symbols, days)
    total = sum(len(r) for r in rows.values())
    target = scratch(settings, "load")
    create_database_if_missing(target)
    conn = connect(target)
    try:
        apply_schema(conn)
        results = {}
        runs = (
            ("plain COPY, one transaction", timed_single_copy),
            ("plain COPY", timed_plain_copy),
            ("pipeline upsert", timed_upsert),
        )
        for label, fn in runs:
            reset(conn)
            seconds = fn(conn, rows)
            results[label] = seconds
            print(
                f"{label:30} {total:>9,} rows  {seconds:7.2f} s  {total / seconds:>10,.0f} rows/s"
            )
        for baseline in ("plain COPY", "plain COPY, one transaction"):
            ratio = results[baseline] / results["pipeline upsert"]
            print(f"upsert rows/s vs {baseline}: {ratio:.2f}x")
        reset(conn)
        half = {s: r[: len(r) // 2] for s, r in rows.items()}
        timed_upsert(conn, half)
        seconds = timed_upsert(conn, rows)
        print(
            f"{'upsert, half already there':28} {total:>9,} rows  {seconds:7.2f} s  "
            f"{total / seconds:>10,.0f} rows/s"
        )
        seconds = timed_upsert(conn, rows)
        print(
            f"{'upsert, rerun (all there)':28} {total:>9,} rows  {seconds:7.2f} s  "
            f"{total / seconds:>10,.0f} rows/s"
        )
    finally:
        conn.close()
        drop_database(target)


def bench_demo(settings: Settings) -> None:
    target = scratch(settings, "demo")
    env = {**_child_env(target)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "data_generator.cli", "run", "--date", AS_OF.isoformat()],
        env=env,
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
    )
    print(f"{'demo pipeline (fintrade run)':28} {time.perf_counter() - started:7.2f} s")
    drop_database(target)


def _child_env(settings: Settings) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "AWS_", "S3_"))}
    return env | settings.pg_environ() | settings.aws_environ()


def peak_rss_mib() -> float:
    """This process's own high-water RSS. Not ru_maxrss: Linux carries that across exec, so a
    child forked from a parent holding 1M rows would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def ingest_child(settings_json: str, symbols: int, days: int) -> None:
    """Runs in a child process: a full ingest, then prints its peak RSS."""
    settings = Settings(**json.loads(settings_json))
    stocks = synthetic_stocks(symbols)
    settings = settings.with_overrides(history_days=int(days * 365 / 252) + 10)
    with open_resources(settings, AS_OF, stocks) as res:
        prepare_resources(res, stocks)
        started = time.perf_counter()
        results = ingest_prices(res, [s.symbol for s in stocks], AS_OF)
        seconds = time.perf_counter() - started
    rows = sum(r.counts.inserted for r in results)
    peak_mib = peak_rss_mib()
    print(
        f"{'full ingest (lake + load)':28} {rows:>9,} rows  {seconds:7.2f} s  "
        f"{rows / seconds:>10,.0f} rows/s  peak RSS {peak_mib:,.0f} MiB"
    )


def bench_memory(settings: Settings, symbols: int, days: int) -> None:
    target = scratch(settings, "mem")
    fields = {
        "pg_host": target.pg_host,
        "pg_port": target.pg_port,
        "pg_user": target.pg_user,
        "pg_password": target.pg_password,
        "pg_database": target.pg_database,
        "s3_bucket": target.s3_bucket,
        "aws_endpoint_url": target.aws_endpoint_url,
        "aws_access_key_id": target.aws_access_key_id,
        "aws_secret_access_key": target.aws_secret_access_key,
    }
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            json.dumps(fields),
            "--symbols",
            str(symbols),
            "--days",
            str(days),
        ],
        check=True,
        cwd=PROJECT_ROOT,
    )
    drop_database(target)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--days", type=int, default=2000)
    parser.add_argument("--skip-e2e", action="store_true", help="only the load comparison")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        ingest_child(args.child, args.symbols, args.days)
        return
    settings = load_run_settings()
    print(f"PostgreSQL {settings.pg_host}:{settings.pg_port}, S3 {settings.aws_endpoint_url}")
    bench_load(settings, args.symbols, args.days)
    if not args.skip_e2e:
        bench_demo(settings)
        bench_memory(settings, args.symbols, args.days)


if __name__ == "__main__":
    main()
