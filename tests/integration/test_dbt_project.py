"""The dbt project on pipeline-made data: clean build, incremental restatements, stable marts,
and mart figures recomputed independently in pandas."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from data_generator.reference.universe import load_universe
from data_generator.settings import Settings
from data_generator.steps import transform
from data_generator.steps.transform import DbtBuildError, DbtResult
from tests.support.alpha_vantage_stub import (
    AlphaVantageStub,
    StubReply,
    data_body,
    splits_body,
    standard_bars,
)
from tests.support.harness import load_day, scratch_warehouse, vendor_settings
from tests.support.rebuild import database_copy
from tests.support.recompute import adjusted_prices, window_figures
from tests.support.warehouse import BAR_TOTALS, query, table_checksum, table_checksums

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
        "stg_dividends",
        "stg_ingest_runs",
    },
    "core": {
        "dim_stocks",
        "dim_accounts",
        "dim_price_adjustments",
        "dim_exchange_sessions",
        "exchange_holidays",
        "fct_dividend_payments",
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
        "mart_ingest_status",
        "mart_daily_trading",
        "mart_sector_performance",
        "mart_stock_performance",
    },
}
PERFORMANCE_MART = "mart_stock_performance"
RESTATED_SYMBOL = "AAPL"
SESSIONS_BACK_RESTATED = 4  # inside the default lookback of 10 trading days


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
        settings = vendor_settings(
            scratch,
            stub,
            "dbt-test-key",
            alpha_vantage_daily_budget=100,  # two days of 15 symbols on one UTC day
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
    # and beside the incremental models, the totals their completeness tests compare
    expected = {schema: set(models) for schema, models in MODELS.items()}
    for name in BAR_TOTALS:
        schema, table = name.split(".")
        expected[schema].add(table)
    assert found == expected


def expected_figures(prices: pd.DataFrame, as_of: date) -> tuple[float | None, ...]:
    """30-session return, 1-year volatility and 52-week high (in shares of the as-of day), each
    null where its window's sessions are not covered."""
    no_dividends = pd.DataFrame(columns=["ex_date", "amount"])
    figures = window_figures(prices, no_dividends, as_of)
    return tuple(
        None if figures[name] is None else float(figures[name])  # type: ignore[arg-type]
        for name in ("return_30d_pct", "volatility_1y_pct", "high_52w_price")
    )


def mart_figures(settings: Settings) -> dict[str, tuple[float | None, ...]]:
    rows = query(
        settings,
        "select symbol, return_30d_pct, volatility_1y_pct, high_52w_price"
        " from mart.mart_stock_performance",
    )
    return {
        row[0]: tuple(None if value is None else float(value) for value in row[1:]) for row in rows
    }


def test_mart_figures_equal_a_pandas_computation_on_the_adjusted_series(built_warehouse):
    settings, _result = built_warehouse
    prices = adjusted_prices(settings)
    as_of = prices["price_date"].max()
    mart = mart_figures(settings)
    assert len(mart) == prices["symbol"].nunique() == 15
    for symbol, history in prices.groupby("symbol"):
        expected = expected_figures(history, as_of)
        assert mart[symbol] == pytest.approx(expected, abs=1e-4), symbol


@pytest.mark.parametrize(
    ("symbol", "as_of", "split_day", "sessions"),
    [("NVDA", date(2026, 6, 24), date(2026, 6, 10), 31), ("WMT", DAY, date(2026, 2, 26), 252)],
)
def test_figures_across_a_split_equal_a_pandas_computation(
    built_warehouse, symbol, as_of, split_day, sessions
):
    """NVDA's 10:1 split of 2026-06-10 lies inside the 30-session window as of 2026-06-24 (its
    seven months of history leave the 1-year and 52-week figures null); WMT's 3:1 of 2026-02-26
    inside the 1-year and 52-week ones."""
    settings, _result = built_warehouse
    prices = adjusted_prices(settings, as_of)
    history = prices[prices["symbol"] == symbol]
    assert split_day in set(history["price_date"].iloc[-sessions:])
    try:
        transform.build(settings, select=PERFORMANCE_MART, vars={"as_of": as_of.isoformat()})
        mart = mart_figures(settings)[symbol]
    finally:
        transform.build(settings, select=PERFORMANCE_MART)
    assert mart == pytest.approx(expected_figures(history, as_of), abs=1e-4)


def test_a_10_to_1_split_day_shows_an_ordinary_return(built_warehouse):
    settings, _result = built_warehouse
    rows = query(
        settings,
        "select trading_date, close_price, price_change_pct, split_factor"
        " from mart.mart_daily_trading"
        " where symbol = 'NVDA' and trading_date between '2026-06-09' and '2026-06-10'"
        " order by trading_date",
    )
    (_, before_close, _, _), (_, split_close, split_return, split_factor) = rows
    assert float(before_close / split_close) == pytest.approx(10, rel=0.15)  # as traded
    assert split_factor == 10
    expected = 100 * (float(split_close) * 10 / float(before_close) - 1)
    assert float(split_return) == pytest.approx(expected, abs=1e-4)
    assert abs(split_return) < 15


def test_ex_dividend_total_return_is_the_textbook_formula(built_warehouse):
    settings, _result = built_warehouse
    rows = query(
        settings,
        """
        select prices.close_price, prices.previous_close_price, dividends.amount,
               prices.total_return_pct, prices.price_change_pct
        from core.fct_daily_prices as prices
        inner join raw.dividends as dividends
            on prices.symbol = dividends.symbol and prices.price_date = dividends.ex_dividend_date
        where prices.symbol = 'XOM' and prices.previous_close_price is not null
        """,
    )
    assert len(rows) >= 3
    for close, previous, amount, total_return, price_return in rows:
        textbook = 100 * ((float(close) + float(amount)) / float(previous) - 1)
        assert float(total_return) == pytest.approx(textbook, abs=1e-4)
        assert total_return > price_return

    history = query(
        settings,
        """
        select prices.close_price, prices.previous_close_price, coalesce(dividends.amount, 0)
        from core.fct_daily_prices as prices
        left join raw.dividends as dividends
            on prices.symbol = dividends.symbol and prices.price_date = dividends.ex_dividend_date
        where prices.symbol = 'XOM'
        order by prices.price_date desc
        limit 30
        """,
    )
    growth = math.prod((float(c) + float(d)) / float(p) for c, p, d in history)
    (mart_total_return,) = query(
        settings,
        "select total_return_30d_pct from mart.mart_stock_performance where symbol = 'XOM'",
    )[0]
    assert float(mart_total_return) == pytest.approx(100 * (growth - 1), abs=1e-3)


def break_bar(settings: Settings, sessions_back: int) -> tuple[str, date, Decimal]:
    """Make one stored bar of AAPL impossible (low above high), `sessions_back` trading days
    before the latest; returns its key and its true low."""
    dates = query(settings, "select distinct price_date from raw.daily_prices order by 1 desc")
    symbol, price_date = RESTATED_SYMBOL, dates[sessions_back][0]
    ((low,),) = query(
        settings,
        "update raw.daily_prices set low_price = high_price + 1"
        " where symbol = %s and price_date = %s"
        " returning (select low_price from raw.daily_prices where symbol = %s and price_date = %s)",
        (symbol, price_date, symbol, price_date),
    )
    return symbol, price_date, low


def test_daily_data_tests_read_the_lookback_window_and_a_full_check_every_bar(built_warehouse):
    """A bad bar older than the window passes the daily build's tests (they read what the
    build rewrote) and fails `test_whole_history`; one inside the window fails the daily build."""
    settings, _result = built_warehouse
    broken = []
    try:
        broken.append(break_bar(settings, sessions_back=100))
        transform.build(settings, select="stg_daily_prices")
        with pytest.raises(DbtBuildError, match="ohlc_valid_stg_daily_prices"):
            transform.build(settings, select="stg_daily_prices", vars={"test_whole_history": True})
        broken.append(break_bar(settings, sessions_back=2))
        with pytest.raises(DbtBuildError, match="ohlc_valid_stg_daily_prices"):
            transform.build(settings, select="stg_daily_prices")
    finally:
        for symbol, price_date, low in broken:
            query(
                settings,
                "update raw.daily_prices set low_price = %s where symbol = %s and price_date = %s",
                (low, symbol, price_date),
            )
    transform.build(settings, select="stg_daily_prices", vars={"test_whole_history": True})


def test_rerun_on_the_same_data_leaves_every_table_identical(built_warehouse):
    settings, _result = built_warehouse
    tables = [f"{schema}.{name}" for schema in ("core", "mart") for name in MODELS[schema]]
    before = table_checksums(settings, tables)
    transform.build(settings)
    assert table_checksums(settings, tables) == before


def test_the_completeness_tests_fail_on_bars_a_build_missed(restated_warehouse):
    """After a second night: a raw restatement of the first night's bar that no upsert stamped
    (so no watermark sees it), and a first-night mart bar lost outside dbt. The incremental
    build leaves both as they are, and the whole-history tests, which compare totals kept as
    each table is written, name both."""
    settings = restated_warehouse["settings"]
    with database_copy(settings) as copy:
        query(
            copy,
            "update raw.daily_prices set close_price = close_price + 1"
            " where symbol = 'AAPL' and price_date = (select min(price_date)"
            " from raw.daily_prices where symbol = 'AAPL')",
        )
        query(
            copy,
            "delete from mart.mart_daily_trading where symbol = 'MSFT' and trading_date ="
            " (select trading_date from mart.mart_daily_trading where symbol = 'MSFT'"
            " and lake_key is not null order by trading_date offset 20 limit 1)",
        )
        with pytest.raises(DbtBuildError) as failed:
            transform.build(copy)
    message = str(failed.value)
    assert "assert_daily_prices_hold_every_raw_bar" in message
    assert "assert_daily_trading_holds_every_fact_bar" in message


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
    incremental = table_checksum(settings, "core.fct_daily_prices")
    transform.build(settings, select="fct_daily_prices", full_refresh=True)
    assert table_checksum(settings, "core.fct_daily_prices") == incremental


LATE_SPLIT_SYMBOL = "AAPL"
LATE_SPLIT_SESSIONS_BACK = 25  # older than the lookback window of 10 trading days


def as_traded_with_split(end: date, split_day: date) -> dict:
    """The stand-in's series with a 2-for-1 split on `split_day`: earlier bars doubled, as
    traded, and their volume halved."""
    bars = standard_bars(LATE_SPLIT_SYMBOL, end, count=60)
    return {
        day: (o * 2, h * 2, lo * 2, c * 2, v // 2) if day < split_day else (o, h, lo, c, v)
        for day, (o, h, lo, c, v) in bars.items()
    }


@pytest.fixture(scope="module")
def late_split_warehouse(base_settings, s3_server, tmp_path_factory) -> Iterator[dict]:
    """Built from Alpha Vantage (the stand-in) while SPLITS still lists nothing; the next day
    SPLITS reports the split, 25 sessions back, and the incremental build runs again."""
    with (
        AlphaVantageStub() as stub,
        scratch_warehouse(base_settings, s3_server, tmp_path_factory.mktemp("state")) as scratch,
    ):
        settings = vendor_settings(scratch, stub, "dbt-test-key", symbols=(LATE_SPLIT_SYMBOL,))
        split_day = sorted(standard_bars(LATE_SPLIT_SYMBOL, DAY, count=60))[
            -LATE_SPLIT_SESSIONS_BACK
        ]
        stub.enqueue(
            LATE_SPLIT_SYMBOL,
            StubReply(body=data_body(LATE_SPLIT_SYMBOL, as_traded_with_split(DAY, split_day))),
        )
        load_day(settings, DAY)
        transform.build(settings)
        before = prices_by_key(settings)

        stub.enqueue(
            LATE_SPLIT_SYMBOL,
            StubReply(body=data_body(LATE_SPLIT_SYMBOL, as_traded_with_split(NEXT_DAY, split_day))),
        )
        stub.enqueue(
            LATE_SPLIT_SYMBOL,
            StubReply(body=splits_body(LATE_SPLIT_SYMBOL, [(split_day, "2.0000")])),
            function="SPLITS",
        )
        load_day(settings, NEXT_DAY, initialise=False)
        transform.build(settings)
        yield {
            "settings": settings,
            "split_day": split_day,
            "before": before,
            "after": prices_by_key(settings),
        }


def test_a_split_learned_late_re_adjusts_every_earlier_row(late_split_warehouse):
    split_day = late_split_warehouse["split_day"]
    before, after = late_split_warehouse["before"], late_split_warehouse["after"]
    columns = [
        row[0]
        for row in query(
            late_split_warehouse["settings"],
            "select column_name from information_schema.columns where table_schema = 'core'"
            " and table_name = 'fct_daily_prices' order by ordinal_position",
        )
    ]
    close, adjusted, change = (
        columns.index(name) for name in ("close_price", "adjusted_close_price", "price_change_pct")
    )
    earlier = [key for key in before if key[1] < split_day]
    assert len(earlier) == 60 - LATE_SPLIT_SESSIONS_BACK
    assert all(before[key][adjusted] == before[key][close] for key in earlier)
    assert all(after[key][adjusted] == after[key][close] / 2 for key in earlier)
    assert before[(LATE_SPLIT_SYMBOL, split_day)][change] < -40
    assert abs(after[(LATE_SPLIT_SYMBOL, split_day)][change]) < 10


def test_the_re_adjusted_history_equals_a_full_refresh(late_split_warehouse):
    settings = late_split_warehouse["settings"]
    incremental = table_checksum(settings, "core.fct_daily_prices")
    transform.build(settings, select="fct_daily_prices", full_refresh=True)
    assert table_checksum(settings, "core.fct_daily_prices") == incremental
