"""Prints the figures of issue 20 on a built demo warehouse: dividends owed vs credited, and what
missing bars do to the marts, next to an independent pandas recomputation from the raw rows.

    PGDATABASE=fintrade_i20 .venv/bin/python scripts/show_missing_bar_figures.py \
        [--project-dir dbt/fintrade]

The warehouse must hold `fintrade run --date 2026-12-01` on the defaults. It is copied twice
(CREATE DATABASE ... TEMPLATE; copies dropped afterwards): one copy as it is, one with the bars
of MISSING_BARS deleted from raw.daily_prices, and each copy is rebuilt from scratch with the
dbt project of `--project-dir`, which may be another checkout's, to compare before and after.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.localdev.services import load_run_settings
from data_generator.settings import DBT_PROJECT_DIR, Settings
from data_generator.storage.warehouse import drop_database
from scripts.show_split_figures import dbt
from tests.support.recompute import (
    adjusted_prices,
    carried_close,
    cash_changes,
    dividends_owed,
    market_value,
    read_raw,
    receivable,
    records,
    window_figures,
)
from tests.support.warehouse import connect, query

AS_OF = date(2026, 12, 1)
SPLIT_DAY = date(2026, 6, 10)
MISSING_BARS = (
    ("NVDA", SPLIT_DAY, "its 10:1 split day"),
    ("KO", date(2026, 11, 10), "an ex-date"),
    ("XOM", AS_OF, "the as-of day, with trades"),
    ("KO", date(2026, 6, 12), "a trade day"),
)
SHORT_WINDOW_AS_OF = date(2026, 1, 2)


@contextmanager
def copy_of(settings: Settings, label: str) -> Iterator[Settings]:
    copy = settings.with_overrides(
        pg_database=f"{settings.pg_database}_{label}_{secrets.token_hex(3)}"
    )
    with closing(connect(settings, database="postgres")) as admin:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'create database "{copy.pg_database}" template "{settings.pg_database}"')
    try:
        yield copy
    finally:
        drop_database(copy)


def columns(settings: Settings, table: str) -> set[str]:
    schema, name = table.split(".")
    rows = query(
        settings,
        "select column_name from information_schema.columns"
        " where table_schema = %s and table_name = %s",
        (schema, name),
    )
    return {row[0] for row in rows}


def one(settings: Settings, statement: str, params: tuple[object, ...] = ()) -> tuple:
    rows = query(settings, statement, params)
    return rows[0] if rows else (None,)


def show_dividends(settings: Settings) -> None:
    raw = read_raw(settings)
    owed = dividends_owed(raw)
    paid = owed[owed["paid_date"] <= AS_OF]
    credited = Decimal(0)
    if "dividend_income" in columns(settings, "mart.mart_account_summary"):
        (credited,) = one(settings, "select sum(dividend_income) from mart.mart_account_summary")
    print("dividends (pandas: shares held at the close before the ex-date x amount)")
    print(f"  owed, ex-date on or before {AS_OF}: {len(owed)} dividends, {owed['cash'].sum()}")
    print(f"  owed, paid on or before {AS_OF}:    {len(paid)} dividends, {paid['cash'].sum()}")
    print(f"  credited in mart_account_summary.dividend_income: {credited}")
    example = owed[
        (owed["account_id"] == "ACC00002")
        & (owed["symbol"] == "PFE")
        & (owed["ex_date"] == date(2026, 10, 12))
    ]
    for row in records(example):
        print(
            f"  ACC00002 PFE ex {row['ex_date']}: {float(row['shares']):g} shares"
            f" x {row['amount']} = {row['cash']}, paid {row['paid_date']}"
        )
    if "dividend_income" in columns(settings, "mart.mart_account_daily_equity"):
        before, after = (
            one(
                settings,
                "select dividend_income from mart.mart_account_daily_equity"
                " where account_id = 'ACC00002' and equity_date = %s",
                (day,),
            )[0]
            for day in (date(2026, 10, 30), date(2026, 11, 2))
        )
        print(f"  ACC00002 dividend_income 2026-10-30 {before} -> 2026-11-02 {after}")
    equity = dict(query(settings, "select account_id, total_equity from mart.mart_account_summary"))
    share = max(
        cash / equity[account_id]
        for account_id, cash in paid.groupby("account_id")["cash"].sum().items()
    )
    print(f"  largest share of an account's equity: {100 * share:.2f} %")


def show_account(label: str, settings: Settings) -> None:
    raw = read_raw(settings)
    owed = dividends_owed(raw)
    mart_value, mart_equity = one(
        settings,
        "select market_value, total_equity from mart.mart_account_daily_equity"
        " where account_id = 'ACC00020' and equity_date = %s",
        (SPLIT_DAY,),
    )
    (opening,) = raw.accounts.loc[raw.accounts["account_id"] == "ACC00020", "balance"]
    changes = cash_changes(raw, owed)
    mine = changes[(changes["account_id"] == "ACC00020") & (changes["day"] <= SPLIT_DAY)]
    cash: Decimal = opening + sum(mine["change"], Decimal(0))
    value = market_value(raw, "ACC00020", SPLIT_DAY)
    equity = cash + value + receivable(owed, "ACC00020", SPLIT_DAY)
    close = carried_close(raw, "NVDA", SPLIT_DAY)
    print(
        f"  {label:<10} ACC00020 {SPLIT_DAY}: mart market_value {mart_value} total_equity"
        f" {mart_equity}; pandas {value} and {equity} (NVDA close {float(close or 0):.4f})"
    )


def show_trading_and_returns(label: str, settings: Settings) -> None:
    (raw_trades,) = one(
        settings,
        "select count(*) from raw.trades"
        " where (traded_at at time zone 'America/New_York')::date <= %s",
        (AS_OF,),
    )
    (mart_trades,) = one(settings, "select sum(trade_count) from mart.mart_daily_trading")
    (ko_return,) = one(
        settings,
        "select total_return_30d_pct from mart.mart_stock_performance where symbol = 'KO'",
    )
    prices = adjusted_prices(settings)
    raw = read_raw(settings)
    dividends = raw.dividends
    expected = window_figures(
        prices[prices["symbol"] == "KO"],
        dividends[dividends["symbol"] == "KO"],
        AS_OF,
        splits=raw.splits,
    )
    print(
        f"  {label:<10} trades: raw {raw_trades}, mart_daily_trading {mart_trades};"
        f" KO total_return_30d_pct {ko_return} (pandas {expected['total_return_30d_pct']:.4f})"
    )


def show_short_windows(settings: Settings, project_dir: Path) -> None:
    dbt(
        settings,
        project_dir,
        "run",
        "--select",
        "mart_stock_performance",
        "--vars",
        f"{{as_of: '{SHORT_WINDOW_AS_OF}'}}",
    )
    counted: list[str] = [
        c
        for c in ("volatility_30d_sessions", "avg_volume_30d_sessions", "volatility_1y_sessions")
        if c in columns(settings, "mart.mart_stock_performance")
    ]
    figures: list[str] = [
        "return_30d_pct",
        "volatility_30d_pct",
        "avg_volume_30d",
        "volatility_1y_pct",
    ]
    row = one(
        settings,
        f"select {', '.join(figures + counted)} from mart.mart_stock_performance"
        " where symbol = 'AAPL'",
    )
    (bars,) = one(
        settings,
        "select count(*) from raw.daily_prices where symbol = 'AAPL' and price_date <= %s",
        (SHORT_WINDOW_AS_OF,),
    )
    print(f"short windows: AAPL as of {SHORT_WINDOW_AS_OF} ({bars} bars of history)")
    for name, value in zip(figures + counted, row, strict=True):
        print(f"  {name:<26} {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project-dir", type=Path, default=DBT_PROJECT_DIR)
    args = parser.parse_args()
    settings = load_run_settings()
    print(f"warehouse {settings.pg_database}, dbt project {args.project_dir}")
    with copy_of(settings, "clean") as clean, copy_of(settings, "holes") as holes:
        for bar in MISSING_BARS:
            query(
                holes,
                "delete from raw.daily_prices where symbol = %s and price_date = %s",
                bar[:2],
            )
        for copy in (clean, holes):
            summary = dbt(copy, args.project_dir, "build", "--full-refresh")
            print(f"dbt build ({(copy is clean and 'as loaded') or 'bars removed'}): {summary}")
        print("bars removed: " + ", ".join(f"{s} {d} ({why})" for s, d, why in MISSING_BARS))
        show_dividends(clean)
        print("a close carried across a split")
        show_account("as loaded", clean)
        show_account("removed", holes)
        print("trades kept and a dividend on an ex-date without a bar")
        show_trading_and_returns("as loaded", clean)
        show_trading_and_returns("removed", holes)
        show_short_windows(clean, args.project_dir)


if __name__ == "__main__":
    main()
