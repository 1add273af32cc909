"""Marts that stay true when the vendor leaves bars out, and accounts paid their dividends.

A warehouse of the demo's shape (`fintrade init` for 2026-12-01: 15 symbols, a year of
synthetic bars, 50 accounts) loses the bars of a split day, an ex-date, the as-of day and a
trade day, then `dbt build`. Every mart column those holes touch is checked against the
independent pandas recomputation of tests/support/recompute.py, and each of the defects the
data tests guard against is put back into the built tables to show its test fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pandas as pd
import pytest

from data_generator.settings import Settings
from data_generator.steps import transform
from data_generator.steps.transform import DbtBuildError
from tests.support.harness import load_day, scratch_warehouse
from tests.support.recompute import (
    Raw,
    adjusted_prices,
    carried_close,
    cash_changes,
    cents,
    dividends_owed,
    frame,
    market_value,
    read_raw,
    receivable,
    shares_held,
    window_figures,
)
from tests.support.warehouse import query, table_checksums

pytestmark = pytest.mark.dbt

AS_OF = date(2026, 12, 1)
SPLIT_DAY, EX_DATE, TRADE_DAY = date(2026, 6, 10), date(2026, 11, 10), date(2026, 6, 12)
MISSING_BARS = (("NVDA", SPLIT_DAY), ("KO", EX_DATE), ("XOM", AS_OF), ("KO", TRADE_DAY))


@pytest.fixture(scope="module")
def warehouse(base_settings, s3_server, tmp_path_factory) -> Iterator[Settings]:
    with scratch_warehouse(base_settings, s3_server, tmp_path_factory.mktemp("state")) as settings:
        load_day(settings, AS_OF)
        for symbol, day in MISSING_BARS:
            query(
                settings,
                "delete from raw.daily_prices where symbol = %s and price_date = %s",
                (symbol, day),
            )
        transform.build(settings)
        yield settings


@pytest.fixture(scope="module")
def raw(warehouse) -> Raw:
    return read_raw(warehouse)


@pytest.fixture(scope="module")
def owed(raw) -> pd.DataFrame:
    return dividends_owed(raw)


def test_the_holes_are_where_they_should_be(warehouse, raw):
    """The premises: trades on the removed trade and as-of days, a split on the split day, a KO
    dividend going ex on the removed ex-date, and someone holding NVDA over its split."""
    trades = raw.trades
    assert len(trades[(trades["symbol"] == "KO") & (trades["day"] == TRADE_DAY)]) > 0
    assert len(trades[(trades["symbol"] == "XOM") & (trades["day"] == AS_OF)]) > 0
    assert ((raw.splits["symbol"] == "NVDA") & (raw.splits["effective_date"] == SPLIT_DAY)).any()
    dividends = raw.dividends
    assert ((dividends["symbol"] == "KO") & (dividends["ex_date"] == EX_DATE)).any()
    assert shares_held(raw, "ACC00020", "NVDA", SPLIT_DAY) > 0
    for symbol, day in MISSING_BARS:
        bars = raw.closes
        assert not ((bars["symbol"] == symbol) & (bars["day"] == day)).any()


def test_every_dividend_owed_is_paid_into_cash_on_its_payment_date(warehouse, raw, owed):
    payments = frame(
        warehouse,
        "select account_id, symbol, ex_dividend_date, paid_date, held_quantity, paid_amount"
        " from core.fct_dividend_payments",
        ["account_id", "symbol", "ex_date", "paid_date", "shares", "cash"],
    )
    key = ["account_id", "symbol", "ex_date"]
    compared = [*key, "paid_date", "cash"]
    mart = payments.sort_values(key, ignore_index=True)
    expected = owed.sort_values(key, ignore_index=True)
    assert len(expected) > 200
    assert list(mart[compared].itertuples(index=False)) == list(
        expected[compared].itertuples(index=False)
    )
    assert [Fraction(s) for s in mart["shares"]] == list(expected["shares"])

    pfe = expected[(expected["account_id"] == "ACC00002") & (expected["symbol"] == "PFE")]
    assert Decimal("9486.79") in set(pfe["cash"])  # 439 shares x $21.61, ex 2026-10-12

    paid = owed[owed["paid_date"] <= AS_OF].groupby("account_id")["cash"].sum()
    changes = cash_changes(raw, owed)
    opening = dict(zip(raw.accounts["account_id"], raw.accounts["balance"], strict=True))
    summary = frame(
        warehouse,
        "select account_id, dividend_income, cash_balance, opening_cash, balance"
        " from mart.mart_account_summary",
        ["account_id", "dividend_income", "cash", "opening_cash", "balance"],
    )
    assert len(summary) == 50
    for row in summary.itertuples():
        assert row.dividend_income == paid.get(row.account_id, Decimal(0)), row.account_id
        mine = changes[(changes["account_id"] == row.account_id) & (changes["day"] <= AS_OF)]
        assert row.cash == opening[row.account_id] + mine["change"].sum(), row.account_id
        assert row.opening_cash == row.balance == opening[row.account_id]
    assert summary["dividend_income"].sum() == paid.sum() > 0


def test_positions_and_equity_on_days_without_a_bar_use_the_carried_close_in_the_days_shares(
    warehouse, raw, owed
):
    positions = frame(
        warehouse,
        "select account_id, symbol, as_of_date, quantity, close_price_date, close_price,"
        " market_value from mart.mart_positions"
        " where symbol || ' ' || as_of_date = any(%s)",
        ["account_id", "symbol", "day", "quantity", "close_day", "close", "market_value"],
        ([f"{symbol} {day}" for symbol, day in MISSING_BARS],),
    )
    assert set(zip(positions["symbol"], positions["day"], strict=True)) == set(MISSING_BARS)
    for row in positions.itertuples():
        shares = shares_held(raw, row.account_id, row.symbol, row.day)
        close = carried_close(raw, row.symbol, row.day)
        assert close is not None
        assert row.close_day < row.day
        assert Fraction(row.quantity) == shares, row
        assert abs(Fraction(row.close) - close) <= Fraction(1, 20000), row
        assert row.market_value == cents(shares * close), row

    changes = cash_changes(raw, owed)
    opening = dict(zip(raw.accounts["account_id"], raw.accounts["balance"], strict=True))
    days = sorted({day for _symbol, day in MISSING_BARS})
    equity = frame(
        warehouse,
        "select account_id, equity_date, cash_balance, market_value, total_equity"
        " from mart.mart_account_daily_equity where equity_date = any(%s)",
        ["account_id", "day", "cash", "market_value", "equity"],
        (days,),
    )
    assert len(equity) == 50 * len(days)
    for row in equity.itertuples():
        mine = changes[(changes["account_id"] == row.account_id) & (changes["day"] <= row.day)]
        cash = opening[row.account_id] + mine["change"].sum()
        value = market_value(raw, row.account_id, row.day)
        owed_not_paid = receivable(owed, row.account_id, row.day)
        assert (row.cash, row.market_value, row.equity) == (
            cash,
            value,
            cash + value + owed_not_paid,
        ), row
    # KO went ex on the removed 2026-11-10 and pays on 2026-12-01: owed on 2026-11-10's close.
    assert any(receivable(owed, a, EX_DATE) > 0 for a in opening)

    (nvda,) = query(
        warehouse,
        "select market_value, quantity from mart.mart_positions"
        " where account_id = 'ACC00020' and symbol = 'NVDA' and as_of_date = %s",
        (SPLIT_DAY,),
    )
    bars = raw.closes[(raw.closes["symbol"] == "NVDA") & (raw.closes["day"] < SPLIT_DAY)]
    pre_split_close = Fraction(bars["close"].iloc[-1])
    # Valued in post-split shares: a tenth of what quantity x the pre-split close would be.
    assert nvda[0] == cents(Fraction(nvda[1]) * pre_split_close / 10) > 0


def test_daily_trading_keeps_every_trade_and_order_of_a_day_without_a_bar(warehouse, raw):
    trading = frame(
        warehouse,
        "select symbol, trading_date, trade_count, order_count, close_price, market_volume"
        " from mart.mart_daily_trading",
        ["symbol", "day", "trades", "orders", "close", "volume"],
    )
    orders = frame(
        warehouse,
        "select symbol, (created_at at time zone 'America/New_York')::date from raw.orders",
        ["symbol", "day"],
    )
    expected_trades = raw.trades.groupby(["symbol", "day"]).size()
    expected_orders = orders.groupby(["symbol", "day"]).size()
    shown = trading.set_index(["symbol", "day"])
    for key, count in expected_trades.items():
        assert shown.loc[key, "trades"] == count, key
    for key, count in expected_orders.items():
        assert shown.loc[key, "orders"] == count, key
    assert trading["trades"].sum() == len(raw.trades)
    for symbol, day in (("KO", TRADE_DAY), ("XOM", AS_OF)):
        row = shown.loc[(symbol, day)]
        assert row["trades"] > 0
        assert pd.isna(row["close"]) and pd.isna(row["volume"])
    assert ("NVDA", SPLIT_DAY) not in shown.index or shown.loc[("NVDA", SPLIT_DAY), "trades"] > 0


STOCK_COLUMNS = [
    "latest_price_date",
    "return_30d_pct",
    "total_return_30d_pct",
    "volatility_30d_pct",
    "volatility_30d_sessions",
    "avg_volume_30d",
    "avg_volume_30d_sessions",
    "volatility_1y_pct",
    "volatility_1y_sessions",
    "high_52w_price",
    "low_52w_price",
    "high_low_52w_sessions",
]


def stock_figures_against_pandas(
    settings: Settings, raw: Raw, as_of: date
) -> dict[str, dict[str, object]]:
    """mart_stock_performance's window columns, asserted equal to pandas for every stock."""
    prices = adjusted_prices(settings)
    mart = {
        row[0]: dict(zip(STOCK_COLUMNS, row[1:], strict=True))
        for row in query(
            settings,
            f"select symbol, {', '.join(STOCK_COLUMNS)} from mart.mart_stock_performance",
        )
    }
    assert len(mart) == 15
    for symbol, history in prices.groupby("symbol"):
        dividends = raw.dividends[raw.dividends["symbol"] == symbol]
        expected = window_figures(history, dividends, as_of, splits=raw.splits)
        for column in STOCK_COLUMNS:
            got, want = mart[str(symbol)][column], expected[column]
            if want is None or got is None:
                assert got is want is None, (symbol, column, got, want)
            elif isinstance(want, date | int):
                assert got == want, (symbol, column)
            else:
                # Shares of volume are averaged from whole adjusted shares: within one share.
                tolerance = 1 if column == "avg_volume_30d" else 1e-3
                assert float(got) == pytest.approx(want, abs=tolerance), (symbol, column)
    return mart


def test_stock_figures_equal_pandas_on_the_exchange_calendar(warehouse, raw):
    """Every stock, with KO's ex-date dividend counted from its next bar, XOM's window missing
    its as-of bar and NVDA's split day absent."""
    mart = stock_figures_against_pandas(warehouse, raw, AS_OF)
    assert mart["XOM"]["latest_price_date"] < AS_OF
    assert mart["XOM"]["avg_volume_30d_sessions"] == 29
    assert mart["AAPL"]["volatility_1y_sessions"] == 250  # a year of history: shown

    stocks = frame(
        warehouse,
        "select sector, return_30d_pct, volatility_30d_pct, avg_volume_30d, total_return_30d_pct"
        " from mart.mart_stock_performance",
        ["sector", "return", "volatility", "volume", "total_return"],
    )
    sectors = frame(
        warehouse,
        "select sector, stock_count, avg_return_30d_pct, avg_volatility_30d_pct,"
        " total_avg_volume_30d, avg_daily_volume_30d, avg_total_return_30d_pct"
        " from mart.mart_sector_performance",
        ["sector", "count", "return", "volatility", "volume", "volume_alias", "total_return"],
    ).set_index("sector")
    for sector, members in stocks.groupby("sector"):
        row = sectors.loc[sector]
        assert row["count"] == len(members)
        assert (
            row["volume"] == row["volume_alias"] == sum(int(v) for v in members["volume"].dropna())
        )
        for column in ("return", "volatility", "total_return"):
            expected = members[column].dropna().astype(float).mean()
            assert float(row[column]) == pytest.approx(expected, abs=1e-4), (sector, column)


def test_a_compact_history_of_100_sessions_leaves_the_year_figures_null(warehouse, raw):
    """As of the 100th session of the history (what a free Alpha Vantage key gives), the 1-year
    volatility and the 52-week range are null, with the sessions they had beside them; the
    30-session figures stand."""
    ((as_of,),) = query(
        warehouse,
        "select price_date from raw.daily_prices where symbol = 'AAPL'"
        " order by price_date offset 99 limit 1",
    )
    try:
        transform.build(warehouse, select="mart_stock_performance", vars={"as_of": str(as_of)})
        mart = stock_figures_against_pandas(warehouse, raw, as_of)
    finally:
        transform.build(warehouse, select="mart_stock_performance")
    for figures in mart.values():
        assert figures["volatility_1y_pct"] is None and figures["volatility_1y_sessions"] == 99
        assert figures["high_52w_price"] is figures["low_52w_price"] is None
        assert figures["high_low_52w_sessions"] == 100
        assert figures["volatility_30d_pct"] is not None


def test_a_rebuild_over_the_holes_changes_no_row(warehouse):
    """The incremental build re-reads the lookback window, rows of activity without a bar
    included, and writes the same rows again."""
    tables = [
        "core.fct_daily_prices",
        "core.fct_dividend_payments",
        "mart.mart_daily_trading",
        "mart.mart_positions",
        "mart.mart_account_daily_equity",
        "mart.mart_account_summary",
        "mart.mart_stock_performance",
    ]
    before = table_checksums(warehouse, tables)
    result = transform.build(warehouse, select="core mart")
    built = re.search(r"TOTAL=(\d+)", result.summary)
    assert built and int(built[1]) > 100
    assert table_checksums(warehouse, tables) == before


@contextmanager
def altered(settings: Settings, table: str, where: str, change: str) -> Iterator[None]:
    """Run `change` on `table`, then put the rows matching `where` back as they were."""
    backup = f"public.backup_{table.split('.')[1]}"
    query(settings, f"create table {backup} as select * from {table} where {where}")
    query(settings, change)
    try:
        yield
    finally:
        query(
            settings,
            f"delete from {table} where {where};"
            f" insert into {table} select * from {backup}; drop table {backup}",
        )


AFTER_SPLIT = f"symbol = 'NVDA' and as_of_date = '{SPLIT_DAY}'"
KO_NEXT_BAR = (
    "symbol = 'KO' and price_date = (select min(price_date) from core.fct_daily_prices"
    f" where symbol = 'KO' and price_date > '{EX_DATE}')"
)
DEFECTS = [
    pytest.param(
        "mart.mart_account_summary",
        "true",
        "update mart.mart_account_summary"
        " set cash_balance = cash_balance - dividend_income, dividend_income = 0",
        "assert_dividends_paid_to_holders",
        id="dividends not paid",
    ),
    pytest.param(
        "mart.mart_positions",
        AFTER_SPLIT,
        f"update mart.mart_positions set market_value = market_value * 10 where {AFTER_SPLIT}",
        "assert_positions_match_trades_and_closes",
        id="carried close not split-adjusted",
    ),
    pytest.param(
        "mart.mart_daily_trading",
        "close_price is null",
        "delete from mart.mart_daily_trading where close_price is null",
        "assert_daily_trading_counts_every_trade_and_order",
        id="trades of a day without a bar dropped",
    ),
    pytest.param(
        "core.fct_daily_prices",
        KO_NEXT_BAR,
        f"update core.fct_daily_prices set total_return_pct = price_change_pct where {KO_NEXT_BAR}",
        "assert_every_dividend_counts_in_total_returns",
        id="dividend of an ex-date without a bar dropped",
    ),
    pytest.param(
        "mart.mart_stock_performance",
        "symbol = 'XOM'",
        "update mart.mart_stock_performance set avg_volume_30d_sessions = 30 where symbol = 'XOM'",
        "window_figures_cover_their_sessions",
        id="window counted in the symbol's own bars",
    ),
    pytest.param(
        "mart.mart_stock_performance",
        "symbol = 'AAPL'",
        "update mart.mart_stock_performance set volatility_1y_sessions = 100 where symbol = 'AAPL'",
        "window_figures_cover_their_sessions",
        id="1-year figure over 100 sessions",
    ),
]


@pytest.mark.parametrize(("table", "where", "change", "data_test"), DEFECTS)
def test_each_defect_written_back_fails_its_data_test(warehouse, table, where, change, data_test):
    """The defects of issue 20, written back into the built tables: the data test that guards
    against each fails the build, naming itself, and the rows are restored afterwards."""
    singular = data_test.startswith("assert_")
    with altered(warehouse, table, where, change), pytest.raises(DbtBuildError) as failure:
        # A singular test is selected by its name, a generic one by its macro's.
        transform.build(warehouse, select=data_test if singular else f"test_name:{data_test}")
    assert f"{data_test}" in str(failure.value)
