"""Faker OLTP: deterministic accounts, orders and trades priced inside their day's range."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo

from data_generator.settings import Settings
from tests.support.harness import run_fintrade
from tests.support.warehouse import query, table_checksums

DAY = date(2026, 11, 25)
NEW_YORK = ZoneInfo("America/New_York")


def init(settings: Settings):
    return run_fintrade(settings, "init", "--date", DAY.isoformat(), "--symbols", "AAPL,JPM,XOM")


def test_init_makes_accounts_orders_and_trades_inside_the_day_range(settings):
    result = init(settings)

    assert result.returncode == 0, result.stderr
    accounts = query(settings, "select account_type, balance from raw.accounts")
    assert len(accounts) == 50
    assert {a[0] for a in accounts} == {"individual", "institutional"}
    assert all(a[1] > 0 for a in accounts)
    statuses = dict(query(settings, "select status, count(*) from raw.orders group by status"))
    assert set(statuses) == {"filled", "partial", "cancelled"}
    assert sum(statuses.values()) >= 500
    outside = query(
        settings,
        """
        select t.trade_id from raw.trades t
        left join raw.daily_prices p
          on p.symbol = t.symbol
         and p.price_date = (t.traded_at at time zone 'America/New_York')::date
        where p.symbol is null or t.price not between p.low_price and p.high_price
        """,
    )
    assert outside == []
    untraded = query(
        settings,
        "select o.order_id from raw.orders o left join raw.trades t using (order_id) "
        "where o.status in ('filled', 'partial') and t.trade_id is null",
    )
    assert untraded == []
    for (traded_at,) in query(settings, "select traded_at from raw.trades"):
        local = traded_at.astimezone(NEW_YORK)
        assert time(9, 30) <= local.time() <= time(16, 0)
        assert local.weekday() < 5


def test_init_is_deterministic_and_a_rerun_adds_nothing(settings):
    assert init(settings).returncode == 0
    tables = ("raw.accounts", "raw.orders", "raw.trades", "raw.cash_movements")
    first = table_checksums(settings, tables, exclude=("loaded_at",))

    rerun = init(settings)
    assert rerun.returncode == 0
    assert table_checksums(settings, tables, exclude=("loaded_at",)) == first

    query(settings, "truncate raw.accounts, raw.orders, raw.trades")
    assert init(settings).returncode == 0
    assert table_checksums(settings, tables, exclude=("loaded_at",)) == first


def test_daily_ingest_adds_that_days_activity(settings):
    assert init(settings).returncode == 0
    orders_before = query(settings, "select count(*) from raw.orders")[0][0]

    result = run_fintrade(settings, "ingest", "--date", "2026-11-27", "--symbols", "AAPL,JPM,XOM")

    assert result.returncode == 0, result.stderr
    new = query(
        settings, "select order_id, created_at from raw.orders where order_id like 'ORD20261127%'"
    )
    assert (
        new and len(new) + orders_before == query(settings, "select count(*) from raw.orders")[0][0]
    )
    assert {c.astimezone(NEW_YORK).date() for _, c in new} == {date(2026, 11, 27)}
