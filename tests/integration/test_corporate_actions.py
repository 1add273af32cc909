"""Corporate actions: SPLITS/DIVIDENDS from the source through the lake into raw.stock_splits
and raw.dividends, by the prices' rules (the schedule and reply parsing alone: tests/unit)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from data_generator.settings import Settings
from data_generator.steps.replay import replay
from data_generator.storage.lake import Lake, action_json_key, action_parquet_key
from tests.support.alpha_vantage_stub import (
    AlphaVantageStub,
    StubReply,
    dividends_body,
    splits_body,
)
from tests.support.harness import load_day, vendor_settings
from tests.support.warehouse import query, table_checksums

DAY = date(2026, 11, 24)
NEXT_DAY = date(2026, 11, 25)
API_KEY = "ACTIONSKEY7"


@pytest.fixture
def synthetic(settings: Settings) -> Settings:
    return settings.with_overrides(symbols=("NVDA", "WMT", "XOM"))


def test_synthetic_actions_land_in_the_lake_and_raw_tables(synthetic):
    report = load_day(synthetic, DAY)

    assert report.actions is not None and not report.actions.failed
    splits = query(
        synthetic,
        "select symbol, effective_date, split_factor, source, lake_key from raw.stock_splits"
        " where effective_date > '2025-01-01' order by symbol",
    )
    assert splits == [
        (
            "NVDA",
            date(2026, 6, 10),
            Decimal("10.000000"),
            "synthetic",
            "raw/actions/parquet/splits/symbol=NVDA/date=2026-11-24.parquet",
        ),
        (
            "WMT",
            date(2026, 2, 26),
            Decimal("3.000000"),
            "synthetic",
            "raw/actions/parquet/splits/symbol=WMT/date=2026-11-24.parquet",
        ),
    ]
    xom = query(
        synthetic,
        "select count(*), min(amount) > 0 from raw.dividends"
        " where symbol = 'XOM' and ex_dividend_date between '2025-11-25' and '2026-11-24'",
    )
    assert xom == [(4, True)]
    lake = Lake.from_settings(synthetic)
    for dataset in ("splits", "dividends"):
        assert lake.exists(action_json_key(dataset, "NVDA", DAY))
        assert lake.exists(action_parquet_key(dataset, "NVDA", DAY))
    assert lake.snapshot_symbols() == ["NVDA", "WMT", "XOM"]


def test_rerun_of_the_day_changes_no_action_row(synthetic):
    load_day(synthetic, DAY)
    tables = ("raw.stock_splits", "raw.dividends", "raw.rejected_actions")
    before = table_checksums(synthetic, tables)

    report = load_day(synthetic, DAY)

    assert table_checksums(synthetic, tables) == before
    assert all(r.counts.written == 0 and not r.called_api for r in report.actions.results)


@pytest.fixture
def live(settings: Settings, alpha_vantage_stub: AlphaVantageStub) -> Settings:
    return vendor_settings(settings, alpha_vantage_stub, API_KEY, symbols=("AAPL",))


def serve_actions(stub: AlphaVantageStub, splits: bytes, dividends: bytes) -> None:
    stub.enqueue("AAPL", StubReply(body=splits), function="SPLITS")
    stub.enqueue("AAPL", StubReply(body=dividends), function="DIVIDENDS")


def test_vendor_correction_is_applied_and_an_older_snapshot_never_undoes_it(
    live, alpha_vantage_stub
):
    first_dividends = [
        {"ex_dividend_date": "2026-08-10", "amount": "0.26"},
        {"ex_dividend_date": "2026-05-11", "amount": "0.26"},
        {"ex_dividend_date": "2026-02-09", "amount": "oops"},
    ]
    serve_actions(
        alpha_vantage_stub,
        splits_body("AAPL", [("2026-09-01", "3")]),
        dividends_body("AAPL", first_dividends),
    )
    load_day(live, DAY, initialise=False)
    rejected = query(live, "select dataset, symbol, action_date, reason from raw.rejected_actions")
    assert rejected == [("dividends", "AAPL", "2026-02-09", "unparseable amount: 'oops'")]

    # The vendor corrects the split's factor and withdraws the May dividend.
    serve_actions(
        alpha_vantage_stub,
        splits_body("AAPL", [("2026-09-01", "2")]),
        dividends_body("AAPL", first_dividends[:1]),
    )
    load_day(live, NEXT_DAY, initialise=False)
    splits_query = "select effective_date, split_factor, lake_key from raw.stock_splits"
    corrected = {
        "splits": query(live, splits_query),
        "dividends": query(live, "select ex_dividend_date, amount from raw.dividends"),
    }
    assert corrected == {
        "splits": [
            (
                date(2026, 9, 1),
                Decimal("2.000000"),
                "raw/actions/parquet/splits/symbol=AAPL/date=2026-11-25.parquet",
            )
        ],
        "dividends": [(date(2026, 8, 10), Decimal("0.260000"))],
    }

    # A late rerun of the first day reads its own (older) snapshot from the lake: no effect.
    calls = len(alpha_vantage_stub.requests)
    load_day(live, DAY, initialise=False)
    assert len(alpha_vantage_stub.requests) == calls
    assert query(live, splits_query) == corrected["splits"]
    assert (
        query(live, "select ex_dividend_date, amount from raw.dividends")
        == (corrected["dividends"])
    )


def test_replay_rebuilds_the_action_tables_from_the_lake(synthetic):
    load_day(synthetic, DAY)
    tables = ("raw.stock_splits", "raw.dividends")
    original = table_checksums(synthetic, tables, exclude=("loaded_at",))
    query(synthetic, "delete from raw.stock_splits; delete from raw.dividends")

    replay(synthetic, None)

    assert table_checksums(synthetic, tables, exclude=("loaded_at",)) == original
