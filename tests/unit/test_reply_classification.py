"""What each Alpha Vantage reply means for the run, decided from the parsed body alone."""

from __future__ import annotations

import pytest

from data_generator.sources.alpha_vantage import (
    DAILY_SERIES_FUNCTION,
    _classify,
    _ReplyKind,
    redact,
)

KEY = "S3CR3T+KEY/1"


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"Meta Data": {}, "Time Series (Daily)": {}}, _ReplyKind.DATA),
        (
            {"Error Message": "Invalid API call. Please retry or visit the docs."},
            _ReplyKind.BAD_CALL,
        ),
        ({"Error Message": "the parameter apikey is invalid or missing."}, _ReplyKind.BAD_KEY),
        (
            {"Note": "Our standard API call frequency is 5 calls per minute and 500 per day."},
            _ReplyKind.THROTTLED,
        ),
        (
            {
                "Information": "Please consider spreading out your free API requests more "
                "sparingly (1 request per second). Standard rate limit is 25 requests per day."
            },
            _ReplyKind.THROTTLED,
        ),
        (
            {
                "Information": f"We have detected your API key as {KEY} and our standard API rate "
                "limit is 25 requests per day."
            },
            _ReplyKind.DAILY_LIMIT,
        ),
        (
            {
                "Information": "Thank you for using Alpha Vantage! The outputsize=full parameter "
                "value is a premium feature for the TIME_SERIES_DAILY endpoint."
            },
            _ReplyKind.PREMIUM_ONLY,
        ),
        (
            {"Information": "The **demo** API key is for demo purposes only."},
            _ReplyKind.BAD_KEY,
        ),
        ({"Information": "Something new from the vendor."}, _ReplyKind.UNKNOWN_NOTICE),
        ({"unexpected": 1}, _ReplyKind.UNRECOGNISED),
    ],
)
def test_each_reply_kind_is_recognised(payload: dict[str, object], kind: _ReplyKind) -> None:
    assert _classify(payload, DAILY_SERIES_FUNCTION)[0] is kind


def test_redact_hides_the_key_raw_url_encoded_and_in_any_apikey_parameter() -> None:
    text = f"key {KEY} url ?apikey=S3CR3T%2BKEY%2F1&x=1 other apikey=abc"

    redacted = redact(text, KEY)

    assert KEY not in redacted
    assert "S3CR3T%2BKEY%2F1" not in redacted
    assert "abc" not in redacted
    assert redacted.count("***") == 3


def test_an_actions_reply_is_data_only_for_the_actions_functions() -> None:
    actions = {"symbol": "NVDA", "data": [{"effective_date": "2024-06-10", "split_factor": "10"}]}

    assert _classify(actions, "SPLITS")[0] is _ReplyKind.DATA
    assert _classify(actions, DAILY_SERIES_FUNCTION)[0] is _ReplyKind.UNRECOGNISED
