"""The raw price contract, checked on reply bodies alone: what loads and what is quarantined."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from data_generator.sources.prices import (
    ReplyFormatError,
    bars_to_table,
    parse_daily_reply,
    table_to_bars,
)

SNAPSHOT = date(2026, 11, 24)
GOOD = {"1. open": "10.5", "2. high": "11", "3. low": "10", "4. close": "10.75", "5. volume": "900"}


def reply(series: dict[str, object]) -> bytes:
    return json.dumps({"Meta Data": {}, "Time Series (Daily)": series}).encode()


def test_good_bars_load_oldest_first_at_four_decimals() -> None:
    parsed = parse_daily_reply(
        "AAPL", reply({"2026-11-24": GOOD, "2026-11-21": GOOD}), "alphavantage", SNAPSHOT
    )

    assert parsed.rejects == []
    assert parsed.bars.price_dates == [date(2026, 11, 21), date(2026, 11, 24)]
    assert parsed.bars.closes == [Decimal("10.7500")] * 2
    assert parsed.bars.volumes == [900, 900]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"4. close": "abc"}, "unparseable close: 'abc'"),
        ({"4. close": "NaN"}, "unparseable close: 'NaN'"),
        ({"1. open": "Infinity"}, "unparseable open: 'Infinity'"),
        ({"3. low": "0"}, "non-positive low: 0"),
        ({"2. high": "-1"}, "non-positive high: -1"),
        ({"2. high": "9.5"}, "high 9.5000 below low 10.0000"),
        ({"1. open": "12"}, "open 12.0000 outside [low 10.0000, high 11.0000]"),
        ({"4. close": "9.99"}, "close 9.9900 outside [low 10.0000, high 11.0000]"),
        ({"5. volume": "-5"}, "negative volume: -5"),
        ({"5. volume": "1.5"}, "unparseable volume: '1.5'"),
        ({"4. close": ""}, "missing field: 4. close"),
        ({"2. high": "1e20"}, "high out of range: 1E+20"),
    ],
)
def test_a_bad_bar_is_rejected_with_its_reason_and_the_rest_loads(
    change: dict[str, str], reason: str
) -> None:
    parsed = parse_daily_reply(
        "AAPL",
        reply({"2026-11-24": GOOD | change, "2026-11-21": GOOD}),
        "alphavantage",
        SNAPSHOT,
    )

    assert [(r.price_date, r.reason) for r in parsed.rejects] == [("2026-11-24", reason)]
    assert parsed.bars.price_dates == [date(2026, 11, 21)]


def test_an_unparseable_date_is_rejected() -> None:
    parsed = parse_daily_reply("AAPL", reply({"2026-13-01": GOOD}), "alphavantage", SNAPSHOT)

    assert [r.reason for r in parsed.rejects] == ["unparseable date: '2026-13-01'"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>", "AAPL: reply is not valid JSON"),
        (b"[]", "AAPL: reply has no 'Time Series (Daily)' object"),
        (b'{"Note": "slow down"}', "AAPL: reply has no 'Time Series (Daily)' object"),
    ],
)
def test_a_body_that_is_no_daily_series_fails_whole(body: bytes, message: str) -> None:
    with pytest.raises(ReplyFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_daily_reply("AAPL", body, "alphavantage", SNAPSHOT)


def test_arrow_round_trip_keeps_every_value() -> None:
    bars = parse_daily_reply("KO", reply({"2026-11-24": GOOD}), "synthetic", SNAPSHOT).bars

    back = table_to_bars(bars_to_table(bars), "KO", SNAPSHOT)

    assert back.to_rows("k") == bars.to_rows("k")
    assert back.source == "synthetic"
