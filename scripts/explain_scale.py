"""The plans of the queries the pipeline and the marts run, on a warehouse at scale (issue 11).

Prints `EXPLAIN (ANALYZE)` of each query the pipeline sends per symbol or per run, then of the
models of the last dbt build in that database (the SQL dbt compiled into its run folder, so an
incremental build's plans are the daily ones), and lists every sequential scan: each must be a
deliberate one (a small table, or a model that reads all of its input by design).

Usage: .venv/bin/python scripts/explain_scale.py --database scale_dbt_20y_... [--no-analyze]
It runs ANALYZE on that database first (statistics are kept).
PostgreSQL from the PG* variables; run it on a database `bench_scale_dbt.py --keep` left.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.settings import load_settings
from data_generator.steps import transform
from data_generator.storage.warehouse import Cursor, connect_existing

# (label, statement, parameters): the pipeline's reads and deletes against the big tables, as
# data_generator sends them (storage/: warehouse.py, books.py, ingest_runs.py, call_budget.py,
# actions.py).
PIPELINE_QUERIES: tuple[tuple[str, str, dict[str, object]], ...] = (
    (
        "load_price_table: latest stored day of a symbol",
        "select max(price_date) from raw.daily_prices where symbol = %(symbol)s",
        {},
    ),
    (
        "delete_prices_not_in (replay)",
        "delete from raw.daily_prices where symbol = %(symbol)s"
        " and (%(since)s::date is null or price_date >= %(since)s::date)"
        " and not (price_date = any(%(kept)s::date[]))",
        {"since": None, "kept": "{2026-11-25}"},
    ),
    (
        "day_ranges (OLTP: one day of the traded symbols)",
        "select symbol, price_date, low_price, high_price, close_price from raw.daily_prices"
        " where symbol = any(%(symbols)s) and price_date <= %(day)s"
        " and (%(day)s::date is null or price_date >= %(day)s::date)"
        " order by symbol, price_date",
        {"symbols": ["AAPL", "MSFT", "KO"]},
    ),
    (
        "daily_limit_met (before each Alpha Vantage fetch)",
        "select exists (select 1 from raw.ingest_runs where logical_date = %(day)s"
        " and status = 'daily_limit'"
        " and started_at > now() - interval '12 hours')",
        {},
    ),
    (
        "_spent_today (call budget)",
        "select count(*) from raw.ingest_runs where status = 'api_call'"
        " and source = 'alphavantage'"
        " and started_at >= date_trunc('day', now() at time zone 'UTC') at time zone 'UTC'",
        {},
    ),
    (
        "_newer_snapshot_applied (corporate actions)",
        "select max(logical_date) > %(day)s from raw.ingest_runs"
        " where symbol = %(symbol)s and dataset = 'splits' and status = 'loaded'",
        {},
    ),
)

SCAN = re.compile(r"Seq Scan on (\S+)(?: \S+)?\s+\(.*?rows=(\d+)")


def explain(cur: Cursor, statement: str, params: dict[str, object], analyze: bool) -> list[str]:
    options = "analyze, timing off, summary on" if analyze else "costs on"
    # A delete is explained inside a transaction that is rolled back: nothing changes.
    cur.execute(f"explain ({options}) {statement}", params)
    return [row[0] for row in cur.fetchall()]


def show(label: str, plan: list[str]) -> None:
    print(f"\n-- {label}")
    for plan_line in plan:
        print(f"   {plan_line}")
    scans = [f"{m.group(1)} (~{int(m.group(2)):,} rows)" for m in map(SCAN.search, plan) if m]
    print(f"   sequential scans: {', '.join(scans) if scans else 'none'}")


def compiled_nodes(database: str, with_tests: bool) -> list[tuple[str, Path]]:
    """(kind, file) of what the last build compiled: models, and with `with_tests` the data
    and unit tests (compiled under their .yml file's folder)."""
    compiled = transform.run_dir(load_settings().with_overrides(pg_database=database))
    nodes = []
    for path in sorted((compiled / "compiled" / "fintrade").rglob("*.sql")):
        is_test = any(part.endswith(".yml") for part in path.parts) or "tests" in path.parts
        if with_tests or not is_test:
            nodes.append(("dbt test" if is_test else "dbt model", path))
    return nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--symbol", default="SYN0042")
    parser.add_argument("--day", type=date.fromisoformat, default=date(2026, 11, 25))
    parser.add_argument("--no-analyze", action="store_true", help="plans only, run nothing")
    parser.add_argument("--models", nargs="*", help="model names (default: every compiled one)")
    parser.add_argument("--with-tests", action="store_true", help="the tests' queries too")
    args = parser.parse_args()
    settings = load_settings().with_overrides(pg_database=args.database)
    conn = connect_existing(settings)
    analyze = not args.no_analyze
    try:
        # Statistics first, kept: a server without autovacuum (as the shared development one)
        # never gathers them, and every estimate falls back to a third of the table.
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("analyze")
        conn.autocommit = False
        with conn.cursor() as cur:
            for label, statement, extra in PIPELINE_QUERIES:
                params = {"symbol": args.symbol, "day": args.day} | extra
                show(label, explain(cur, statement, params, analyze))
            conn.rollback()
            for kind, path in compiled_nodes(args.database, args.with_tests):
                if args.models and path.stem not in args.models:
                    continue
                statement = path.read_text().replace("%", "%%")
                show(f"{kind} {path.stem}", explain(cur, statement, {}, analyze))
                conn.rollback()
    finally:
        conn.rollback()
        conn.close()


if __name__ == "__main__":
    main()
