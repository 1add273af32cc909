"""The offline price source: Alpha Vantage's shape, NYSE days, valid and stable bars."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from data_generator.reference.trading_calendar import is_trading_day
from data_generator.sources.prices import parse_daily_reply
from data_generator.sources.synthetic_prices import SyntheticPriceSource

AS_OF = date(2026, 11, 27)


def series(source: SyntheticPriceSource, symbol: str) -> dict:
    return json.loads(source.fetch_daily(symbol))["Time Series (Daily)"]


def test_reply_has_alpha_vantage_shape_newest_first():
    body = json.loads(SyntheticPriceSource(42, 365, AS_OF).fetch_daily("AAPL"))

    assert body["Meta Data"]["2. Symbol"] == "AAPL"
    days = list(body["Time Series (Daily)"])
    assert days == sorted(days, reverse=True)
    assert set(body["Time Series (Daily)"][days[0]]) == {
        "1. open",
        "2. high",
        "3. low",
        "4. close",
        "5. volume",
    }


def test_only_nyse_trading_days_in_the_window():
    days = [date.fromisoformat(d) for d in series(SyntheticPriceSource(42, 365, AS_OF), "MSFT")]

    assert all(is_trading_day(d) for d in days)
    assert date(2026, 11, 26) not in days  # Thanksgiving
    assert date(2026, 11, 22) not in days  # a Sunday
    assert min(days) > date(2025, 11, 27) and max(days) == AS_OF
    assert 245 <= len(days) <= 255


def test_bars_are_valid_with_four_decimals_and_integer_volumes():
    source = SyntheticPriceSource(42, 365, AS_OF)
    for symbol in ("AAPL", "JPM", "XOM", "TSLA"):
        for bar in series(source, symbol).values():
            o, h, lo, c = (Decimal(bar[k]) for k in ("1. open", "2. high", "3. low", "4. close"))
            assert 0 < lo <= min(o, c) and max(o, c) <= h
            assert all(v.as_tuple().exponent == -4 for v in (o, h, lo, c))
            assert int(bar["5. volume"]) > 0 and bar["5. volume"].isdigit()


def test_same_seed_same_prices_and_history_is_stable_across_run_dates():
    today = series(SyntheticPriceSource(42, 365, AS_OF), "NVDA")
    again = series(SyntheticPriceSource(42, 365, AS_OF), "NVDA")
    earlier = series(SyntheticPriceSource(42, 365, date(2026, 11, 20)), "NVDA")
    other_seed = series(SyntheticPriceSource(7, 365, AS_OF), "NVDA")

    assert today == again
    assert all(today[day] == bar for day, bar in earlier.items() if day in today)
    assert today["2026-11-20"] != other_seed["2026-11-20"]


def test_every_synthetic_row_meets_the_raw_contract():
    body = SyntheticPriceSource(42, 365, AS_OF).fetch_daily("KO")

    parsed = parse_daily_reply("KO", body, "synthetic", AS_OF)

    assert parsed.rejects == []
    assert len(parsed.bars) == len(json.loads(body)["Time Series (Daily)"])
