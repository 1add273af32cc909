"""The dashboard's figures and page parts from typed rows: no database, no browser."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from data_generator.dashboard import app, figures
from data_generator.dashboard.queries import (
    PriceBar,
    RunStatus,
    SectorFigures,
    StockFigures,
    SymbolRun,
    TradingDay,
)
from data_generator.dashboard.source import DEFAULT_HISTORY, Overview

AS_OF = date(2026, 11, 24)


def bar(day: date, close: str, volume: int, split_since: int = 1) -> PriceBar:
    """A bar as traded, with `split_since` the split factor of the splits after its day."""
    price = Decimal(close)
    return PriceBar(
        day, price, price, price, price, volume, price / split_since, volume * split_since
    )


def no_bar(day: date) -> PriceBar:
    """A day with the brokerage's activity but no exchange bar: the mart's prices are null."""
    return PriceBar(day, None, None, None, None, None, None, None)


def stock(symbol: str) -> StockFigures:
    return StockFigures(
        symbol, f"{symbol} Inc.", "Technology", AS_OF, AS_OF, Decimal("101.5"),
        *([None] * 8),
    )  # fmt: skip


def overview(first_date: date, run: RunStatus | None = None) -> Overview:
    return Overview(
        as_of_date=AS_OF,
        first_date=first_date,
        stocks=(stock("AAPL"), stock("KO")),
        sectors=(),
        activity=(),
        accounts=(),
        positions=None,
        run=run,
    )


def test_price_figure_draws_closes_over_volumes_on_the_same_dates():
    bars = [bar(date(2026, 11, 20), "10.25", 100), bar(date(2026, 11, 21), "11.5", 250)]
    figure = figures.price_figure("AAPL", bars)
    close, volume = figure.data
    assert list(close.x) == list(volume.x) == ["2026-11-20", "2026-11-21"]
    assert list(close.y) == [10.25, 11.5]
    assert list(volume.y) == [100, 250]
    assert figure.layout.title.text.startswith("AAPL")


def test_price_figure_plots_split_adjusted_figures_with_the_as_traded_ones_in_the_hover():
    bars = [
        bar(date(2026, 6, 9), "1000", 300, split_since=10),
        bar(date(2026, 6, 10), "101", 3200),
    ]
    close, volume = figures.price_figure("NVDA", bars).data
    assert list(close.y) == [100.0, 101.0]
    assert list(close.customdata) == [1000.0, 101.0]
    assert list(volume.y) == [3000, 3200]
    assert list(volume.customdata) == [300, 3200]
    assert "as traded %{customdata" in close.hovertemplate
    assert "as traded %{customdata" in volume.hovertemplate


def test_a_day_without_a_bar_is_a_gap_in_the_price_figure():
    bars = [
        bar(date(2026, 11, 20), "10", 100),
        no_bar(date(2026, 11, 23)),
        bar(date(2026, 11, 24), "11", 90),
    ]
    close, volume = figures.price_figure("AAPL", bars).data
    assert list(close.x) == ["2026-11-20", "2026-11-23", "2026-11-24"]
    assert list(close.y) == [10.0, None, 11.0]
    assert not close.connectgaps
    assert list(volume.y) == [100, None, 90]


def test_sector_figure_has_one_bar_per_sector_for_return_and_volatility():
    sectors = [
        SectorFigures("Energy", 2, Decimal("1.5"), Decimal("20.25")),
        SectorFigures("Financials", 3, Decimal("-2"), None),
    ]
    returns, volatilities = figures.sector_figure(sectors).data
    assert list(returns.y) == list(volatilities.y) == ["Energy", "Financials"]
    assert list(returns.x) == [1.5, -2.0]
    assert list(volatilities.x) == [20.25, None]


def test_activity_figure_plots_amounts_and_trade_counts_per_day():
    days = [TradingDay(date(2026, 11, 20), 5, 4, Decimal("1000.50"))]
    amounts, counts = figures.activity_figure(days).data
    assert list(amounts.y) == [1000.5] and list(counts.y) == [4]


def test_the_default_range_is_the_last_year_or_all_history_if_shorter():
    assert overview(date(2020, 1, 2)).default_start == AS_OF - DEFAULT_HISTORY
    assert overview(date(2026, 9, 1)).default_start == date(2026, 9, 1)


def test_failed_and_stale_symbols_are_marked_in_the_picker_and_the_status():
    run = RunStatus(
        logical_date=AS_OF,
        finished_at=datetime(2026, 11, 25, 6, 0, tzinfo=UTC),
        symbols=(SymbolRun("AAPL", "failed", "HTTP 503"), SymbolRun("KO", "stale", None)),
    )
    options = app._symbol_options(overview(AS_OF - timedelta(days=30), run))
    assert [option["label"] for option in options] == [
        "AAPL · AAPL Inc. (failed)",
        "KO · KO Inc. (stale)",
    ]
    status = app._run_status(run)
    assert status.className == "run failed"
    summary, *marks = status.children
    assert summary.children == "Last run 2026-11-24 (2026-11-25 06:00 UTC): 1 stale, 1 failed"
    assert [(mark.children, mark.title) for mark in marks] == [
        ("AAPL failed", "HTTP 503"),
        ("KO stale", "stale"),
    ]


def test_an_unknown_run_is_said_so():
    assert app._run_status(None).children == "Last run: unknown"
