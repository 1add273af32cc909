"""The universe file: the original fifteen by default, one-line errors for bad lines, and
synthetic prices for any stock it lists."""

from __future__ import annotations

import json
from datetime import date

import pytest

from data_generator.reference.universe import (
    Stock,
    UniverseFileError,
    UnknownSymbolError,
    load_universe,
    select_stocks,
)
from data_generator.settings import UNIVERSE_FILE, load_settings
from data_generator.sources.prices import parse_daily_reply
from data_generator.sources.synthetic_prices import SyntheticPriceSource
from tests.support.universe_file import AMD, write_universe

DAY = date(2026, 11, 25)


def test_default_universe_is_the_original_fifteen_with_reference_data():
    stocks = load_universe()

    assert [s.symbol for s in stocks] == [
        "AAPL", "MSFT", "GOOGL", "AMZN", "META", "TSLA", "NVDA", "JPM",
        "BAC", "JNJ", "PFE", "XOM", "CVX", "WMT", "KO",
    ]  # fmt: skip
    by_symbol = {s.symbol: s for s in stocks}
    assert by_symbol["BAC"] == Stock(
        "BAC", "Bank of America Corporation", "Financials", "NYSE", "USD"
    )
    assert by_symbol["AMZN"].company_name == "Amazon.com, Inc."  # a quoted comma
    assert by_symbol["KO"].sector == "Consumer Staples"
    assert by_symbol["CVX"].sector == by_symbol["XOM"].sector == "Energy"
    assert {s.exchange for s in stocks} == {"NASDAQ", "NYSE"}
    assert {s.currency for s in stocks} == {"USD"}
    assert load_settings({}).universe_file == UNIVERSE_FILE


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (("AAPL,Apple Inc.,Information Technology,NASDAQ\n",), ":2: expected 5 fields"),
        (("AAPL,Apple Inc.,,NASDAQ,USD\n",), ":2: empty sector"),
        (("AA PL,Apple Inc.,Tech,NASDAQ,USD\n",), ":2: symbol 'AA PL' is not a ticker"),
        (("AAPL,Apple Inc.,Tech,NASDAQ,dollars\n",), ":2: currency 'dollars' is not"),
        (
            ("AAPL,Apple Inc.,Tech,NASDAQ,USD\n", "\n", AMD, "aapl,Apple again,Tech,NASDAQ,USD\n"),
            ":5: duplicate symbol AAPL (first on line 2)",
        ),
        ((), ": lists no stocks"),
    ],
)
def test_a_bad_line_fails_with_the_file_and_line(tmp_path, lines, reason):
    path = write_universe(tmp_path / "stocks.csv", *lines)

    with pytest.raises(UniverseFileError) as error:
        load_universe(path)

    assert str(error.value).startswith(str(path))
    assert reason in str(error.value)
    assert "\n" not in str(error.value)


def test_a_wrong_header_or_missing_file_is_named(tmp_path):
    path = tmp_path / "stocks.csv"
    path.write_text("ticker,name\nAAPL,Apple\n")

    with pytest.raises(UniverseFileError, match=r"stocks\.csv:1: the header must be symbol,"):
        load_universe(path)
    with pytest.raises(UniverseFileError, match=r"missing\.csv: no such universe file"):
        load_universe(tmp_path / "missing.csv")


def test_symbols_may_name_any_stock_of_the_file_and_nothing_else(tmp_path):
    path = write_universe(tmp_path / "stocks.csv", "AAPL,Apple Inc.,Tech,NASDAQ,USD\n", AMD)
    settings = load_settings({"FINTRADE_UNIVERSE_FILE": str(path), "FINTRADE_SYMBOLS": "amd"})

    assert select_stocks(settings.symbols, settings.universe_file)[0].symbol == "AMD"
    with pytest.raises(UnknownSymbolError, match="not in the universe: MSFT"):
        select_stocks(("MSFT",), path)


def test_synthetic_prices_for_a_stock_of_a_sector_without_a_profile():
    amd = Stock("AMD", "Advanced Micro Devices Inc.", "Semiconductors", "NASDAQ")
    body = SyntheticPriceSource(42, 365, DAY, (amd,)).fetch_daily("AMD")

    parsed = parse_daily_reply("AMD", body, "synthetic", DAY)

    assert parsed.rejects == []
    assert len(parsed.bars) == len(json.loads(body)["Time Series (Daily)"]) > 240
