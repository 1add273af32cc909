"""The freshness check by the logical date, on a real warehouse: the same verdict however old
the loads look to the wall clock, a missing bar named, a stale one (the vendor's daily limit on
record) only warned about."""

from __future__ import annotations

from datetime import date

import pytest

from data_generator.settings import Settings
from data_generator.steps.freshness import FreshnessError, check_freshness
from tests.support.harness import load_day
from tests.support.warehouse import query

TUESDAY = date(2026, 11, 24)
SYMBOLS = ("AAPL", "JPM", "XOM")


@pytest.fixture
def loaded_tuesday(settings: Settings) -> Settings:
    """Pipeline-made raw data up to Tuesday 2026-11-24 for three symbols."""
    seeded = settings.with_overrides(symbols=SYMBOLS, history_days=30)
    load_day(seeded, TUESDAY)
    return seeded


def test_weeks_old_loads_are_fresh_for_their_session(loaded_tuesday: Settings) -> None:
    query(
        loaded_tuesday,
        "update raw.daily_prices set loaded_at = loaded_at - interval '30 days';"
        " update raw.orders set loaded_at = loaded_at - interval '30 days';"
        " update raw.trades set loaded_at = loaded_at - interval '30 days'",
    )

    report = check_freshness(loaded_tuesday, TUESDAY)

    assert report.summary() == (
        "freshness for 2026-11-24: 3 symbols and the activity as of session 2026-11-24"
    )


def test_the_next_session_without_its_load_fails_naming_every_gap(loaded_tuesday) -> None:
    # Thanksgiving (Thursday) is no session: it asks for Wednesday, which was never loaded.
    with pytest.raises(FreshnessError) as failure:
        check_freshness(loaded_tuesday, date(2026, 11, 26))

    assert str(failure.value) == (
        "data not as of session 2026-11-25: AAPL has no bar since 2026-11-24; "
        "JPM has no bar since 2026-11-24; XOM has no bar since 2026-11-24"
    )


def test_a_missing_bar_fails_and_a_stale_one_is_named_only(loaded_tuesday) -> None:
    query(
        loaded_tuesday,
        "delete from raw.daily_prices where symbol = 'XOM' and price_date = %s",
        (TUESDAY,),
    )
    with pytest.raises(
        FreshnessError,
        match=r"^data not as of session 2026-11-24: XOM has no bar since 2026-11-23$",
    ):
        check_freshness(loaded_tuesday, TUESDAY)

    # The vendor was at its limit for XOM that day: the loader recorded a stale load.
    query(
        loaded_tuesday,
        "insert into raw.ingest_runs (logical_date, symbol, source, status, rows_loaded,"
        " rows_rejected, error, started_at, finished_at, dataset) values"
        " (%s, 'XOM', 'alphavantage', 'stale', 0, 0, 'daily API limit reached', now(), now(),"
        " 'prices')",
        (TUESDAY,),
    )

    report = check_freshness(loaded_tuesday, TUESDAY)

    assert report.stale == ("XOM",)
    assert report.summary().endswith("; stale (vendor's daily limit): XOM")


def test_a_session_without_its_activity_fails(loaded_tuesday: Settings) -> None:
    query(loaded_tuesday, "delete from raw.trades where order_id like 'ORD20261124%%'")
    query(loaded_tuesday, "delete from raw.orders where order_id like 'ORD20261124%%'")

    with pytest.raises(FreshnessError) as failure:
        check_freshness(loaded_tuesday, TUESDAY)

    assert str(failure.value) == (
        "data not as of session 2026-11-24: no OLTP activity is stored for it"
    )
