"""A real HTTP server on 127.0.0.1 that answers like Alpha Vantage's `/query` endpoint.

Tests drive the client over real sockets: each symbol and function (TIME_SERIES_DAILY unless a
test names SPLITS or DIVIDENDS) has a queue of scripted replies (status, body, delay, a cut-short
body or a dropped connection) and a default reply once the queue is empty, and every request is
recorded so a test can count the calls the client made. Corporate actions default to empty lists.

Run standalone for tests that start other processes (the Airflow DAG test):

    python -m tests.support.alpha_vantage_stub --port 0 --error-symbols XOM

It prints `listening on http://127.0.0.1:PORT/query` once it accepts connections, answers every
symbol with a deterministic series of the last 30 weekdays, except the `--error-symbols`, which
get an "Error Message" reply, and stops on SIGTERM or Ctrl-C. With `--request-log PATH` it
appends `FUNCTION SYMBOL` to PATH for every request, so a test can count another process's calls.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from urllib.parse import parse_qs, urlsplit

from data_generator.reference.trading_calendar import is_trading_day

REPO_ROOT = Path(__file__).resolve().parents[2]  # where `python -m tests.support...` runs
QUERY_PATH = "/query"
DAILY_FUNCTION = "TIME_SERIES_DAILY"
ACTION_FUNCTIONS = ("SPLITS", "DIVIDENDS")
STANDARD_SERIES_DAYS = 30
# The bars of a compact reply.
COMPACT_BARS = 100
# How often the serving loop checks for shutdown; the default half second slows every test.
SHUTDOWN_POLL_SECONDS = 0.05

Price = Decimal | float | int | str
Bar = tuple[Price, Price, Price, Price, int | str]


@dataclass(frozen=True)
class StubRequest:
    """What the client asked for; `received_at` is `time.monotonic()` on arrival."""

    symbol: str | None
    function: str | None
    outputsize: str | None
    datatype: str | None
    apikey: str | None
    received_at: float


@dataclass(frozen=True)
class StubReply:
    """One scripted answer.

    `body` may be a callable of the request (to echo its key, say). `delay_seconds` holds the
    answer back so a client timeout fires; `cut_short` announces the full length but sends half
    the body and hangs up; `hang_up` closes the connection without answering at all.
    """

    body: bytes | Callable[[StubRequest], bytes] = b""
    status: int = 200
    delay_seconds: float = 0.0
    cut_short: bool = False
    hang_up: bool = False

    def body_for(self, request: StubRequest) -> bytes:
        return self.body(request) if callable(self.body) else self.body


# --- reply bodies, shaped like Alpha Vantage's ---------------------------------------------


def _json_bytes(payload: Mapping[str, object]) -> bytes:
    return json.dumps(payload, indent=4).encode()


def _price_text(value: Price) -> str:
    return value if isinstance(value, str) else f"{Decimal(str(value)):.4f}"


def data_body(symbol: str, bars: Mapping[date | str, Bar], output_size: str = "Compact") -> bytes:
    """A TIME_SERIES_DAILY data reply: `bars` maps a day to (open, high, low, close, volume)."""
    days = sorted(bars, key=str, reverse=True)
    series = {
        str(day): {
            "1. open": _price_text(bars[day][0]),
            "2. high": _price_text(bars[day][1]),
            "3. low": _price_text(bars[day][2]),
            "4. close": _price_text(bars[day][3]),
            "5. volume": str(bars[day][4]),
        }
        for day in days
    }
    meta = {
        "1. Information": "Daily Prices (open, high, low, close) and Volumes",
        "2. Symbol": symbol,
        "3. Last Refreshed": str(days[0]) if days else "",
        "4. Output Size": output_size,
        "5. Time Zone": "US/Eastern",
    }
    return _json_bytes({"Meta Data": meta, "Time Series (Daily)": series})


def splits_body(symbol: str, splits: Iterable[tuple[date | str, Price]]) -> bytes:
    """A SPLITS reply: (effective date, factor) pairs, newest first as the API sends them."""
    data = [
        {"effective_date": str(day), "split_factor": _price_text(factor)}
        for day, factor in sorted(splits, key=lambda pair: str(pair[0]), reverse=True)
    ]
    return _json_bytes({"symbol": symbol, "data": data})


def dividends_body(symbol: str, dividends: Iterable[Mapping[str, object]]) -> bytes:
    """A DIVIDENDS reply from entries with the API's field names; missing dates become "None"."""
    fields = ("ex_dividend_date", "declaration_date", "record_date", "payment_date", "amount")
    data = [{name: str(entry.get(name, "None")) for name in fields} for entry in dividends]
    return _json_bytes({"symbol": symbol, "data": data})


def per_minute_note_body() -> bytes:
    """The older per-minute throttle, sent under "Note"."""
    return _json_bytes(
        {
            "Note": "Thank you for using Alpha Vantage! Our standard API call frequency is "
            "5 calls per minute and 500 calls per day. Please visit "
            "https://www.alphavantage.co/premium/ if you would like a higher frequency."
        }
    )


def burst_information_body() -> bytes:
    """The per-second burst throttle; it mentions the daily quota too, as the real one does."""
    return _json_bytes(
        {
            "Information": "Thank you for using Alpha Vantage! Please consider spreading out "
            "your free API requests more sparingly (1 request per second). You may subscribe "
            "to any of the premium plans at https://www.alphavantage.co/premium/ to lift the "
            "free key rate limit (25 requests per day) and raise the per-second burst limit."
        }
    )


def daily_limit_body(api_key: str) -> bytes:
    """The daily quota reply, which echoes the caller's key."""
    return _json_bytes(
        {
            "Information": f"We have detected your API key as {api_key} and our standard API "
            "rate limit is 25 requests per day. Please subscribe to any of the premium plans "
            "at https://www.alphavantage.co/premium/ to instantly remove all daily rate limits."
        }
    )


def premium_body() -> bytes:
    """The reply to `outputsize=full` on a free key."""
    return _json_bytes(
        {
            "Information": "Thank you for using Alpha Vantage! The outputsize=full parameter "
            "value is a premium feature for the TIME_SERIES_DAILY endpoint. You may subscribe "
            "to any of the premium plans at https://www.alphavantage.co/premium/ to instantly "
            "unlock all premium features."
        }
    )


def demo_key_body() -> bytes:
    """The reply to the public `demo` key for anything but the documented examples."""
    return _json_bytes(
        {
            "Information": "The demo API key is for demo purposes only. Please claim your free "
            "API key at (https://www.alphavantage.co/support/#api-key) to explore our full API "
            "offerings."
        }
    )


def invalid_key_body() -> bytes:
    """The reply to a missing or unknown key."""
    return _json_bytes(
        {
            "Error Message": "the parameter apikey is invalid or missing. Please claim your "
            "free API key on (https://www.alphavantage.co/support/#api-key)."
        }
    )


def error_message_body(function: str = "TIME_SERIES_DAILY") -> bytes:
    """The reply to an unknown symbol or a malformed call."""
    return _json_bytes(
        {
            "Error Message": "Invalid API call. Please retry or visit the documentation "
            f"(https://www.alphavantage.co/documentation/) for {function}."
        }
    )


def last_sessions(end: date, count: int) -> list[date]:
    """The `count` NYSE sessions up to and including `end` (if it is one), oldest first: the
    real API has no bar on a weekend or an exchange holiday."""
    days: list[date] = []
    day = end
    while len(days) < count:
        if is_trading_day(day):
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


def _dollars(cents: int) -> Decimal:
    return Decimal(cents) / 100


def standard_bars(symbol: str, end: date, count: int = STANDARD_SERIES_DAYS) -> dict[date, Bar]:
    """A deterministic, plausible series for `symbol`: same inputs, same prices, every run."""
    seed = zlib.crc32(symbol.encode())
    base_cents = 2_000 + seed % 48_000
    bars: dict[date, Bar] = {}
    for day in last_sessions(end, count):
        n = day.toordinal()
        close = base_cents + (n * 37 + seed) % 401 - 200
        open_ = close + (n * 13) % 101 - 50
        high = max(open_, close) + (n % 7) * 10
        low = min(open_, close) - (n % 5) * 10
        volume = 1_000_000 + (seed + n * 7_919) % 9_000_000
        bars[day] = (_dollars(open_), _dollars(high), _dollars(low), _dollars(close), volume)
    return bars


def sized_series_reply(end: date, *, full_bars: int = 300, free_key: bool = False) -> StubReply:
    """The daily series as the real API sizes it: `compact` the latest 100 sessions up to `end`,
    `full` `full_bars` of them, and on a free key `full` refused as premium-only."""

    def body(request: StubRequest) -> bytes:
        symbol = request.symbol or ""
        if request.outputsize == "full":
            if free_key:
                return premium_body()
            return data_body(symbol, standard_bars(symbol, end, full_bars), "Full size")
        return data_body(symbol, standard_bars(symbol, end, COMPACT_BARS))

    return StubReply(body=body)


def invalid_call_reply() -> StubReply:
    return StubReply(body=error_message_body())


# --- the server -----------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _StubHTTPServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != QUERY_PATH:
            self._send(404, b'{"error": "not found"}')
            return
        params = {name: values[0] for name, values in parse_qs(url.query).items()}
        request = StubRequest(
            symbol=params.get("symbol"),
            function=params.get("function"),
            outputsize=params.get("outputsize"),
            datatype=params.get("datatype"),
            apikey=params.get("apikey"),
            received_at=time.monotonic(),
        )
        reply = self.server.stub.reply_to(request)
        if reply.delay_seconds and self.server.stub.stopping.wait(reply.delay_seconds):
            return
        if reply.hang_up:
            self.close_connection = True
            return
        body = reply.body_for(request)
        sent = body[: len(body) // 2] if reply.cut_short else body
        self._send(reply.status, sent, announced_length=len(body))

    def _send(self, status: int, body: bytes, announced_length: int | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(announced_length or len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            # The client gave up first (its timeout fired); nothing is left to answer.
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the request line carries the API key, and tests read the record instead."""


class _StubHTTPServer(ThreadingHTTPServer):
    def __init__(self, stub: AlphaVantageStub, port: int) -> None:
        self.stub = stub
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """Silent: a client hanging up mid-reply is what several tests do on purpose."""


class AlphaVantageStub:
    """The programmable server: queues and defaults per symbol, and the record of requests."""

    def __init__(
        self,
        port: int = 0,
        error_symbols: Iterable[str] = (),
        series_end: date | None = None,
        request_log: Path | None = None,
        action_error_symbols: Iterable[str] = (),
    ) -> None:
        self._port = port
        self._request_log = request_log
        self._error_symbols = {symbol.upper() for symbol in error_symbols}
        self._action_error_symbols = {symbol.upper() for symbol in action_error_symbols}
        self._series_end = series_end
        self._queues: defaultdict[tuple[str | None, str], deque[StubReply]] = defaultdict(deque)
        self._defaults: dict[tuple[str | None, str], StubReply] = {}
        self._requests: list[StubRequest] = []
        self._lock = threading.Lock()
        self._server: _StubHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()

    def start(self) -> AlphaVantageStub:
        self._server = _StubHTTPServer(self, self._port)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name="alpha-vantage-stub",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> AlphaVantageStub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the stub is not running")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{QUERY_PATH}"

    def enqueue(self, symbol: str, *replies: StubReply, function: str = DAILY_FUNCTION) -> None:
        """Answer the next requests of `function` for `symbol` with `replies`, in order."""
        with self._lock:
            self._queues[(symbol, function)].extend(replies)

    def set_default(self, symbol: str, reply: StubReply, function: str = DAILY_FUNCTION) -> None:
        """Answer `function` for `symbol` with `reply` whenever its queue is empty."""
        with self._lock:
            self._defaults[(symbol, function)] = reply

    @property
    def requests(self) -> list[StubRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, symbol: str) -> list[StubRequest]:
        return [request for request in self.requests if request.symbol == symbol]

    def requests_of(self, function: str = DAILY_FUNCTION) -> list[StubRequest]:
        return [request for request in self.requests if request.function == function]

    def reply_to(self, request: StubRequest) -> StubReply:
        with self._lock:
            self._requests.append(request)
            if self._request_log is not None:
                with self._request_log.open("a") as log:
                    log.write(f"{request.function} {request.symbol}\n")
            key = (request.symbol, request.function or "")
            queue = self._queues[key]
            if queue:
                return queue.popleft()
            if key in self._defaults:
                return self._defaults[key]
        return self._standard_reply(request)

    def _standard_reply(self, request: StubRequest) -> StubReply:
        """What the real API does for a well-formed call, as far as a stand-in needs."""
        if not request.apikey:
            return StubReply(body=invalid_key_body())
        symbol = request.symbol
        known = (DAILY_FUNCTION, *ACTION_FUNCTIONS)
        if request.function not in known or not symbol or symbol.upper() in self._error_symbols:
            return StubReply(body=error_message_body(request.function or ""))
        if request.function in ACTION_FUNCTIONS:
            if symbol.upper() in self._action_error_symbols:
                return StubReply(body=error_message_body(request.function))
            return StubReply(body=_json_bytes({"symbol": symbol, "data": []}))
        end = self._series_end or date.today()
        return StubReply(body=data_body(symbol, standard_bars(symbol, end)))


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Local stand-in for Alpha Vantage's /query.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument(
        "--error-symbols",
        default="",
        help="comma list of symbols answered with an 'Error Message' (unknown symbol)",
    )
    parser.add_argument(
        "--action-error-symbols",
        default="",
        help="comma list of symbols whose SPLITS and DIVIDENDS get an 'Error Message'",
    )
    parser.add_argument(
        "--series-end",
        type=date.fromisoformat,
        default=None,
        help="last day of the served series (YYYY-MM-DD); default today",
    )
    parser.add_argument(
        "--request-log",
        type=Path,
        default=None,
        help="file to append 'FUNCTION SYMBOL' to for every request (the key is never written)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    error_symbols = [s.strip() for s in args.error_symbols.split(",") if s.strip()]
    action_error_symbols = [s.strip() for s in args.action_error_symbols.split(",") if s.strip()]
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with AlphaVantageStub(
        args.port, error_symbols, args.series_end, args.request_log, action_error_symbols
    ) as stub:
        print(f"listening on {stub.base_url}", flush=True)
        stop_requested.wait()


@dataclass
class StandaloneStub:
    base_url: str
    process: subprocess.Popen[str]
    request_log: Path | None = None

    def daily_requests(self) -> Counter[str]:
        """TIME_SERIES_DAILY requests per symbol so far (needs `request_log`)."""
        log = self.request_log
        lines = log.read_text().splitlines() if log is not None and log.exists() else []
        return Counter(
            symbol
            for function, symbol in (line.split(" ", 1) for line in lines)
            if function == "TIME_SERIES_DAILY"
        )


@contextmanager
def standalone_stub(
    error_symbols: Iterable[str] = (),
    series_end: date | None = None,
    request_log: Path | None = None,
    action_error_symbols: Iterable[str] = (),
) -> Iterator[StandaloneStub]:
    """The stand-in as its own process, as `python -m` runs it above, for tests whose client is
    another process; yielded once it listens, stopped by SIGTERM afterwards (its exit code is
    then on `process`)."""
    command = [sys.executable, "-m", __name__, "--port", "0"]
    command += ["--error-symbols", ",".join(error_symbols)]
    command += ["--action-error-symbols", ",".join(action_error_symbols)]
    if series_end is not None:
        command += ["--series-end", series_end.isoformat()]
    if request_log is not None:
        command += ["--request-log", str(request_log)]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        if not first_line.startswith("listening on "):
            raise RuntimeError(f"the standalone stub did not start: {first_line!r}")
        base_url = first_line.removeprefix("listening on ").strip()
        yield StandaloneStub(base_url, process, request_log)
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
