"""Accounts that reconcile, on pipeline-made data: `fintrade init`, a later day, then a backfill of
the day between, with a stock split stored in between, and `dbt build`. Cash, holdings, market
value and FIFO P&L in the marts are checked against an independent pandas recomputation from the
raw rows."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest

from data_generator.settings import Settings
from data_generator.steps import transform
from tests.support.harness import load_day, scratch_warehouse
from tests.support.recompute import (
    Raw,
    cash_changes,
    dividends_owed,
    frame,
    read_raw,
    receivable,
    split_factor,
)
from tests.support.warehouse import query, table_checksums

pytestmark = pytest.mark.dbt

SYMBOLS = ("AAPL", "JPM", "XOM")
INIT_DAY = date(2026, 11, 23)
LATER_DAY = date(2026, 11, 25)
BACKFILLED_DAY = date(2026, 11, 24)
SPLIT_SYMBOL, SPLIT_FACTOR = "AAPL", Decimal(2)  # effective LATER_DAY, stored after init
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def warehouse(base_settings, s3_server, tmp_path_factory) -> Iterator[Settings]:
    with scratch_warehouse(base_settings, s3_server, tmp_path_factory.mktemp("state")) as scratch:
        settings = scratch.with_overrides(symbols=SYMBOLS, history_days=120)
        load_day(settings, INIT_DAY)
        query(
            settings,
            "insert into raw.stock_splits (symbol, effective_date, split_factor, source, lake_key)"
            " values (%s, %s, %s, 'test', 'test')",
            (SPLIT_SYMBOL, LATER_DAY, SPLIT_FACTOR),
        )
        load_day(settings, LATER_DAY, initialise=False)
        load_day(settings, BACKFILLED_DAY, initialise=False)
        transform.build(settings)
        yield settings


@pytest.fixture(scope="module")
def raw(warehouse) -> Raw:
    return read_raw(warehouse)


def fifo(raw: Raw) -> dict[str, dict[str, Decimal]]:
    """Per account: realised P&L, and cost of the lots still held, FIFO in post-split shares."""
    result: dict[str, dict[str, Decimal]] = {}
    lots: dict[tuple[str, str], deque] = {}
    for trade in raw.trades.itertuples():
        shares = trade.quantity * split_factor(raw.splits, trade.symbol, trade.day, None)
        book = lots.setdefault((trade.account_id, trade.symbol), deque())
        totals = result.setdefault(trade.account_id, {"realised": Decimal(0), "open": Decimal(0)})
        if trade.side == "buy":
            book.append([shares, Fraction(trade.amount) / shares])
            continue
        cost = Fraction(0)
        while shares:
            lot = book[0]
            taken = min(lot[0], shares)
            cost += taken * lot[1]
            lot[0] -= taken
            shares -= taken
            if lot[0] == 0:
                book.popleft()
        totals["realised"] += trade.amount - Decimal(cost.numerator) / cost.denominator
    for (account_id, _symbol), book in lots.items():
        open_cost = sum((lot[0] * lot[1] for lot in book), Fraction(0))
        result[account_id]["open"] += Decimal(open_cost.numerator) / open_cost.denominator
    return result


def test_each_day_brought_activity_and_a_rerun_adds_nothing(warehouse):
    days = dict(
        query(
            warehouse,
            "select substr(order_id, 4, 8), count(*) from raw.orders"
            " where order_id ~ '^ORD[0-9]{12}$' group by 1",
        )
    )
    assert set(days) == {d.strftime("%Y%m%d") for d in (INIT_DAY, BACKFILLED_DAY, LATER_DAY)}
    assert query(warehouse, "select count(*) from raw.cash_movements")[0][0] > 0
    tables = ("raw.orders", "raw.trades", "raw.cash_movements")
    before = table_checksums(warehouse, tables, exclude=("loaded_at",))

    report = load_day(warehouse, BACKFILLED_DAY, initialise=False)

    assert report.activity.skipped == "the day's activity is already stored"
    assert table_checksums(warehouse, tables, exclude=("loaded_at",)) == before


def test_cash_reconciles_for_every_account_and_never_goes_negative(warehouse, raw):
    owed = dividends_owed(raw)
    changes = cash_changes(raw, owed)
    opening = dict(zip(raw.accounts["account_id"], raw.accounts["balance"], strict=True))
    for account_id, account in changes.groupby("account_id"):
        running = opening[account_id] + account["change"].cumsum()
        assert (running >= 0).all(), f"{account_id} spent cash it did not have"
    expected = {
        account_id: opening[account_id]
        + changes.loc[changes["account_id"] == account_id, "change"].sum()
        for account_id in opening
    }
    summary = dict(
        query(warehouse, "select account_id, cash_balance from mart.mart_account_summary")
    )
    assert summary == expected
    assert len(summary) == 50

    daily = frame(
        warehouse,
        "select account_id, equity_date, cash_balance, market_value, total_equity"
        " from mart.mart_account_daily_equity",
        ["account_id", "day", "cash", "market_value", "equity"],
    )
    for row in daily.sample(300, random_state=1).itertuples():
        to_date = changes[(changes["account_id"] == row.account_id) & (changes["day"] <= row.day)]
        assert row.cash == opening[row.account_id] + to_date["change"].sum(), row
        assert row.equity == row.cash + row.market_value + receivable(owed, row.account_id, row.day)
    assert (daily["cash"] >= 0).all()


def test_holdings_equal_buys_minus_sells_and_are_never_negative(warehouse, raw):
    trades = raw.trades
    for (account_id, symbol), held in trades.groupby(["account_id", "symbol"]):
        running = Fraction(0)
        for trade in held.itertuples():
            signed = trade.quantity if trade.side == "buy" else -trade.quantity
            running += signed * split_factor(raw.splits, symbol, trade.day, None)
            assert running >= 0, f"{account_id} sold {symbol} it did not hold ({trade.trade_id})"

    positions = frame(
        warehouse,
        "select account_id, symbol, as_of_date, quantity from mart.mart_positions",
        ["account_id", "symbol", "day", "quantity"],
    )
    assert len(positions) > 1000
    assert (positions["quantity"] >= 0).all()
    for row in positions.sample(500, random_state=2).itertuples():
        mine = trades[
            (trades["account_id"] == row.account_id)
            & (trades["symbol"] == row.symbol)
            & (trades["day"] <= row.day)
        ]
        expected = sum(
            (
                (t.quantity if t.side == "buy" else -t.quantity)
                * split_factor(raw.splits, row.symbol, t.day, row.day)
                for t in mine.itertuples()
            ),
            Fraction(0),
        )
        assert row.quantity == Decimal(expected.numerator) / expected.denominator, row


def test_the_split_multiplies_shares_held_and_divides_their_cost(warehouse):
    before_after = query(
        warehouse,
        """
        select before.quantity, after.quantity, before.average_cost, after.average_cost
        from mart.mart_positions as before
        join mart.mart_positions as after using (account_id, symbol)
        where symbol = %s and before.as_of_date = %s and after.as_of_date = %s
          and before.quantity > 0
          and not exists (
              select 1 from raw.trades t
              where t.account_id = before.account_id and t.symbol = before.symbol
                and (t.traded_at at time zone 'America/New_York')::date = %s
          )
        """,
        (SPLIT_SYMBOL, BACKFILLED_DAY, LATER_DAY, LATER_DAY),
    )
    assert before_after
    for quantity_before, quantity_after, cost_before, cost_after in before_after:
        assert quantity_after == quantity_before * SPLIT_FACTOR
        assert abs(cost_after * SPLIT_FACTOR - cost_before) <= Decimal("0.0002")


def test_market_value_is_quantity_times_that_days_close(warehouse, raw):
    positions = frame(
        warehouse,
        "select symbol, as_of_date, quantity, close_price, market_value, cost_basis,"
        " unrealised_pnl from mart.mart_positions",
        ["symbol", "day", "quantity", "close", "market_value", "cost_basis", "unrealised"],
    )
    merged = positions.merge(raw.closes, on=["symbol", "day"], suffixes=("", "_raw"))
    assert len(merged) == len(positions)
    expected = [
        (q * c).quantize(CENT, ROUND_HALF_UP)
        for q, c in zip(merged["quantity"], merged["close_raw"], strict=True)
    ]
    assert list(merged["market_value"]) == expected
    assert (merged["unrealised"] == merged["market_value"] - merged["cost_basis"]).all()


def test_realised_pnl_and_open_cost_equal_a_fifo_recomputation(warehouse, raw):
    expected = fifo(raw)
    summary = {
        row[0]: row[1:]
        for row in query(
            warehouse,
            "select account_id, realised_pnl, cost_basis, market_value, open_position_value"
            " from mart.mart_account_summary",
        )
    }
    assert any(figures["realised"] != 0 for figures in expected.values())
    for account_id, figures in expected.items():
        realised, cost_basis, market_value, open_value = summary[account_id]
        # The mart rounds each symbol's figure to cents: at most half a cent per symbol.
        assert abs(realised - figures["realised"]) <= len(SYMBOLS) * Decimal("0.005"), account_id
        assert abs(cost_basis - figures["open"]) <= len(SYMBOLS) * Decimal("0.005"), account_id
        assert open_value == market_value
