"""Whole-reply checks made before a reply may become the lake's write-once record."""

from __future__ import annotations

import pytest

from data_generator.sources.prices import ReplyFormatError, check_reply

BAR = '{"1. open": "10", "2. high": "11", "3. low": "9", "4. close": "10", "5. volume": "5"}'


def reply(series: str, symbol: str | None = "AAPL") -> bytes:
    meta = f'"Meta Data": {{"2. Symbol": "{symbol}"}}, ' if symbol else ""
    return f'{{{meta}"Time Series (Daily)": {{{series}}}}}'.encode()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (reply(f'"2026-11-24": {BAR}, "2026-11-24": {BAR}'), "repeats the key '2026-11-24'"),
        (reply(f'"2026-11-24": {BAR.replace(chr(34) + "10" + chr(34), "NaN", 1)}'), "NaN"),
        (reply(f'"2026-11-24": {BAR.replace(chr(34) + "11" + chr(34), "Infinity")}'), "Infinity"),
        (reply(f'"2026-11-24": {BAR}', symbol="MSFT"), "reply is for another symbol ('MSFT')"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[]", "has no 'Time Series (Daily)' object"),
    ],
)
def test_a_broken_reply_is_refused_whole(body: bytes, reason: str) -> None:
    with pytest.raises(ReplyFormatError, match=r"^AAPL: ") as refused:
        check_reply("AAPL", body)

    assert reason in str(refused.value)


def test_a_good_reply_passes_in_any_order_and_case() -> None:
    body = reply(f'"2026-11-21": {BAR}, "2026-11-24": {BAR}', symbol="aapl")

    assert set(check_reply("AAPL", body)) == {"2026-11-21", "2026-11-24"}
    assert check_reply("AAPL", reply(f'"2026-11-24": {BAR}', symbol=None))
