"""Scale mode of the synthetic source: a generated universe of N symbols and Y years of history,
deterministic, in the shapes the pipeline reads; the fifteen-symbol default is left as it was."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from data_generator.reference.scale_universe import write_universe
from data_generator.reference.universe import COLUMNS, load_universe
from data_generator.settings import ConfigError, Settings, load_settings
from data_generator.sources.synthetic_prices import EPOCH, SyntheticPriceSource

AS_OF = date(2026, 11, 25)


def test_a_generated_universe_is_the_same_file_for_the_same_count(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    write_universe(first, 300)
    write_universe(second, 300)

    assert first.read_bytes() == second.read_bytes()
    assert first.read_text().splitlines()[0] == ",".join(COLUMNS)


def test_a_generated_universe_loads_with_every_symbol_once(tmp_path: Path) -> None:
    path = tmp_path / "universe.csv"
    written = write_universe(path, 1_000)
    stocks = load_universe(path)

    assert stocks == written
    assert len(stocks) == len({stock.symbol for stock in stocks}) == 1_000
    assert stocks[:15] == load_universe()  # the default fifteen come first, unchanged
    assert {stock.sector for stock in stocks} == {stock.sector for stock in load_universe()}


def test_a_universe_of_no_symbols_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1 symbol"):
        write_universe(tmp_path / "empty.csv", 0)


def _bars(source: SyntheticPriceSource, symbol: str) -> dict[str, dict[str, str]]:
    return json.loads(source.fetch_daily(symbol))["Time Series (Daily)"]


def test_twenty_years_of_history_start_from_the_configured_day() -> None:
    start = date(2006, 11, 27)
    source = SyntheticPriceSource(42, (AS_OF - start).days + 1, AS_OF, start=start)
    days = sorted(date.fromisoformat(day) for day in _bars(source, "SYN0042"))

    assert days[0] >= start
    assert days[0] - start < timedelta(days=5)
    assert days[-1] == AS_OF
    assert 20 * 250 <= len(days) <= 20 * 253


def test_the_default_start_keeps_history_from_2012() -> None:
    days = sorted(_bars(SyntheticPriceSource(42, 20 * 366, AS_OF), "AAPL"))

    assert date.fromisoformat(days[0]) >= EPOCH
    assert Settings().synthetic_start == EPOCH


def test_a_scale_path_is_deterministic_and_in_the_vendor_layout() -> None:
    start = date(2016, 1, 4)
    body = SyntheticPriceSource(42, 3_650, AS_OF, start=start).fetch_daily("NVDA")
    again = SyntheticPriceSource(42, 3_650, AS_OF, start=start).fetch_daily("NVDA")
    other_start = SyntheticPriceSource(42, 3_650, AS_OF).fetch_daily("NVDA")

    assert body == again
    assert body != other_start  # a path is drawn from its first day on
    assert body.decode() == json.dumps(json.loads(body), indent=4)


def test_the_start_is_read_from_the_environment() -> None:
    env = {"FINTRADE_SYNTHETIC_START": "2006-01-03"}
    assert load_settings(env).synthetic_start == date(2006, 1, 3)
    with pytest.raises(ConfigError, match="FINTRADE_SYNTHETIC_START must be a date"):
        load_settings({"FINTRADE_SYNTHETIC_START": "2006"})
