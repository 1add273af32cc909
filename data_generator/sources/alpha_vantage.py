"""Client for Alpha Vantage's TIME_SERIES_DAILY, SPLITS and DIVIDENDS: one symbol per call, the
reply body kept as is.

Alpha Vantage answers almost every failure with HTTP 200 and a JSON notice instead of data, so
the client reads each reply and decides what it means for the run: a throttle is waited out, the
daily quota stops all further calls, a premium-only `outputsize=full` falls back to `compact`
(and every later `full` of the run is asked as `compact` at once), a bad
key stops the run, a bad symbol fails only that symbol, and network trouble is retried with
exponential backoff. Pacing keeps the calls under the free key's per-minute allowance, and an
optional call gate (the run's daily budget) is asked before every request, retries included.

The key only works as a query parameter, so it is part of every URL `requests` and `urllib3`
put in their exception texts and debug logs, and the daily-limit notice echoes it back. Every
message this module raises or logs is redacted, exceptions are raised outside `except` blocks so
no key-bearing exception rides along as `__context__`, and `urllib3`'s loggers get a filter that
masks the key in the URLs they print.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from enum import Enum
from urllib.parse import quote_plus

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from data_generator.errors import FintradeError
from data_generator.settings import OutputSize, Settings

logger = logging.getLogger(__name__)

DAILY_SERIES_KEY = "Time Series (Daily)"
DAILY_SERIES_FUNCTION = "TIME_SERIES_DAILY"
# Corporate-action functions and the key their data replies carry.
ACTION_FUNCTIONS = ("SPLITS", "DIVIDENDS")
ACTION_DATA_KEY = "data"
REDACTED = "***"
# A full daily history is about 2 MB; anything far larger is not a reply to read into memory.
MAX_REPLY_BYTES = 8 * 1024 * 1024
# The longest single backoff sleep; beyond a minute every Alpha Vantage window has reset.
MAX_BACKOFF_SECONDS = 60.0
# Loggers of the HTTP stack that print request URLs (and so the key) at DEBUG level.
HTTP_STACK_LOGGER_PREFIXES = ("urllib3", "requests")

_APIKEY_PARAMETER = re.compile(r"(apikey=)[^&\s'\"]+", re.IGNORECASE)


class AlphaVantageError(FintradeError):
    """Any failure talking to Alpha Vantage; the message never contains the API key."""


class InvalidApiKeyError(AlphaVantageError):
    """The key is the public demo key or Alpha Vantage does not accept it: no call can succeed."""


class DailyLimitError(AlphaVantageError):
    """The key's daily quota is used up: any further call today only repeats this reply."""


class CallBudgetSpentError(DailyLimitError):
    """The run's daily call budget (ALPHA_VANTAGE_DAILY_BUDGET) is spent: no call was made."""


# Asked before every request with (symbol, function); False refuses the call.
CallGate = Callable[[str, str], bool]


class SymbolFetchError(AlphaVantageError):
    """This symbol could not be fetched; other symbols may still succeed."""


class _RetryableReply(Exception):
    """A failure that may pass on its own (throttle, gateway, network); its text is redacted."""


class _ReplyKind(Enum):
    DATA = "data"
    THROTTLED = "throttled"
    DAILY_LIMIT = "daily limit"
    PREMIUM_ONLY = "premium only"
    BAD_KEY = "bad key"
    BAD_CALL = "bad call"
    UNKNOWN_NOTICE = "unknown notice"
    UNRECOGNISED = "unrecognised"


def redact(text: str, secret: str | None) -> str:
    """Mask `secret` (raw or URL-encoded) and any `apikey=` query value in `text`."""
    if secret:
        text = text.replace(secret, REDACTED)
        encoded = quote_plus(secret)
        if encoded != secret:
            text = text.replace(encoded, REDACTED)
    return _APIKEY_PARAMETER.sub(rf"\g<1>{REDACTED}", text)


class _UrlKeyFilter(logging.Filter):
    """Masks `apikey=` values in records of the HTTP stack's loggers, which log full URLs."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "apikey=" in message.lower():
            record.msg = redact(message, None)
            record.args = None
        return True


_URL_KEY_FILTER = _UrlKeyFilter()


def _mask_keys_in_http_stack_logs() -> None:
    """Attach the URL filter to every existing `urllib3`/`requests` logger, once.

    A filter only sees records created by the logger it sits on (not ones propagated from
    children), so it goes on each module logger; they all exist once `requests` is imported.
    """
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] not in HTTP_STACK_LOGGER_PREFIXES:
            continue
        http_logger = logging.getLogger(name)
        if _URL_KEY_FILTER not in http_logger.filters:
            http_logger.addFilter(_URL_KEY_FILTER)


def _classify(payload: dict[str, object], function: str) -> tuple[_ReplyKind, str]:
    """Name what a parsed reply means, with the notice text that says so."""
    if function == DAILY_SERIES_FUNCTION and isinstance(payload.get(DAILY_SERIES_KEY), dict):
        return _ReplyKind.DATA, ""
    if function in ACTION_FUNCTIONS and isinstance(payload.get(ACTION_DATA_KEY), list):
        return _ReplyKind.DATA, ""
    error = payload.get("Error Message")
    if isinstance(error, str):
        lowered = error.lower()
        if "apikey" in lowered or "api key" in lowered:
            return _ReplyKind.BAD_KEY, error
        return _ReplyKind.BAD_CALL, error
    notice = payload.get("Information", payload.get("Note"))
    if not isinstance(notice, str):
        return _ReplyKind.UNRECOGNISED, f"a reply without any known key: {sorted(payload)}"
    lowered = notice.lower()
    # The burst notice also mentions the 25-a-day quota, so the throttle checks come first.
    if any(cue in lowered for cue in ("sparingly", "per second", "per minute", "frequency")):
        return _ReplyKind.THROTTLED, notice
    # "daily" alone would match the premium notice, which names TIME_SERIES_DAILY.
    if any(cue in lowered for cue in ("per day", "daily rate limit", "daily limit")):
        return _ReplyKind.DAILY_LIMIT, notice
    # Some premium notices also invite the reader to "get your free API key".
    if "premium feature" in lowered or "premium endpoint" in lowered:
        return _ReplyKind.PREMIUM_ONLY, notice
    if "demo" in lowered or "api key" in lowered or "apikey" in lowered:
        return _ReplyKind.BAD_KEY, notice
    return _ReplyKind.UNKNOWN_NOTICE, notice


def _error_for(symbol: str, kind: _ReplyKind, notice: str) -> Exception:
    """The exception a non-data reply becomes; `notice` must already be redacted."""
    if kind is _ReplyKind.THROTTLED:
        return _RetryableReply(f"throttled: {notice}")
    if kind is _ReplyKind.UNRECOGNISED:
        return _RetryableReply(notice)
    if kind is _ReplyKind.DAILY_LIMIT:
        return DailyLimitError(f"{symbol}: Alpha Vantage daily limit reached: {notice}")
    if kind is _ReplyKind.BAD_KEY:
        return InvalidApiKeyError(f"Alpha Vantage refused the API key: {notice}")
    return SymbolFetchError(f"{symbol}: Alpha Vantage answered: {notice}")


class AlphaVantageClient:
    """Fetches daily series symbol by symbol, remembering what the API said earlier in the run.

    One client serves one run: it holds the pacing clock, whether the key refused `full` (then
    every `full` asked is sent as `compact`), the daily-limit state and the notices a user should
    read afterwards.
    It is meant for one thread: the pacing clock is not locked.
    """

    name = "alphavantage"
    has_daily_limit = True

    def __init__(
        self,
        settings: Settings,
        session: requests.Session | None = None,
        call_gate: CallGate | None = None,
    ) -> None:
        if not settings.alpha_vantage_api_key:
            raise InvalidApiKeyError("ALPHA_VANTAGE_API_KEY is not set")
        self._api_key = settings.alpha_vantage_api_key
        self._base_url = settings.alpha_vantage_base_url
        # The size of a call that names none: a forced setting, else compact.
        configured = OutputSize(settings.alpha_vantage_outputsize)
        self._default_outputsize = (
            OutputSize.COMPACT if configured is OutputSize.AUTO else configured
        )
        self._max_attempts = settings.alpha_vantage_max_attempts
        self._timeout = settings.alpha_vantage_timeout_seconds
        self._min_interval = 60.0 / settings.alpha_vantage_calls_per_minute
        self._last_call_at: float | None = None
        self._session = session or requests.Session()
        self._call_gate = call_gate
        self._retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=wait_exponential(
                multiplier=settings.alpha_vantage_backoff_seconds, max=MAX_BACKOFF_SECONDS
            ),
            retry=retry_if_exception_type(_RetryableReply),
            before_sleep=self._log_retry,
            reraise=True,
        )
        self.notices: list[str] = []
        self.daily_limit_reached = False
        # The key answered `full` with the premium-only notice: the run only gets compact.
        self.full_refused = False
        _mask_keys_in_http_stack_logs()

    def fetch_daily(self, symbol: str, outputsize: OutputSize | None = None) -> bytes:
        """The data reply for `symbol` exactly as received, or one of the module's errors.

        `outputsize` is `compact` or `full` (None: the setting's, compact for `auto`); a `full`
        the key refuses is asked again as `compact` (see `full_refused`).
        """
        size = OutputSize(outputsize or self._default_outputsize)
        if size is OutputSize.AUTO:
            raise ValueError("ask for compact or full; `auto` is decided before the call")
        return self._fetch(symbol, DAILY_SERIES_FUNCTION, size)

    def fetch_corporate_actions(self, symbol: str, function: str) -> bytes:
        """The SPLITS or DIVIDENDS reply for `symbol` as received, with the same reply handling."""
        if function not in ACTION_FUNCTIONS:
            raise ValueError(f"not a corporate-action function: {function}")
        return self._fetch(symbol, function)

    def _fetch(
        self, symbol: str, function: str, outputsize: OutputSize = OutputSize.COMPACT
    ) -> bytes:
        if self.daily_limit_reached:
            raise DailyLimitError(
                f"{symbol}: not requested, the Alpha Vantage daily limit was reached earlier "
                "in this run"
            )
        try:
            return self._retrying(self._fetch_once, symbol, function, outputsize)
        except _RetryableReply as exhausted:
            reason = str(exhausted)
        raise SymbolFetchError(f"{symbol}: gave up after {self._max_attempts} attempts: {reason}")

    def _fetch_once(self, symbol: str, function: str, outputsize: OutputSize) -> bytes:
        """One attempt: a call, and a second one at once if `full` turns out to be premium."""
        while True:
            size = OutputSize.COMPACT if self.full_refused else outputsize
            body = self._get(symbol, function, size)
            kind, notice = _classify(self._parse(body), function)
            if kind is _ReplyKind.DATA:
                return body
            if kind is _ReplyKind.PREMIUM_ONLY and size is OutputSize.FULL:
                self._fall_back_to_compact()
                continue
            if kind is _ReplyKind.DAILY_LIMIT:
                self._stop_calling(symbol)
            raise _error_for(symbol, kind, self._redact(notice))

    def _stop_calling(self, symbol: str) -> None:
        self.daily_limit_reached = True
        logger.warning("Alpha Vantage daily limit reached at %s; no more calls this run", symbol)

    def _fall_back_to_compact(self) -> None:
        self.full_refused = True
        notice = (
            "outputsize=full is premium-only for this key; asking compact (the latest 100 "
            "trading days) for the rest of this run"
        )
        self.notices.append(notice)
        logger.warning(notice)

    def _get(
        self, symbol: str, function: str, outputsize: OutputSize = OutputSize.COMPACT
    ) -> bytes:
        """One paced HTTP call; anything but a complete HTTP 200 body is a retryable failure."""
        if self._call_gate is not None and not self._call_gate(symbol, function):
            self.daily_limit_reached = True
            raise CallBudgetSpentError(
                f"{symbol}: not requested, the daily call budget (ALPHA_VANTAGE_DAILY_BUDGET) "
                "is spent"
            )
        self._wait_for_slot()
        params = {"function": function, "symbol": symbol, "apikey": self._api_key}
        if function == DAILY_SERIES_FUNCTION:
            params |= {"outputsize": outputsize.value, "datatype": "json"}
        failure: str | None = None
        body = b""
        try:
            with self._session.get(
                self._base_url, params=params, timeout=self._timeout, stream=True
            ) as response:
                status = response.status_code
                if status == 200:
                    body = self._bounded_body(response)
        except requests.RequestException as exc:
            failure = self._redact(f"{type(exc).__name__}: {exc}")
        if failure is not None:
            raise _RetryableReply(failure)
        if status == 429 or status >= 500:
            raise _RetryableReply(f"HTTP {status}")
        if status != 200:
            raise SymbolFetchError(f"{symbol}: Alpha Vantage answered HTTP {status}")
        if len(body) > MAX_REPLY_BYTES:
            raise SymbolFetchError(
                f"{symbol}: reply larger than {MAX_REPLY_BYTES // (1024 * 1024)} MB, not read"
            )
        return body

    @staticmethod
    def _bounded_body(response: requests.Response) -> bytes:
        """The body, read no further than one byte past the limit."""
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=64 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_REPLY_BYTES:
                break
        return b"".join(chunks)

    def _parse(self, body: bytes) -> dict[str, object]:
        failure: str | None = None
        try:
            payload = json.loads(body)
        except ValueError as exc:
            failure = f"reply is not JSON ({len(body)} bytes): {type(exc).__name__}"
        if failure is not None:
            raise _RetryableReply(failure)
        if not isinstance(payload, dict):
            raise _RetryableReply(f"reply is JSON but not an object: {type(payload).__name__}")
        return payload

    def _wait_for_slot(self) -> None:
        """Keep at least `60 / calls_per_minute` seconds between the starts of two calls."""
        if self._last_call_at is not None:
            remaining = self._last_call_at + self._min_interval - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)
        self._last_call_at = time.monotonic()

    def _redact(self, text: str) -> str:
        return redact(text, self._api_key)

    def _log_retry(self, retry_state: RetryCallState) -> None:
        outcome = retry_state.outcome
        reason = outcome.exception() if outcome is not None else None
        logger.warning(
            "Alpha Vantage %s: attempt %d of %d failed (%s); retrying in %.2fs",
            retry_state.args[0],
            retry_state.attempt_number,
            self._max_attempts,
            reason,
            retry_state.upcoming_sleep,
        )
