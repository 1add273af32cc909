"""The dbt project on pipeline-made data: clean build, incremental restatements, stable marts,
and mart figures recomputed independently in pandas."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from data_generator import transform
from data_generator.config import Settings
from data_generator.transform import DbtResult
from data_generator.universe import load_universe
from tests.alpha_vantage_stub import AlphaVantageStub, StubReply, data_body, standard_bars
from tests.conftest import load_day, query, scratch_warehouse

pytestmark = pytest.mark.dbt

DAY = date(2026, 11, 24)
NEXT_DAY = date(2026, 11, 25)
MODELS = {
    "staging": {
        "stg_stocks",
        "stg_accounts",
        "stg_orders",
        "stg_trades",
        "stg_daily_prices",
        "stg_cash_movements",
        "stg_stock_splits",
    },
    "core": {
        "dim_stocks",
        "dim_accounts",
        "fct_orders",
        "fct_trades",
        "fct_daily_prices",
        "fct_cash_movements",
        "fct_position_changes",
    },
    "mart": {
        "mart_account_summary",
        "mart_account_daily_equity",
        "mart_positions",
        "mart_daily_trading",
        "mart_sector_performance",
        "mart_stock_performance",
    },
}
RESTATED_SYMBOL = "AAPL"
SESSIONS_BACK_RESTATED = 4  # inside the default lookback of 10 trading days


def checksum(settings: Settings, table: str) -> str:
    """md5 over the table's rows in a fixed order: equal checksums mean identical contents."""
    return query(
        settings,
        f"select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {table} as t",
    )[0][0]


def prices_by_key(settings: Settings) -> dict[tuple, tuple]:
    rows = query(settings, "select * from core.fct_daily_prices")
    return {(row[0], row[1]): row for row in rows}


@pytest.fixture(scope="module")
def built_warehouse(
    base_settings, s3_server, tmp_path_factory
) -> Iterator[tuple[Settings, DbtResult]]:
    """`fintrade init` on the synthetic source (15 symbols x 365 days), then `dbt build`."""
    with scratch_warehouse(base_settings, s3_server, tmp_path_factory.mktemp("state")) as settings:
        load_day(settings, DAY)
        yield settings, transform.build(settings)


def serve_day(stub: AlphaVantageStub, symbols: list[str], end: date, restate=None) -> None:
    """Queue one data reply per symbol, optionally with (symbol, day, close) restated."""
    for symbol in symbols:
        bars = standard_bars(symbol, end, count=60)
        if restate and restate[0] == symbol:
            open_, high, low, _, volume = bars[restate[1]]
            bars[restate[1]] = (open_, high, low, restate[2], volume)
        stub.enqueue(symbol, StubReply(body=data_body(symbol, bars)))


@pytest.fixture(scope="module")
def restated_warehouse(base_settings, s3_server, tmp_path_factory) -> Iterator[dict]:
    """Ingested and built for one day from Alpha Vantage (the local stand-in), then the next
    day's reply brings one more day and a restated close inside the lookback, and it is rebuilt."""
    with (
        AlphaVantageStub() as stub,
        scratch_warehouse(base_settings, s3_server, tmp_path_factory.mktemp("state")) as scratch,
    ):
        settings = scratch.with_overrides(
            price_source="alphavantage",
            alpha_vantage_api_key="dbt-test-key",
            alpha_vantage_base_url=stub.base_url,
        )
        symbols = [stock.symbol for stock in load_universe()]
        serve_day(stub, symbols, DAY)
        load_day(settings, DAY)
        transform.build(settings)
        before = prices_by_key(settings)

        dates = sorted({key[1] for key in before})
        restated_date = dates[-SESSIONS_BACK_RESTATED]
        old = before[(RESTATED_SYMBOL, restated_date)]
        low, high = old[4], old[3]
        new_close = ((low + high) / 2).quantize(Decimal("0.0001"))
        assert new_close != old[5]
        serve_day(stub, symbols, NEXT_DAY, restate=(RESTATED_SYMBOL, restated_date, new_close))
        load_day(settings, NEXT_DAY, initialise=False)
        transform.build(settings)
        yield {
            "settings": settings,
            "before": before,
            "after": prices_by_key(settings),
            "restated_date": restated_date,
            "next_date": dates[-SESSIONS_BACK_RESTATED + 1],
            "new_close": new_close,
            "new_day": NEXT_DAY,
        }


def test_build_passes_with_no_warnings_or_errors(built_warehouse):
    _settings, result = built_warehouse
    assert "WARN=0 ERROR=0 SKIP=0" in result.summary
    assert result.warnings == ()
    assert "[WARNING]" not in result.output
    assert "Deprecat" not in result.output


def test_models_land_in_exactly_staging_core_and_mart(built_warehouse):
    settings, _result = built_warehouse
    rows = query(
        settings,
        "select table_schema, table_name from information_schema.tables"
        " where table_schema in ('public', 'staging', 'core', 'mart')",
    )
    found: dict[str, set[str]] = {}
    for schema, table in rows:
        found.setdefault(schema, set()).add(table)
    assert found == MODELS


def test_mart_figures_equal_a_pandas_computation_over_raw_rows(built_warehouse):
    settings, _result = built_warehouse
    raw = pd.DataFrame(
        query(settings, "select symbol, price_date, high_price, close_price from raw.daily_prices"),
        columns=["symbol", "price_date", "high", "close"],
    ).astype({"high": float, "close": float})
    as_of = raw["price_date"].max()
    mart = {
        row[0]: row[1:]
        for row in query(
            settings,
            "select symbol, return_30d_pct, volatility_1y_pct, high_52w_price"
            " from mart.mart_stock_performance",
        )
    }
    assert len(mart) == raw["symbol"].nunique() == 15
    for symbol, prices in raw.sort_values("price_date").groupby("symbol"):
        closes = prices["close"].to_numpy()
        expected_return = 100 * (closes[-1] / closes[-31] - 1)
        log_returns = prices["close"].apply(math.log).diff().iloc[-252:]
        expected_volatility = 100 * log_returns.std(ddof=1) * math.sqrt(252)
        in_52_weeks = prices["price_date"] > as_of - timedelta(weeks=52)
        expected_high = prices.loc[in_52_weeks, "high"].max()

        return_30d, volatility_1y, high_52w = (float(value) for value in mart[symbol])
        assert return_30d == pytest.approx(expected_return, abs=1e-4), symbol
        assert volatility_1y == pytest.approx(expected_volatility, abs=1e-4), symbol
        assert high_52w == pytest.approx(expected_high, abs=1e-9), symbol


def test_rerun_on_the_same_data_leaves_every_table_identical(built_warehouse):
    settings, _result = built_warehouse
    tables = [f"{schema}.{name}" for schema in ("core", "mart") for name in MODELS[schema]]
    before = {table: checksum(settings, table) for table in tables}
    transform.build(settings)
    assert {table: checksum(settings, table) for table in tables} == before


def test_incremental_build_takes_the_restated_close_and_keeps_every_other_row(
    restated_warehouse,
):
    before, after = restated_warehouse["before"], restated_warehouse["after"]
    restated = (RESTATED_SYMBOL, restated_warehouse["restated_date"])
    following = (RESTATED_SYMBOL, restated_warehouse["next_date"])

    assert after[restated][5] == restated_warehouse["new_close"]
    assert after[following][7] == restated_warehouse["new_close"], "next day's previous close"
    changed = {key for key in before if after[key] != before[key]}
    assert changed == {restated, following}
    added = set(after) - set(before)
    assert {day for _symbol, day in added} == {restated_warehouse["new_day"]}
    assert len(added) == 15


def test_full_refresh_gives_the_incremental_history(restated_warehouse):
    settings = restated_warehouse["settings"]
    incremental = checksum(settings, "core.fct_daily_prices")
    transform.build(settings, select="fct_daily_prices", full_refresh=True)
    assert checksum(settings, "core.fct_daily_prices") == incremental
