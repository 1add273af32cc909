"""`fintrade run` on the days that go wrong, with the DAG's rule: the marts build from whatever
loaded, then the run reports. A day the free key is at its daily limit builds and tests every
model (ERROR=0) and names its stale symbols; a symbol whose corporate actions fail still
reaches the marts, and the run then exits non-zero naming it; so does a symbol whose prices
fail: the marts build from the symbols that loaded, then the run exits non-zero naming it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date

import pytest

from data_generator.settings import Settings
from data_generator.steps.transform import run_dir
from tests.support.alpha_vantage_stub import (
    AlphaVantageStub,
    StubReply,
    daily_limit_body,
    data_body,
    standard_bars,
)
from tests.support.harness import load_day, run_fintrade, vendor_settings
from tests.support.warehouse import query

pytestmark = pytest.mark.dbt

API_KEY = "FREEKEY25LIMIT"
DAY = date(2026, 11, 24)
NEXT_DAY = date(2026, 11, 25)
SYMBOLS = ("AAPL", "MSFT", "JPM")


@pytest.fixture
def live(settings: Settings, alpha_vantage_stub: AlphaVantageStub) -> Iterator[Settings]:
    """The free-key path against the stand-in, three symbols, a whole day's budget."""
    yield vendor_settings(
        settings, alpha_vantage_stub, API_KEY, symbols=SYMBOLS, alpha_vantage_daily_budget=25
    )
    shutil.rmtree(run_dir(settings), ignore_errors=True)


def serve_series_to(stub: AlphaVantageStub, day: date) -> None:
    """Every symbol's daily series as the vendor publishes it after `day`'s close."""
    for symbol in SYMBOLS:
        stub.set_default(symbol, StubReply(body=data_body(symbol, standard_bars(symbol, day))))


def test_a_day_at_the_daily_limit_builds_the_marts_and_names_the_stale_symbol(
    live: Settings, alpha_vantage_stub: AlphaVantageStub
) -> None:
    serve_series_to(alpha_vantage_stub, DAY)
    load_day(live, DAY)  # Tuesday as `fintrade init` loads it
    # Wednesday: the key's quota runs out at JPM, the last symbol; its Tuesday data is kept.
    serve_series_to(alpha_vantage_stub, NEXT_DAY)
    alpha_vantage_stub.set_default(
        "JPM", StubReply(body=lambda request: daily_limit_body(request.apikey or ""))
    )

    run = run_fintrade(live, "run", "--date", NEXT_DAY.isoformat())

    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert "stale (daily API limit, kept the lake's latest data): JPM" in run.stdout
    assert (
        "freshness for 2026-11-25: 3 symbols and the activity as of session 2026-11-25;"
        " stale (vendor's daily limit): JPM" in run.stdout
    )
    (summary,) = [line for line in run.stdout.splitlines() if line.startswith("Done. PASS=")]
    assert " ERROR=0 " in summary
    assert API_KEY not in output
    assert query(
        live,
        "select symbol, run_status, coalesce(error_message like 'daily API limit reached%%', false)"
        " from mart.mart_ingest_status where logical_date = %s order by symbol",
        (NEXT_DAY,),
    ) == [("AAPL", "loaded", False), ("JPM", "stale", True), ("MSFT", "loaded", False)]
    assert query(
        live,
        "select symbol, latest_price_date from mart.mart_stock_performance order by symbol",
    ) == [("AAPL", NEXT_DAY), ("JPM", DAY), ("MSFT", NEXT_DAY)]


def test_failed_corporate_actions_still_build_the_marts_then_fail_the_run(
    live: Settings, alpha_vantage_stub: AlphaVantageStub
) -> None:
    serve_series_to(alpha_vantage_stub, DAY)
    alpha_vantage_stub.set_default(
        "MSFT",
        StubReply(body=b'{"Error Message": "Invalid API call."}'),
        function="SPLITS",
    )

    run = run_fintrade(live, "run", "--date", DAY.isoformat())

    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == "fintrade run: corporate actions failed: MSFT"
    assert any(line.startswith("Done. PASS=") for line in run.stdout.splitlines())
    assert query(
        live, "select symbol, as_of_date from mart.mart_stock_performance order by symbol"
    ) == [("AAPL", DAY), ("JPM", DAY), ("MSFT", DAY)]


def test_a_failed_symbol_still_builds_the_marts_then_fails_the_run_naming_it(
    live: Settings, alpha_vantage_stub: AlphaVantageStub
) -> None:
    serve_series_to(alpha_vantage_stub, DAY)
    alpha_vantage_stub.set_default(
        "MSFT", StubReply(body=b'{"Error Message": "Invalid API call."}')
    )

    run = run_fintrade(live, "run", "--date", DAY.isoformat())

    output = run.stdout + run.stderr
    assert run.returncode == 1, output[-3000:]
    assert run.stderr.strip().splitlines()[-1] == "fintrade run: symbols failed: MSFT"
    (summary,) = [line for line in run.stdout.splitlines() if line.startswith("Done. PASS=")]
    assert " ERROR=0 " in summary
    # The freshness check ran after the build, and its verdict is printed.
    assert f"freshness for {DAY}: data not as of session {DAY}: MSFT has no bar" in run.stdout
    assert query(
        live, "select symbol, as_of_date from mart.mart_stock_performance order by symbol"
    ) == [("AAPL", DAY), ("JPM", DAY)]
    assert query(
        live,
        "select symbol, run_status from mart.mart_ingest_status where logical_date = %s"
        " order by symbol",
        (DAY,),
    ) == [("AAPL", "loaded"), ("JPM", "loaded"), ("MSFT", "failed")]
