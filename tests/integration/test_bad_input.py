"""Hostile and malformed input, one row each: CLI arguments, environment values, vendor replies.

Every row runs the real `fintrade` command against a warehouse already holding a clean day and
expects one line naming what was wrong, a non-zero exit, and every stored raw, core and mart table
and lake object unchanged, checked by checksum. A failed symbol adds its `failed` row to the run
log (`raw.ingest_runs`), which is what that log is for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import pytest

from data_generator.settings import Settings
from tests.support.alpha_vantage_stub import AlphaVantageStub, StubReply, data_body, standard_bars
from tests.support.harness import load_day, run_fintrade, scratch_warehouse, vendor_settings
from tests.support.warehouse import query
from tests.support.warehouse_state import stored_state

DAY = date(2026, 11, 24)
NEXT_DAY = date(2026, 11, 25)
SYMBOLS = ("AAPL", "JPM")


def _reply_text(symbol: str = "AAPL", answered: str | None = None) -> str:
    return data_body(answered or symbol, standard_bars(symbol, NEXT_DAY, count=10)).decode()


def _with_first_open(literal: str) -> bytes:
    """The next day's reply with its newest open replaced by a bare JSON-ish literal."""
    text = _reply_text()
    first_open = json.loads(text)["Time Series (Daily)"][NEXT_DAY.isoformat()]["1. open"]
    return text.replace(f'"{first_open}"', literal, 1).encode()


def _with_duplicated_day() -> bytes:
    text = _reply_text()
    day = f'"{NEXT_DAY.isoformat()}": {{'
    start = text.index(day)
    end = text.index("}", start) + 1
    return (text[:end] + ",\n" + text[start:end] + text[end:]).encode()


def _ten_megabytes() -> bytes:
    payload = json.loads(_reply_text())
    payload["Padding"] = "x" * (10 * 1024 * 1024)
    return json.dumps(payload).encode()


@dataclass(frozen=True)
class BadInput:
    name: str
    args: tuple[str, ...]
    reason: str  # expected in the one line that reports it
    env: dict[str, str] = field(default_factory=dict)
    reply: bytes | None = None  # what the vendor answers for AAPL


NEXT = ("ingest", "--date", NEXT_DAY.isoformat(), "--symbols", "AAPL")

CASES = [
    # --- command-line arguments
    BadInput("impossible date", ("ingest", "--date", "2026-02-30"), "not a date (YYYY-MM-DD)"),
    BadInput("word for a date", ("ingest", "--date", "yesterday"), "not a date (YYYY-MM-DD)"),
    BadInput("future date", ("ingest", "--date", "2030-01-02"), "2030-01-02 is in the future"),
    BadInput("future date for a full run", ("run", "--date", "2030-01-02"), "is in the future"),
    BadInput(
        "unknown symbol",
        ("ingest", "--date", DAY.isoformat(), "--symbols", "AAPL,NOPE"),
        "not in the universe: NOPE",
    ),
    BadInput(
        "SQL in a symbol",
        ("ingest", "--date", DAY.isoformat(), "--symbols", "AAPL'; drop table raw.stocks; --"),
        "not in the universe",
    ),
    BadInput(
        "empty symbol list",
        ("ingest", "--date", DAY.isoformat(), "--symbols", ""),
        "--symbols names no symbol",
    ),
    BadInput(
        "only commas",
        ("ingest", "--date", DAY.isoformat(), "--symbols", ",,"),
        "--symbols names no symbol",
    ),
    # --- environment values
    BadInput(
        "words for a number",
        NEXT,
        "ALPHA_VANTAGE_MAX_ATTEMPTS must be a whole number, got 'three'",
        env={"ALPHA_VANTAGE_MAX_ATTEMPTS": "three"},
    ),
    BadInput(
        "negative history",
        NEXT,
        "FINTRADE_HISTORY_DAYS must be at least 1",
        env={"FINTRADE_HISTORY_DAYS": "-5"},
    ),
    BadInput(
        "NaN timeout",
        NEXT,
        "ALPHA_VANTAGE_TIMEOUT_SECONDS must be a finite number",
        env={"ALPHA_VANTAGE_TIMEOUT_SECONDS": "nan"},
    ),
    BadInput("port that is no number", NEXT, "PGPORT must be a whole number", env={"PGPORT": "x"}),
    # --- vendor replies
    BadInput(
        "reply for another symbol",
        NEXT,
        "reply is for another symbol ('MSFT')",
        reply=_reply_text(answered="MSFT").encode(),
    ),
    BadInput(
        "SQL in the reply's symbol",
        NEXT,
        'reply is for another symbol ("AAPL\'; drop table raw.daily_prices; --")',
        reply=_reply_text(answered="AAPL'; drop table raw.daily_prices; --").encode(),
    ),
    BadInput("NaN in the reply", NEXT, "non-JSON constant NaN", reply=_with_first_open("NaN")),
    BadInput(
        "Infinity in the reply",
        NEXT,
        "non-JSON constant Infinity",
        reply=_with_first_open("Infinity"),
    ),
    BadInput(
        "a day given twice",
        NEXT,
        f"reply repeats the key '{NEXT_DAY.isoformat()}'",
        reply=_with_duplicated_day(),
    ),
    BadInput("10 MB body", NEXT, "reply larger than 8 MB", reply=_ten_megabytes()),
    BadInput("HTML instead of JSON", NEXT, "reply is not JSON", reply=b"<html>busy</html>"),
]


@pytest.fixture(scope="module")
def stub() -> Iterator[AlphaVantageStub]:
    with AlphaVantageStub(series_end=DAY) as server:
        yield server


@pytest.fixture(scope="module")
def loaded(base_settings, s3_server, stub, tmp_path_factory) -> Iterator[Settings]:
    """A warehouse holding DAY for two symbols from the vendor (the local stand-in)."""
    state = tmp_path_factory.mktemp("state")
    with scratch_warehouse(base_settings, s3_server, state) as scratch:
        settings = vendor_settings(
            scratch, stub, "bad-input-test-key", symbols=SYMBOLS, history_days=30
        )
        load_day(settings, DAY)
        yield settings


def failed_runs(settings: Settings) -> list[tuple]:
    return query(settings, "select symbol, error from raw.ingest_runs where status = 'failed'")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_refused_in_one_line_and_changes_nothing(loaded, stub, case):
    before = stored_state(loaded)
    failures_before = failed_runs(loaded)
    if case.reply is not None:
        stub.set_default("AAPL", StubReply(body=case.reply))
    try:
        result = run_fintrade(loaded, *case.args, env=case.env)
    finally:
        stub.set_default("AAPL", StubReply(body=_reply_text().encode()))

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    last_line = result.stderr.strip().splitlines()[-1]
    if case.reply is None:
        assert case.reason in last_line, output
    else:  # a failed symbol: its reason on its own line, the command's verdict last
        assert last_line == "fintrade ingest: symbols failed: AAPL", output
        reason_lines = [line for line in output.splitlines() if case.reason in line]
        assert reason_lines and reason_lines[0].startswith("AAPL: FAILED"), output
        new_failures = [row for row in failed_runs(loaded) if row not in failures_before]
        assert [symbol for symbol, _ in new_failures] == ["AAPL"]
        assert case.reason in new_failures[0][1]
    assert stored_state(loaded).differences(before) == []


def test_lowercase_symbols_mean_the_same_stocks(loaded):
    before = stored_state(loaded)

    result = run_fintrade(loaded, "ingest", "--date", DAY.isoformat(), "--symbols", "aapl, jpm")

    assert result.returncode == 0, result.stderr
    assert "prices for 2026-11-24: 2/2 symbols, 0 new rows, 0 updated" in result.stdout
    assert stored_state(loaded).differences(before) == []


def test_a_server_that_does_not_answer_is_named(loaded):
    env = {"PGHOST": "127.0.0.2", "PGPORT": "9"}

    result = run_fintrade(loaded, *NEXT, env=env)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "fintrade ingest: no PostgreSQL answers at 127.0.0.2:9"
    ]


def test_an_s3_endpoint_that_is_not_s3_is_named(loaded, stub):
    before = stored_state(loaded)

    result = run_fintrade(
        loaded, *NEXT, env={"AWS_ENDPOINT_URL": stub.base_url.removesuffix("/query")}
    )

    assert result.returncode == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fintrade ingest: "), result.stderr
    assert loaded.s3_bucket in lines[0]
    assert stored_state(loaded).differences(before) == []


def test_dates_out_of_order_load_as_if_sorted(loaded, stub, base_settings, s3_server, tmp_path):
    """Replies are keyed by date, so their order carries no meaning: a shuffled reply gives the
    same rows as an ordered one (checked against a fresh warehouse fed the ordered reply)."""
    ordered = json.loads(_reply_text())
    days = sorted(ordered["Time Series (Daily)"].items())
    shuffled = dict(ordered) | {"Time Series (Daily)": dict(days[::2] + days[1::2])}
    stub.set_default("AAPL", StubReply(body=json.dumps(shuffled).encode()))
    try:
        result = run_fintrade(loaded, *NEXT)
    finally:
        stub.set_default("AAPL", StubReply(body=_reply_text().encode()))
    assert result.returncode == 0, result.stderr

    prices = (
        "select symbol, price_date, open_price, high_price, low_price, close_price, volume "
        "from raw.daily_prices where symbol = 'AAPL' and price_date >= %s order by price_date"
    )
    with scratch_warehouse(base_settings, s3_server, tmp_path / "state") as other:
        fresh = vendor_settings(other, stub, "bad-input-test-key")
        assert run_fintrade(fresh, *NEXT).returncode == 0
        expected = query(fresh, prices, (days[0][0],))
    assert len(expected) == len(days)
    assert query(loaded, prices, (days[0][0],)) == expected
