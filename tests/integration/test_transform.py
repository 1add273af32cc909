"""The transform step as the pipeline uses it: failures name the failing nodes on one line."""

from __future__ import annotations

import secrets
import shutil
from datetime import date

import pytest

from data_generator.settings import Settings
from data_generator.steps import transform
from data_generator.steps.transform import DbtBuildError
from tests.support.harness import load_day
from tests.support.warehouse import query

pytestmark = pytest.mark.dbt


@pytest.fixture
def seeded_warehouse(settings: Settings) -> Settings:
    """Pipeline-made raw data for three symbols, the way `fintrade init` makes it."""
    seeded = settings.with_overrides(symbols=("AAPL", "JPM", "XOM"), history_days=60)
    load_day(seeded, date(2026, 11, 24))
    return seeded


def execute(settings: Settings, statement: str) -> None:
    query(settings, statement)


def test_build_prints_dbts_summary(seeded_warehouse):
    result = transform.build(seeded_warehouse, select="staging")
    assert result.summary.splitlines()[-1].startswith("Done. PASS=")
    assert "ERROR=0" in result.summary


def test_failing_data_tests_fail_the_build_naming_each_test(seeded_warehouse):
    execute(
        seeded_warehouse,
        "update raw.trades set price = price * 10 where trade_id = 'TRD000001';"
        " update raw.orders set status = 'rejected' where order_id = 'ORD000002'",
    )
    with pytest.raises(DbtBuildError) as failure:
        transform.build(seeded_warehouse)
    message = str(failure.value)
    assert message.startswith("dbt build failed: ")
    assert "assert_trades_priced_within_daily_range (fail)" in message
    assert "accepted_values_stg_orders_order_status__filled__cancelled__partial (fail)" in message
    assert "\n" not in message


def test_unreachable_warehouse_fails_in_one_line_without_the_password(base_settings):
    settings = base_settings.with_overrides(
        pg_database=f"fintrade_missing_{secrets.token_hex(4)}", pg_password="not-a-real-password"
    )
    try:
        with pytest.raises(DbtBuildError) as failure:
            transform.build(settings, select="stg_stocks")
    finally:
        shutil.rmtree(transform.run_dir(settings), ignore_errors=True)
    message = str(failure.value)
    assert message.startswith("dbt build failed (exit ")
    assert "\n" not in message
    assert "not-a-real-password" not in message
