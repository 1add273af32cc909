"""Times what a split learned late costs the dbt build: the daily incremental build against the
same build after a split dated years back arrives for one symbol, which rebuilds that symbol's
whole history in fct_daily_prices (its adjustment fingerprint changed).

One throwaway database and bucket, filled by the pipeline (synthetic prices, which start at the
synthetic epoch 2012-01-03, so `--years 20` gives the ~15 years since then):

    .venv/bin/python scripts/bench_readjust.py [--years 20] [--symbol AAPL]

Needs the services up (`make services-up`) or AWS_ENDPOINT_URL set.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.localdev.services import load_run_settings
from data_generator.reference.trading_calendar import trading_days
from data_generator.reference.universe import select_stocks
from data_generator.settings import Settings
from data_generator.steps import transform
from data_generator.steps.day import ingest_day
from data_generator.steps.resources import open_resources
from data_generator.storage.warehouse import connect, drop_database

FIRST_DAY = date(2026, 11, 20)
LAST_DAY = date(2026, 11, 25)
LATE_SPLIT_DATE = date(2016, 3, 1)


def load(settings: Settings, day: date, initialise: bool) -> None:
    stocks = select_stocks(settings.symbols)
    with open_resources(settings, day, stocks) as res:
        ingest_day(res, stocks, day, initialise=initialise)


def timed_build(settings: Settings) -> tuple[float, float]:
    """Wall seconds of the whole build and dbt's own seconds for fct_daily_prices."""
    started = time.perf_counter()
    transform.build(settings)
    wall = time.perf_counter() - started
    results = json.loads((transform.run_dir(settings) / "run_results.json").read_text())
    fact = next(
        r["execution_time"]
        for r in results["results"]
        if r["unique_id"] == "model.fintrade.fct_daily_prices"
    )
    return wall, fact


def execute(
    settings: Settings, statement: str, params: Sequence[object] | Mapping[str, object] = ()
) -> list[tuple[Any, ...]]:
    conn = connect(settings)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--symbol", default="AAPL")
    args = parser.parse_args()

    settings = load_run_settings().with_overrides(
        pg_database=f"fintrade_bench_readjust_{secrets.token_hex(3)}",
        s3_bucket=f"bench-readjust-{secrets.token_hex(4)}",
        history_days=args.years * 365,
    )
    days = trading_days(FIRST_DAY, LAST_DAY)
    try:
        load(settings, days[0], initialise=True)
        full = timed_build(settings)
        load(settings, days[1], initialise=False)
        daily = timed_build(settings)
        # The day's load first: its SPLITS list (the synthetic schedule) would withdraw the row.
        load(settings, days[2], initialise=False)
        execute(
            settings,
            "insert into raw.stock_splits (symbol, effective_date, split_factor, source, lake_key)"
            " values (%s, %s, 2, 'synthetic', 'bench')",
            (args.symbol, LATE_SPLIT_DATE),
        )
        readjusted = timed_build(settings)
        (rows, symbol_rows, readjusted_rows), *_ = execute(
            settings,
            "select count(*), count(*) filter (where symbol = %(symbol)s),"
            " count(*) filter (where symbol = %(symbol)s and price_date < %(split)s"
            " and split_factor = 1 and cumulative_split_factor"
            " = 2 * (select cumulative_split_factor from core.dim_price_adjustments"
            "        where symbol = %(symbol)s and valid_from_date = %(split)s))"
            " from core.fct_daily_prices",
            {"symbol": args.symbol, "split": LATE_SPLIT_DATE},
        )
    finally:
        drop_database(settings)
    print(f"history: {rows} bars in core.fct_daily_prices, {symbol_rows} of {args.symbol}")
    print(f"{args.symbol} bars before {LATE_SPLIT_DATE} re-adjusted: {readjusted_rows}")
    print("build                                   wall s  fct_daily_prices s")
    for label, (wall, fact) in (
        ("full build", full),
        ("daily incremental build", daily),
        (f"daily build re-adjusting {args.symbol}", readjusted),
    ):
        print(f"{label:38} {wall:7.1f} {fact:19.2f}")


if __name__ == "__main__":
    main()
