"""The daily Alpha Vantage call budget: prices first, then corporate actions, never more calls
than ALPHA_VANTAGE_DAILY_BUDGET, across runs and across processes, recorded in raw.ingest_runs."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import date

import pytest

from data_generator.reference.universe import load_universe
from data_generator.settings import Settings
from data_generator.steps.prices import SymbolIngestError, ingest_symbol
from data_generator.steps.resources import prepare
from tests.support.alpha_vantage_stub import AlphaVantageStub, StubReply, data_body, standard_bars
from tests.support.harness import load_day, vendor_settings
from tests.support.warehouse import query

DAY = date(2026, 11, 24)
NEXT_DAY = date(2026, 11, 25)


@pytest.fixture
def live(settings: Settings, alpha_vantage_stub: AlphaVantageStub) -> Settings:
    return vendor_settings(settings, alpha_vantage_stub, "BUDGETKEY1")


def spent(settings: Settings) -> dict[str, int]:
    rows = query(
        settings,
        "select dataset, count(*) from raw.ingest_runs where status = 'api_call' group by dataset",
    )
    return dict(rows)


def test_fifteen_symbols_never_spend_more_than_25_calls(live, alpha_vantage_stub):
    settings = live.with_overrides(symbols=None, alpha_vantage_daily_budget=25)

    report = load_day(settings, DAY)

    assert len(alpha_vantage_stub.requests) == 25
    assert len(alpha_vantage_stub.requests_of("TIME_SERIES_DAILY")) == len(load_universe()) == 15
    assert spent(settings) == {"prices": 15, "splits": 5, "dividends": 5}
    refreshed = {r.symbol for r in report.actions.results if r.status == "loaded"}
    assert len(refreshed) == 5
    assert len(report.actions.deferred) == 10

    # Later the same (UTC) day the budget is spent: no call at all, prices kept from the lake.
    again = load_day(settings, NEXT_DAY, initialise=False)

    assert len(alpha_vantage_stub.requests) == 25
    assert len(again.stale) == 15
    assert spent(settings) == {"prices": 15, "splits": 5, "dividends": 5}


def _ingest_in_own_process(settings: Settings, symbol: str) -> str:
    try:
        return ingest_symbol(settings, symbol, DAY).status
    except SymbolIngestError:
        return "failed"


def test_budget_holds_across_concurrent_processes(live, alpha_vantage_stub):
    """Airflow runs each symbol's prices in its own process: they share the budget through
    raw.ingest_runs, so six concurrent symbols with four calls left make exactly four calls."""
    symbols = ("AAPL", "MSFT", "JPM", "XOM", "BAC", "KO")
    settings = live.with_overrides(symbols=symbols, alpha_vantage_daily_budget=4)
    prepare(settings, DAY)

    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=3, mp_context=spawn) as pool:
        statuses = list(pool.map(_ingest_in_own_process, [settings] * 6, symbols))

    assert len(alpha_vantage_stub.requests) == 4
    assert sorted(statuses) == ["failed", "failed", "loaded", "loaded", "loaded", "loaded"]
    assert spent(settings) == {"prices": 4}


def test_a_bar_that_jumps_like_a_split_gets_its_actions_first(live, alpha_vantage_stub):
    symbols = ("AAPL", "MSFT", "JPM")
    settings = live.with_overrides(symbols=symbols, alpha_vantage_daily_budget=100)
    load_day(settings, DAY)  # 3 price calls and all 6 action calls: every symbol refreshed
    calls_day_one = len(alpha_vantage_stub.requests)
    assert calls_day_one == 9

    # JPM's new bar is half the previous close; with two calls left after prices, its actions
    # come first although AAPL and MSFT were refreshed as long ago and come first in the list.
    bars = standard_bars("JPM", NEXT_DAY)
    o, h, lo, c, v = bars[NEXT_DAY]
    bars[NEXT_DAY] = (o / 2, h / 2, lo / 2, c / 2, v * 2)
    alpha_vantage_stub.enqueue("JPM", StubReply(body=data_body("JPM", bars)))
    load_day(settings.with_overrides(alpha_vantage_daily_budget=9 + 3 + 2), NEXT_DAY)

    day_two = alpha_vantage_stub.requests[calls_day_one:]
    actions = [(r.symbol, r.function) for r in day_two if r.function != "TIME_SERIES_DAILY"]
    assert actions == [("JPM", "SPLITS"), ("JPM", "DIVIDENDS")]
