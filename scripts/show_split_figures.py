"""Prints mart_stock_performance for one symbol as of days around a split: what a split does to
the marts' figures. Builds a throwaway warehouse from the synthetic source (its own database and
bucket, dropped afterwards), then the mart once per as-of day.

    .venv/bin/python scripts/show_split_figures.py [--symbol NVDA] [--split-date 2026-06-10]
        [--project-dir dbt/fintrade]

`--project-dir` may name another checkout's dbt project, to compare before and after a change.
Needs the services up (`make services-up`) or AWS_ENDPOINT_URL set.
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.localdev.services import load_run_settings
from data_generator.reference.trading_calendar import trading_days
from data_generator.reference.universe import select_stocks
from data_generator.settings import DBT_PROJECT_DIR, Settings
from data_generator.steps.day import ingest_day
from data_generator.steps.resources import open_resources
from data_generator.storage.warehouse import connect, drop_database, fetch_one

RUN_DATE = date(2026, 11, 24)
COLUMNS = (
    "latest_price_date",
    "latest_close_price",
    "return_1d_pct",
    "return_30d_pct",
    "high_52w_price",
    "volatility_30d_pct",
    "avg_volume_30d",
)


def dbt(settings: Settings, project_dir: Path, *args: str) -> str:
    """Runs dbt on the settings' database with `project_dir`; returns its "Done." line."""
    target = Path("/tmp") / f"show-split-{settings.pg_database}"
    command = [
        str(Path(sys.executable).parent / "dbt"),
        *args,
        "--target",
        "dev",
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
    ]
    env = {**settings.pg_environ(), "PATH": "/usr/bin:/bin"}
    completed = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"dbt {args[0]} failed:\n{completed.stdout[-3000:]}")
    done = [line for line in completed.stdout.splitlines() if "Done." in line]
    return done[-1].split("Done.", 1)[-1].strip() if done else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbol", default="NVDA")
    parser.add_argument("--split-date", type=date.fromisoformat, default=date(2026, 6, 10))
    parser.add_argument("--project-dir", type=Path, default=DBT_PROJECT_DIR)
    args = parser.parse_args()

    settings = load_run_settings().with_overrides(
        pg_database=f"fintrade_split_{secrets.token_hex(3)}",
        s3_bucket=f"split-{secrets.token_hex(4)}",
        symbols=(args.symbol,),
    )
    days = trading_days(date(args.split_date.year, 1, 1), RUN_DATE)
    at = days.index(args.split_date)
    as_of_days = [days[at - 1], days[at], days[at + 1], days[at + 20], days[at + 40]]
    try:
        stocks = select_stocks(settings.symbols)
        with open_resources(settings, RUN_DATE, stocks) as res:
            ingest_day(res, stocks, RUN_DATE, initialise=True)
        dbt(settings, args.project_dir, "run")
        print(f"{args.symbol} split on {args.split_date}; project {args.project_dir}")
        print("as_of       " + " ".join(f"{c:>18}" for c in COLUMNS))
        for as_of in as_of_days:
            dbt(
                settings,
                args.project_dir,
                "run",
                "--select",
                "mart_stock_performance",
                "--vars",
                f"{{as_of: '{as_of}'}}",
            )
            conn = connect(settings)
            with conn, conn.cursor() as cur:
                cur.execute(
                    f"select {', '.join(COLUMNS)} from mart.mart_stock_performance"
                    " where symbol = %s",
                    (args.symbol,),
                )
                row = fetch_one(cur)
            conn.close()
            print(f"{as_of}  " + " ".join(f"{v!s:>18}" for v in row))
    finally:
        drop_database(settings)


if __name__ == "__main__":
    main()
