"""Corporate actions without a server: the synthetic schedule and the vendor replies' parsing."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from data_generator.sources.corporate_actions import ActionKind, parse_actions_reply
from data_generator.sources.synthetic_actions import SPLIT_SCHEDULE
from data_generator.sources.synthetic_prices import SyntheticPriceSource
from data_generator.steps.actions import looks_like_split
from tests.support.alpha_vantage_stub import dividends_body, splits_body

DAY = date(2026, 11, 24)


def test_default_year_of_history_crosses_a_10_to_1_and_a_3_to_1_split():
    first = DAY - timedelta(days=364)
    in_year = {
        (symbol, split.split_factor)
        for symbol, splits in SPLIT_SCHEDULE.items()
        for split in splits
        if first <= split.effective_date <= DAY
    }
    assert ("NVDA", Decimal(10)) in in_year
    assert ("WMT", Decimal(3)) in in_year


@pytest.mark.parametrize(("symbol", "split_day", "factor"), [("NVDA", "2026-06-10", 10)])
def test_as_traded_series_drops_by_the_factor_on_the_split_day(symbol, split_day, factor):
    series = json.loads(SyntheticPriceSource(42, 365, DAY).fetch_daily(symbol))
    days = sorted(series["Time Series (Daily)"])
    before = series["Time Series (Daily)"][days[days.index(split_day) - 1]]
    on = series["Time Series (Daily)"][split_day]
    ratio = float(before["4. close"]) / float(on["4. close"])
    assert ratio == pytest.approx(factor, rel=0.15)
    assert looks_like_split(Decimal(before["4. close"]), Decimal(on["4. close"]))
    assert int(on["5. volume"]) > int(before["5. volume"])


def test_synthetic_actions_use_alpha_vantage_shapes_up_to_the_run_date():
    source = SyntheticPriceSource(42, 365, date(2026, 6, 9))
    splits = json.loads(source.fetch_corporate_actions("NVDA", "SPLITS"))
    assert splits["symbol"] == "NVDA"
    assert splits["data"][0] == {"effective_date": "2024-06-10", "split_factor": "10.0000"}
    dividends = json.loads(source.fetch_corporate_actions("XOM", "DIVIDENDS"))
    assert set(dividends["data"][0]) == {
        "ex_dividend_date",
        "declaration_date",
        "record_date",
        "payment_date",
        "amount",
    }
    per_year = [d for d in dividends["data"] if d["ex_dividend_date"].startswith("2025")]
    assert len(per_year) == 4
    assert json.loads(source.fetch_corporate_actions("TSLA", "DIVIDENDS"))["data"] == []


def test_split_ratio_detection():
    for previous, close in [(100, 50), (300, 100), (1000, 98), (50, 100), (2000, 101)]:
        assert looks_like_split(Decimal(previous), Decimal(close)), (previous, close)
    for previous, close in [(100, 95), (100, 130), (100, 70)]:
        assert not looks_like_split(Decimal(previous), Decimal(close)), (previous, close)


def test_bad_entries_are_rejected_with_reasons_and_the_rest_kept():
    body = splits_body(
        "NVDA",
        [("2024-06-10", "10.0000"), ("2021-07-20", "-4"), ("someday", "2"), ("2020-01-02", "x")],
    )
    parsed = parse_actions_reply(ActionKind.SPLITS, "NVDA", body, "alphavantage", DAY)
    assert [(s.effective_date, s.split_factor) for s in parsed.actions] == [
        (date(2024, 6, 10), Decimal(10))
    ]
    assert sorted(r.reason for r in parsed.rejects) == [
        "non-positive split_factor: -4",
        "unparseable effective_date: 'someday'",
        "unparseable split_factor: 'x'",
    ]


def test_dividend_dates_given_as_none_are_null():
    body = dividends_body(
        "XOM",
        [
            {"ex_dividend_date": "2026-08-14", "amount": "0.99", "payment_date": "2026-09-10"},
            {"ex_dividend_date": "2026-08-14", "amount": "1.99"},
        ],
    )
    parsed = parse_actions_reply(ActionKind.DIVIDENDS, "XOM", body, "alphavantage", DAY)
    (dividend,) = parsed.actions
    assert (dividend.amount, dividend.declaration_date, dividend.record_date) == (
        Decimal("0.99"),
        None,
        None,
    )
    assert dividend.payment_date == date(2026, 9, 10)
    assert [r.reason for r in parsed.rejects] == ["duplicate ex_dividend_date: 2026-08-14"]
