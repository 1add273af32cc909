"""The Alpha Vantage client against a real local HTTP server speaking the API's reply shapes,
and the price step's choice of `outputsize` from the stored history (a history as long as the
gap), told by what the stand-in received per symbol."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from itertools import pairwise

import pytest

from data_generator.reference.trading_calendar import last_session_on_or_before
from data_generator.settings import Settings
from data_generator.sources.alpha_vantage import (
    AlphaVantageClient,
    CallBudgetSpentError,
    DailyLimitError,
    InvalidApiKeyError,
    SymbolFetchError,
)
from tests.support.alpha_vantage_stub import (
    AlphaVantageStub,
    StubReply,
    StubRequest,
    burst_information_body,
    daily_limit_body,
    data_body,
    demo_key_body,
    error_message_body,
    invalid_key_body,
    per_minute_note_body,
    premium_body,
    sized_series_reply,
    splits_body,
    standalone_stub,
)
from tests.support.alpha_vantage_stub import last_sessions as sessions_up_to
from tests.support.harness import run_fintrade, vendor_settings
from tests.support.warehouse import query

API_KEY = "AVTESTKEY7Q4Z9X"
MAX_ATTEMPTS = 3
AAPL_BARS = {
    date(2026, 11, 25): ("230.1000", "232.5000", "229.0000", "231.7500", 41_000_123),
    date(2026, 11, 24): ("228.0000", "230.9000", "227.5000", "230.0500", 38_500_000),
}
AAPL_DATA = data_body("AAPL", AAPL_BARS)


def client_for(stub: AlphaVantageStub, **overrides: object) -> AlphaVantageClient:
    """A client with tiny backoff and no real pacing, so retries cost milliseconds."""
    settings = Settings(
        alpha_vantage_api_key=API_KEY,
        alpha_vantage_base_url=stub.base_url,
        alpha_vantage_max_attempts=MAX_ATTEMPTS,
        alpha_vantage_backoff_seconds=0.01,
        alpha_vantage_calls_per_minute=60_000,
        alpha_vantage_timeout_seconds=2.0,
    ).with_overrides(**overrides)
    return AlphaVantageClient(settings)


def exception_texts(error: BaseException) -> Iterator[str]:
    """str and repr of `error` and of every exception chained to it."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        pending += [current.__cause__, current.__context__]


def test_data_reply_is_returned_exactly_as_received(alpha_vantage_stub: AlphaVantageStub):
    alpha_vantage_stub.enqueue("AAPL", StubReply(body=AAPL_DATA))

    body = client_for(alpha_vantage_stub).fetch_daily("AAPL")

    assert body == AAPL_DATA
    [request] = alpha_vantage_stub.requests
    assert (request.function, request.symbol, request.outputsize, request.datatype) == (
        "TIME_SERIES_DAILY",
        "AAPL",
        "compact",
        "json",
    )
    assert request.apikey == API_KEY


@pytest.mark.parametrize(
    "throttle",
    [per_minute_note_body(), burst_information_body()],
    ids=["per-minute-note", "burst-information"],
)
def test_throttle_is_waited_out_and_retried(
    alpha_vantage_stub: AlphaVantageStub, caplog: pytest.LogCaptureFixture, throttle: bytes
):
    alpha_vantage_stub.enqueue("AAPL", StubReply(body=throttle), StubReply(body=AAPL_DATA))
    caplog.set_level(logging.WARNING, logger="data_generator.sources.alpha_vantage")

    body = client_for(alpha_vantage_stub).fetch_daily("AAPL")

    assert body == AAPL_DATA
    assert len(alpha_vantage_stub.requests) == 2
    [retry_line] = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert "AAPL" in retry_line
    assert "throttled" in retry_line


def test_daily_limit_stops_all_later_calls(alpha_vantage_stub: AlphaVantageStub):
    alpha_vantage_stub.set_default("AAPL", StubReply(body=lambda r: daily_limit_body(r.apikey)))
    client = client_for(alpha_vantage_stub)

    with pytest.raises(DailyLimitError) as first:
        client.fetch_daily("AAPL")
    with pytest.raises(DailyLimitError):
        client.fetch_daily("MSFT")

    assert client.daily_limit_reached
    assert [r.symbol for r in alpha_vantage_stub.requests] == ["AAPL"]
    assert "25 requests per day" in str(first.value)
    assert API_KEY not in str(first.value)


def test_premium_outputsize_falls_back_to_compact_once(alpha_vantage_stub: AlphaVantageStub):
    def free_key_reply(request: StubRequest) -> bytes:
        if request.outputsize == "full":
            return premium_body()
        return data_body(request.symbol or "", AAPL_BARS)

    for symbol in ("AAPL", "MSFT"):
        alpha_vantage_stub.set_default(symbol, StubReply(body=free_key_reply))
    client = client_for(alpha_vantage_stub, alpha_vantage_outputsize="full")

    aapl = client.fetch_daily("AAPL")
    msft = client.fetch_daily("MSFT")

    assert b"Time Series (Daily)" in aapl
    assert b"Time Series (Daily)" in msft
    assert [(r.symbol, r.outputsize) for r in alpha_vantage_stub.requests] == [
        ("AAPL", "full"),
        ("AAPL", "compact"),
        ("MSFT", "compact"),
    ]
    [notice] = client.notices
    assert "compact" in notice


@pytest.mark.parametrize(
    "refusal", [demo_key_body(), invalid_key_body()], ids=["demo-key", "invalid-key"]
)
def test_refused_key_fails_fast(alpha_vantage_stub: AlphaVantageStub, refusal: bytes):
    alpha_vantage_stub.set_default("AAPL", StubReply(body=refusal))

    with pytest.raises(InvalidApiKeyError):
        client_for(alpha_vantage_stub).fetch_daily("AAPL")

    assert len(alpha_vantage_stub.requests) == 1


def test_missing_key_is_refused_before_any_call(alpha_vantage_stub: AlphaVantageStub):
    with pytest.raises(InvalidApiKeyError, match="ALPHA_VANTAGE_API_KEY"):
        client_for(alpha_vantage_stub, alpha_vantage_api_key=None)

    assert alpha_vantage_stub.requests == []


def test_unknown_symbol_fails_that_symbol_only(alpha_vantage_stub: AlphaVantageStub):
    alpha_vantage_stub.set_default("NOPE", StubReply(body=error_message_body()))
    client = client_for(alpha_vantage_stub)

    with pytest.raises(SymbolFetchError, match=r"NOPE: .*Invalid API call"):
        client.fetch_daily("NOPE")
    assert b"Time Series (Daily)" in client.fetch_daily("AAPL")

    assert [r.symbol for r in alpha_vantage_stub.requests] == ["NOPE", "AAPL"]


def test_unrecognised_notice_fails_the_symbol_without_retries(
    alpha_vantage_stub: AlphaVantageStub,
):
    notice = b'{"Information": "Something new the API has never said before."}'
    alpha_vantage_stub.set_default("AAPL", StubReply(body=notice))

    with pytest.raises(SymbolFetchError, match="never said before"):
        client_for(alpha_vantage_stub).fetch_daily("AAPL")

    assert len(alpha_vantage_stub.requests) == 1


TRANSIENT_FAILURES = {
    "http-429": StubReply(status=429, body=b"Too Many Requests"),
    "http-500": StubReply(status=500, body=b"Internal Server Error"),
    "http-503": StubReply(status=503, body=b"<html>Service Unavailable</html>"),
    "not-json": StubReply(body=b"<html>gateway error</html>"),
    "truncated-json": StubReply(body=AAPL_DATA[:40]),
    "cut-short-body": StubReply(body=AAPL_DATA, cut_short=True),
    "dropped-connection": StubReply(hang_up=True),
    "timeout": StubReply(body=AAPL_DATA, delay_seconds=3.0),
    "no-known-key": StubReply(body=b'{"Something Else": "entirely"}'),
}


@pytest.mark.parametrize("failure", TRANSIENT_FAILURES.values(), ids=TRANSIENT_FAILURES.keys())
def test_transient_failure_is_retried(alpha_vantage_stub: AlphaVantageStub, failure: StubReply):
    alpha_vantage_stub.enqueue("AAPL", failure, StubReply(body=AAPL_DATA))

    body = client_for(alpha_vantage_stub, alpha_vantage_timeout_seconds=0.3).fetch_daily("AAPL")

    assert body == AAPL_DATA
    assert len(alpha_vantage_stub.requests) == 2


def test_retries_are_bounded(alpha_vantage_stub: AlphaVantageStub):
    alpha_vantage_stub.set_default("AAPL", StubReply(status=503))
    client = client_for(alpha_vantage_stub)

    with pytest.raises(SymbolFetchError, match=f"AAPL: gave up after {MAX_ATTEMPTS} attempts"):
        client.fetch_daily("AAPL")

    assert len(alpha_vantage_stub.requests) == MAX_ATTEMPTS


def test_key_never_appears_in_logs_or_exceptions(
    alpha_vantage_stub: AlphaVantageStub, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    alpha_vantage_stub.set_default("DROP", StubReply(hang_up=True))
    alpha_vantage_stub.set_default("SLOW", StubReply(body=AAPL_DATA, delay_seconds=3.0))
    alpha_vantage_stub.set_default("NOPE", StubReply(body=error_message_body()))
    alpha_vantage_stub.set_default("DEMO", StubReply(body=demo_key_body()))
    alpha_vantage_stub.set_default("DAY", StubReply(body=lambda r: daily_limit_body(r.apikey)))
    client = client_for(alpha_vantage_stub, alpha_vantage_timeout_seconds=0.3)
    closed_port_client = client_for(
        alpha_vantage_stub, alpha_vantage_base_url="http://127.0.0.1:9/query"
    )

    errors = []
    for fetch, symbol in [
        (client.fetch_daily, "AAPL"),
        (client.fetch_daily, "DROP"),
        (client.fetch_daily, "SLOW"),
        (client.fetch_daily, "NOPE"),
        (client.fetch_daily, "DEMO"),
        (client.fetch_daily, "DAY"),
        (client.fetch_daily, "AFTER"),
        (closed_port_client.fetch_daily, "AAPL"),
    ]:
        try:
            fetch(symbol)
        except Exception as error:
            errors.append(error)

    assert len(errors) == 7
    assert any(r.name.startswith("urllib3") for r in caplog.records), "urllib3 must be heard"
    assert API_KEY not in caplog.text
    assert all(API_KEY not in record.getMessage() for record in caplog.records)
    for error in errors:
        for text in exception_texts(error):
            assert API_KEY not in text


def test_calls_are_paced_across_symbols(alpha_vantage_stub: AlphaVantageStub):
    calls_per_minute = 240
    interval = 60 / calls_per_minute
    client = client_for(alpha_vantage_stub, alpha_vantage_calls_per_minute=calls_per_minute)

    for symbol in ("AAPL", "MSFT", "NVDA"):
        client.fetch_daily(symbol)

    arrivals = [r.received_at for r in alpha_vantage_stub.requests]
    gaps = [later - earlier for earlier, later in pairwise(arrivals)]
    assert len(gaps) == 2
    # Loose: the client stamps its clock just before sending, the server on arrival.
    assert all(gap >= interval * 0.9 for gap in gaps), gaps


def test_standalone_stub_serves_data_and_the_chosen_errors():
    with standalone_stub(error_symbols=["XOM"]) as server:
        client = AlphaVantageClient(
            Settings(
                alpha_vantage_api_key=API_KEY,
                alpha_vantage_base_url=server.base_url,
                alpha_vantage_calls_per_minute=60_000,
            )
        )

        body = client.fetch_daily("AAPL")
        with pytest.raises(SymbolFetchError, match="XOM"):
            client.fetch_daily("XOM")

    assert body.count(b'"4. close"') == 30
    assert server.process.returncode == 0


def test_corporate_actions_get_the_same_reply_handling(alpha_vantage_stub: AlphaVantageStub):
    splits = splits_body("AAPL", [("2020-08-31", "4.0000")])
    alpha_vantage_stub.enqueue(
        "AAPL",
        StubReply(body=burst_information_body()),
        StubReply(status=503),
        StubReply(body=splits),
        function="SPLITS",
    )
    alpha_vantage_stub.enqueue("AAPL", StubReply(body=error_message_body()), function="DIVIDENDS")
    alpha_vantage_stub.enqueue(
        "MSFT",
        StubReply(body=lambda request: daily_limit_body(request.apikey or "")),
        function="DIVIDENDS",
    )
    client = client_for(alpha_vantage_stub)

    assert client.fetch_corporate_actions("AAPL", "SPLITS") == splits
    with pytest.raises(SymbolFetchError):
        client.fetch_corporate_actions("AAPL", "DIVIDENDS")
    with pytest.raises(DailyLimitError) as limit:
        client.fetch_corporate_actions("MSFT", "DIVIDENDS")
    assert API_KEY not in str(limit.value)
    with pytest.raises(DailyLimitError):
        client.fetch_daily("JPM")

    requests = alpha_vantage_stub.requests
    assert [(r.symbol, r.function) for r in requests] == [
        ("AAPL", "SPLITS"),
        ("AAPL", "SPLITS"),
        ("AAPL", "SPLITS"),
        ("AAPL", "DIVIDENDS"),
        ("MSFT", "DIVIDENDS"),
    ]
    assert all(r.outputsize is None for r in requests)


def test_call_gate_refusal_makes_no_request(alpha_vantage_stub: AlphaVantageStub):
    granted: list[tuple[str, str]] = []

    def gate(symbol: str, function: str) -> bool:
        granted.append((symbol, function))
        return len(granted) <= 1

    settings = Settings(
        alpha_vantage_api_key=API_KEY,
        alpha_vantage_base_url=alpha_vantage_stub.base_url,
        alpha_vantage_calls_per_minute=60_000,
    )
    client = AlphaVantageClient(settings, call_gate=gate)

    client.fetch_daily("AAPL")
    with pytest.raises(CallBudgetSpentError):
        client.fetch_corporate_actions("AAPL", "SPLITS")

    assert [(r.symbol, r.function) for r in alpha_vantage_stub.requests] == [
        ("AAPL", "TIME_SERIES_DAILY")
    ]


# --- a history as long as the gap: the outputsize each symbol's call asks for ----------------

NIGHT = date(2026, 11, 24)
NEXT_NIGHT = date(2026, 11, 25)
# A session 150 sessions before NIGHT: a symbol last loaded then has a gap no compact covers.
LONG_AGO = sessions_up_to(NIGHT, 151)[0]


def ingest_night(settings: Settings, stub: AlphaVantageStub, day: date) -> dict[str, list[str]]:
    """`fintrade ingest` for `day`; the outputsize of each daily call the stand-in received,
    per symbol, in order."""
    before = len(stub.requests_of())
    result = run_fintrade(settings, "ingest", "--date", day.isoformat())
    assert result.returncode == 0, result.stdout + result.stderr
    sizes: dict[str, list[str]] = {}
    for request in stub.requests_of()[before:]:
        sizes.setdefault(request.symbol or "", []).append(request.outputsize or "")
    return sizes


def bars_in_raw(settings: Settings, symbol: str) -> int:
    [(count,)] = query(
        settings, "select count(*) from raw.daily_prices where symbol = %s", (symbol,)
    )
    return int(count)


def test_outputsize_is_full_on_a_first_load_and_a_long_gap_else_compact(
    settings: Settings, alpha_vantage_stub: AlphaVantageStub
) -> None:
    live = vendor_settings(settings, alpha_vantage_stub, API_KEY, symbols=("JPM",))
    alpha_vantage_stub.set_default("JPM", sized_series_reply(LONG_AGO))
    # JPM's first load, 150 sessions ago: the whole history.
    assert ingest_night(live, alpha_vantage_stub, LONG_AGO) == {"JPM": ["full"]}
    assert bars_in_raw(live, "JPM") == 300

    for symbol in ("AAPL", "JPM", "MSFT"):
        alpha_vantage_stub.set_default(symbol, sized_series_reply(NIGHT))
    live = live.with_overrides(symbols=("AAPL", "MSFT", "JPM"))
    # AAPL and MSFT first loads, JPM 150 sessions behind: all three ask for the whole history,
    # and JPM's hole is filled.
    assert ingest_night(live, alpha_vantage_stub, NIGHT) == {
        "AAPL": ["full"],
        "MSFT": ["full"],
        "JPM": ["full"],
    }
    assert len(set(sessions_up_to(NIGHT, 300)) | set(sessions_up_to(LONG_AGO, 300))) == (
        bars_in_raw(live, "JPM")
    )

    for symbol in ("AAPL", "JPM", "MSFT"):
        alpha_vantage_stub.set_default(symbol, sized_series_reply(NEXT_NIGHT))
    # The next night every symbol is one session behind: compact.
    assert ingest_night(live, alpha_vantage_stub, NEXT_NIGHT) == {
        "AAPL": ["compact"],
        "MSFT": ["compact"],
        "JPM": ["compact"],
    }
    assert bars_in_raw(live, "AAPL") == 301


def test_a_setting_of_compact_or_full_forces_the_size(
    settings: Settings, alpha_vantage_stub: AlphaVantageStub
) -> None:
    live = vendor_settings(settings, alpha_vantage_stub, API_KEY, symbols=("AAPL",))

    # compact even for a first load, full even one session behind.
    alpha_vantage_stub.set_default("AAPL", sized_series_reply(NIGHT))
    compact = live.with_overrides(alpha_vantage_outputsize="compact")
    assert ingest_night(compact, alpha_vantage_stub, NIGHT) == {"AAPL": ["compact"]}
    alpha_vantage_stub.set_default("AAPL", sized_series_reply(NEXT_NIGHT))
    full = live.with_overrides(alpha_vantage_outputsize="full")
    assert ingest_night(full, alpha_vantage_stub, NEXT_NIGHT) == {"AAPL": ["full"]}


def test_a_free_key_gets_compact_and_each_symbol_cut_short_is_named(
    settings: Settings, alpha_vantage_stub: AlphaVantageStub
) -> None:
    live = vendor_settings(settings, alpha_vantage_stub, API_KEY, symbols=("AAPL", "MSFT"))
    for symbol in ("AAPL", "MSFT"):
        alpha_vantage_stub.set_default(symbol, sized_series_reply(NIGHT, free_key=True))
    before = len(alpha_vantage_stub.requests_of())

    result = run_fintrade(live, "ingest", "--date", NIGHT.isoformat())

    assert result.returncode == 0, result.stdout + result.stderr
    # Full once, refused as premium-only, then compact for AAPL and for every later symbol.
    assert [(r.symbol, r.outputsize) for r in alpha_vantage_stub.requests_of()[before:]] == [
        ("AAPL", "full"),
        ("AAPL", "compact"),
        ("MSFT", "compact"),
    ]
    first_bar = sessions_up_to(last_session_on_or_before(NIGHT), 100)[0]
    told = (
        f"history before {first_bar} could not be fetched: outputsize=full is premium-only "
        "for this key, compact gives the latest 100 sessions"
    )
    for symbol in ("AAPL", "MSFT"):
        # One line naming the symbol: in the run's output, its log, and its run record.
        assert f"{symbol}: 100 new, 0 updated, 0 unchanged, 0 rejected ({told})" in (
            result.stdout.splitlines()
        ), result.stdout
        assert f"WARNING data_generator.steps.prices: {symbol}: {told}" in result.stderr
    assert query(
        live,
        "select symbol, status, error from raw.ingest_runs"
        " where dataset = 'prices' and status <> 'api_call' order by symbol",
    ) == [("AAPL", "loaded", told), ("MSFT", "loaded", told)]
    assert API_KEY not in result.stdout + result.stderr

    # The next night the stored history is one session behind: compact, and nothing to tell.
    for symbol in ("AAPL", "MSFT"):
        alpha_vantage_stub.set_default(symbol, sized_series_reply(NEXT_NIGHT, free_key=True))
    assert ingest_night(live, alpha_vantage_stub, NEXT_NIGHT) == {
        "AAPL": ["compact"],
        "MSFT": ["compact"],
    }
