"""Figures true at the edges (issue 28), on a warehouse of the demo's shape (`fintrade init` for
2026-12-01) perturbed in raw, then `dbt build`:

- dividends ex-dated before a symbol's stored history (the demo data has them for most symbols);
- XOM splits 2:1 on the as-of date, whose XOM bar is missing;
- no symbol has a bar on the session 2026-11-17;
- a deposit and a dividend payment dated Saturday 2026-11-28, the as-of date of a second build.

Each figure is checked against the pandas recomputation of tests/support/recompute.py, and the
four defects written back into the built tables fail their data tests in one dbt run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pandas as pd
import pytest

from data_generator.settings import Settings
from data_generator.steps import transform
from data_generator.steps.transform import DbtBuildError
from tests.integration.test_missing_bars import stock_figures_against_pandas
from tests.support.harness import load_day, scratch_warehouse
from tests.support.recompute import (
    Raw,
    bar_dividends,
    carried_close,
    cash_changes,
    cents,
    dividends_owed,
    frame,
    market_value,
    read_raw,
    receivable,
    shares_held,
)
from tests.support.warehouse import query

pytestmark = pytest.mark.dbt

AS_OF = date(2026, 12, 1)
SPLIT_SYMBOL = "XOM"  # 2:1 effective AS_OF, its AS_OF bar removed
NO_BAR_SESSION = date(2026, 11, 17)  # a Tuesday: every symbol's bar removed
SATURDAY = date(2026, 11, 28)
DEPOSIT_ACCOUNT, DEPOSIT = "ACC00025", Decimal("1642.88")
PAID_SATURDAY = ("JPM", date(2026, 11, 20))  # a dividend added, paid SATURDAY
ACCOUNT_MARTS = "mart_positions mart_account_daily_equity mart_account_summary"
STOCK_MARTS = "mart_stock_performance mart_sector_performance"


def perturb_raw(settings: Settings) -> None:
    """The split, the session without bars, the Saturday deposit and dividend (module doc)."""
    query(
        settings,
        "insert into raw.stock_splits (symbol, effective_date, split_factor, source, lake_key)"
        " values (%s, %s, 2, 'test', 'test');"
        " delete from raw.daily_prices where (symbol = %s and price_date = %s)"
        " or price_date = %s;"
        " insert into raw.cash_movements (movement_id, account_id, movement_type, amount,"
        " moved_at) values ('CSHTEST00001', %s, 'deposit', %s,"
        " (%s::date + time '08:00') at time zone 'America/New_York');"
        " insert into raw.dividends (symbol, ex_dividend_date, amount, payment_date, source,"
        " lake_key) values (%s, %s, 0.5, %s, 'test', 'test')",
        (
            SPLIT_SYMBOL,
            AS_OF,
            SPLIT_SYMBOL,
            AS_OF,
            NO_BAR_SESSION,
            DEPOSIT_ACCOUNT,
            DEPOSIT,
            SATURDAY,
            *PAID_SATURDAY,
            SATURDAY,
        ),
    )


@pytest.fixture(scope="module")
def warehouse(base_settings, s3_server, tmp_path_factory) -> Iterator[Settings]:
    with scratch_warehouse(base_settings, s3_server, tmp_path_factory.mktemp("state")) as settings:
        load_day(settings, AS_OF)
        perturb_raw(settings)
        transform.build(settings)
        yield settings


@pytest.fixture(scope="module")
def raw(warehouse) -> Raw:
    return read_raw(warehouse)


@pytest.fixture(scope="module")
def owed(raw) -> pd.DataFrame:
    return dividends_owed(raw)


def test_a_dividend_from_before_the_history_lands_on_no_bar(warehouse, raw):
    """Every bar's dividend_amount, in fct_daily_prices and mart_daily_trading, is pandas': the
    first bars carry none of the dividends ex-dated before them."""
    bars = frame(
        warehouse,
        "select p.symbol, p.price_date, p.dividend_amount, t.dividend_amount"
        " from core.fct_daily_prices as p left join mart.mart_daily_trading as t"
        " on t.symbol = p.symbol and t.trading_date = p.price_date",
        ["symbol", "day", "fct", "mart"],
    ).sort_values(["symbol", "day"], ignore_index=True)
    first_bars = bars.groupby("symbol")["day"].min()
    dividends = raw.dividends
    before_history = [
        symbol
        for symbol, first in first_bars.items()
        if (dividends[dividends["symbol"] == symbol]["ex_date"] < first).any()
    ]
    assert len(before_history) >= 10
    for symbol, history in bars.groupby("symbol"):
        expected = bar_dividends(dividends[dividends["symbol"] == symbol], list(history["day"]))
        assert [Fraction(a) for a in history["fct"]] == expected, symbol
        assert [Fraction(a) for a in history["mart"]] == expected, symbol
    nvda = bars[(bars["symbol"] == "NVDA") & (bars["day"] == first_bars["NVDA"])]
    assert list(nvda["fct"]) == list(nvda["mart"]) == [0]


def test_a_split_after_the_latest_bar_puts_the_window_figures_in_the_as_of_shares(warehouse, raw):
    """XOM's latest bar is the day before its split; its 52-week range and 30-day volume are in
    the as-of date's (post-split) shares, and so is the Energy sector's volume total."""
    mart = stock_figures_against_pandas(warehouse, raw, AS_OF)
    assert mart[SPLIT_SYMBOL]["latest_price_date"] < AS_OF
    ((latest_bar_high,),) = query(
        warehouse,
        "select max(high_price) from raw.daily_prices where symbol = %s and price_date > %s",
        (SPLIT_SYMBOL, date(2025, 12, 2)),
    )
    # Every bar of the 52 weeks is before the split: the range is half the as-traded one.
    assert mart[SPLIT_SYMBOL]["high_52w_price"] == round(latest_bar_high / 2, 4)
    ((energy,),) = query(
        warehouse,
        "select total_avg_volume_30d from mart.mart_sector_performance where sector ="
        " (select sector from mart.mart_stock_performance where symbol = %s)",
        (SPLIT_SYMBOL,),
    )
    ((members,),) = query(
        warehouse,
        "select sum(avg_volume_30d) from mart.mart_stock_performance where sector ="
        " (select sector from mart.mart_stock_performance where symbol = %s)",
        (SPLIT_SYMBOL,),
    )
    assert energy == members


def test_a_session_without_a_single_bar_keeps_its_positions_and_equity(warehouse, raw, owed):
    assert not (raw.closes["day"] == NO_BAR_SESSION).any()
    positions = frame(
        warehouse,
        "select account_id, symbol, quantity, close_price_date, close_price, market_value"
        " from mart.mart_positions where as_of_date = %s",
        ["account_id", "symbol", "quantity", "close_day", "close", "market_value"],
        (NO_BAR_SESSION,),
    )
    trades = raw.trades
    held = set(
        zip(
            trades.loc[trades["day"] <= NO_BAR_SESSION, "account_id"],
            trades.loc[trades["day"] <= NO_BAR_SESSION, "symbol"],
            strict=True,
        )
    )
    assert set(zip(positions["account_id"], positions["symbol"], strict=True)) == held
    assert len(held) > 100
    for row in positions.itertuples():
        shares = shares_held(raw, row.account_id, row.symbol, NO_BAR_SESSION)
        close = carried_close(raw, row.symbol, NO_BAR_SESSION)
        assert close is not None and row.close_day < NO_BAR_SESSION
        assert Fraction(row.quantity) == shares, row
        assert row.market_value == cents(shares * close), row

    changes = cash_changes(raw, owed)
    opening = dict(zip(raw.accounts["account_id"], raw.accounts["balance"], strict=True))
    equity = frame(
        warehouse,
        "select account_id, cash_balance, market_value, total_equity"
        " from mart.mart_account_daily_equity where equity_date = %s",
        ["account_id", "cash", "market_value", "equity"],
        (NO_BAR_SESSION,),
    )
    assert len(equity) == 50
    for row in equity.itertuples():
        mine = changes[
            (changes["account_id"] == row.account_id) & (changes["day"] <= NO_BAR_SESSION)
        ]
        cash = opening[row.account_id] + mine["change"].sum()
        value = market_value(raw, row.account_id, NO_BAR_SESSION)
        assert (row.cash, row.market_value, row.equity) == (
            cash,
            value,
            cash + value + receivable(owed, row.account_id, NO_BAR_SESSION),
        ), row


def test_a_saturday_as_of_date_counts_that_days_deposits_and_dividends(warehouse, raw, owed):
    """Built as of Saturday 2026-11-28 (its data tests pass, or the build raises): the summary
    has the deposit and the dividends paid that day, and then the defects of issue 28 written
    back into the built tables fail their data tests, each naming itself."""
    paid_saturday = owed[owed["paid_date"] == SATURDAY]
    assert len(paid_saturday) > 0
    written_back = False
    try:
        transform.build(
            warehouse, select=f"{ACCOUNT_MARTS} {STOCK_MARTS}", vars={"as_of": str(SATURDAY)}
        )
        summary = frame(
            warehouse,
            "select account_id, as_of_date, deposit_amount, cash_balance, dividend_income,"
            " dividend_receivable, market_value, total_equity from mart.mart_account_summary",
            ["account_id", "as_of", "deposits", "cash", "income", "receivable", "value", "equity"],
        )
        assert set(summary["as_of"]) == {SATURDAY}
        changes = cash_changes(raw, owed)
        movements = raw.movements
        opening = dict(zip(raw.accounts["account_id"], raw.accounts["balance"], strict=True))
        for row in summary.itertuples():
            mine = changes[(changes["account_id"] == row.account_id) & (changes["day"] <= SATURDAY)]
            deposits = movements[
                (movements["account_id"] == row.account_id)
                & (movements["kind"] == "deposit")
                & (movements["day"] <= SATURDAY)
            ]
            paid = owed[(owed["account_id"] == row.account_id) & (owed["paid_date"] <= SATURDAY)]
            value = market_value(raw, row.account_id, SATURDAY)
            owed_not_paid = receivable(owed, row.account_id, SATURDAY)
            cash = opening[row.account_id] + mine["change"].sum()
            assert (row.deposits, row.cash, row.income, row.receivable, row.value, row.equity) == (
                deposits["amount"].sum(),
                cash,
                paid["cash"].sum(),
                owed_not_paid,
                value,
                cash + value + owed_not_paid,
            ), row
        saturday = summary.set_index("account_id").loc[DEPOSIT_ACCOUNT]
        assert saturday["deposits"] >= DEPOSIT
        stock_figures_against_pandas(warehouse, raw, SATURDAY)

        defects_written_back = (
            # every dividend before the history summed onto NVDA's first bar
            "update core.fct_daily_prices set dividend_amount = dividend_amount + 1"
            " where symbol = 'NVDA' and price_date = (select min(price_date)"
            " from core.fct_daily_prices where symbol = 'NVDA');"
            # XOM's figures in the latest bar's shares, not the as-of date's
            "update mart.mart_stock_performance set high_52w_price = high_52w_price * 2"
            " where symbol = 'XOM';"
            # the session without bars dropped
            f"delete from mart.mart_account_daily_equity where equity_date = '{NO_BAR_SESSION}';"
            # the Saturday deposit left for the next session
            f"update mart.mart_account_summary set deposit_amount = deposit_amount - {DEPOSIT}"
            f" where account_id = '{DEPOSIT_ACCOUNT}'"
        )
        query(warehouse, defects_written_back)
        written_back = True
        data_tests = (
            "assert_no_dividend_from_before_the_history",
            "assert_stock_figures_in_as_of_shares",
            "assert_account_marts_cover_every_session",
            "assert_account_flows_count_to_the_as_of_date",
        )
        with pytest.raises(DbtBuildError) as failure:
            transform.build(warehouse, select=" ".join(data_tests))
        for data_test in data_tests:
            assert data_test in str(failure.value)
    finally:
        if written_back:
            query(
                warehouse,
                "update core.fct_daily_prices set dividend_amount = dividend_amount - 1"
                " where symbol = 'NVDA' and price_date = (select min(price_date)"
                " from core.fct_daily_prices where symbol = 'NVDA')",
            )
        transform.build(warehouse, select=f"{ACCOUNT_MARTS} {STOCK_MARTS}")
