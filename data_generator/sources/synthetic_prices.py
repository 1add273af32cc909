"""An offline price source that answers in Alpha Vantage's TIME_SERIES_DAILY JSON shape.

Prices follow geometric Brownian motion from a fixed epoch, one random stream per (seed, symbol),
so the bar for a given day is the same whichever run date asks for it: a daily run never
"restates" history by accident, and back-fills agree with the original loads. Bars are as traded:
before each scheduled split prices are that many times higher and volumes that many times lower
(see `synthetic_actions`), and the same schedule answers SPLITS and DIVIDENDS.
"""

from __future__ import annotations

import bisect
import json
import zlib
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from data_generator.reference.trading_calendar import trading_days
from data_generator.reference.universe import Stock
from data_generator.settings import OutputSize
from data_generator.sources import synthetic_actions

# The default first day of every path (Settings.synthetic_start); a scale run moves it back.
EPOCH = date(2012, 1, 3)
TRADING_DAYS_PER_YEAR = 252

# (start price range, annual volatility, annual drift, typical daily volume) per GICS sector;
# a sector not listed here (any the universe file names) gets the default profile.
_SECTOR_PROFILES: dict[str, tuple[tuple[float, float], float, float, int]] = {
    "Information Technology": ((80.0, 400.0), 0.32, 0.12, 40_000_000),
    "Communication Services": ((60.0, 300.0), 0.30, 0.10, 25_000_000),
    "Consumer Discretionary": ((40.0, 350.0), 0.38, 0.09, 30_000_000),
    "Financials": ((50.0, 250.0), 0.24, 0.07, 12_000_000),
    "Health Care": ((80.0, 450.0), 0.20, 0.06, 8_000_000),
    "Consumer Staples": ((50.0, 180.0), 0.16, 0.05, 9_000_000),
    "Energy": ((40.0, 120.0), 0.28, 0.04, 18_000_000),
}
_DEFAULT_PROFILE = ((20.0, 200.0), 0.30, 0.06, 5_000_000)


def _stream(seed: int, symbol: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(symbol.encode())])


@lru_cache(maxsize=4)
def _trading_days(start: date, until: date) -> tuple[tuple[date, ...], tuple[str, ...]]:
    """Shared by every symbol of a run, with each day's text: the calendar walk and the
    formatting of its days cost more than a symbol's draws."""
    days = tuple(trading_days(start, until))
    return days, tuple(day.isoformat() for day in days)


def _split_scales(symbol: str, days: tuple[date, ...]) -> np.ndarray:
    """`synthetic_actions.split_scale` for every day at once (split factors are whole numbers,
    so the float products are exact)."""
    ordinals = np.fromiter((day.toordinal() for day in days), dtype=np.int64, count=len(days))
    scales = np.ones(len(days))
    for split in synthetic_actions.SPLIT_SCHEDULE.get(symbol, ()):
        scales[ordinals < split.effective_date.toordinal()] *= float(split.split_factor)
    return scales


class PricePath(NamedTuple):
    """A symbol's bars from the path's start, oldest first, as floats: each is formatted to the
    vendor's four decimals once, when a reply is written."""

    days: tuple[date, ...]
    day_texts: tuple[str, ...]
    opens: list[float]
    highs: list[float]
    lows: list[float]
    closes: list[float]
    volumes: list[int]


@lru_cache(maxsize=16)
def _price_path(seed: int, stock: Stock, until: date, start: date = EPOCH) -> PricePath:
    """Every bar from `start` to `until`; draws are taken row by row, so a longer path keeps the
    prefix of a shorter one."""
    (low_start, high_start), volatility, drift, base_volume = _SECTOR_PROFILES.get(
        stock.sector, _DEFAULT_PROFILE
    )
    rng = _stream(seed, stock.symbol)
    start_price = rng.uniform(low_start, high_start)
    days, day_texts = _trading_days(start, until)
    # One row of draws per day: close-to-close shock, overnight gap, two wick sizes, volume noise.
    draws = rng.standard_normal((len(days), 5))
    dt = 1.0 / TRADING_DAYS_PER_YEAR
    daily_vol = volatility * np.sqrt(dt)
    log_returns = (drift - 0.5 * volatility**2) * dt + daily_vol * draws[:, 0]
    closes = start_price * np.exp(np.cumsum(log_returns))
    previous = np.concatenate(([start_price], closes[:-1]))
    opens = previous * np.exp(0.25 * daily_vol * draws[:, 1])
    upper_wick = np.abs(draws[:, 2]) * 0.4 * daily_vol
    lower_wick = np.abs(draws[:, 3]) * 0.4 * daily_vol
    highs = np.maximum(opens, closes) * (1.0 + upper_wick)
    lows = np.minimum(opens, closes) * (1.0 - lower_wick)
    volumes = np.maximum(1, (base_volume * np.exp(0.35 * draws[:, 4])).astype(np.int64))
    scales = _split_scales(stock.symbol, days)
    opens, highs, lows, closes = (prices * scales for prices in (opens, highs, lows, closes))
    volumes = np.maximum(1, volumes // scales.astype(np.int64))
    # Rounding is monotonic, so low <= open, close <= high survives the four decimals.
    return PricePath(
        days,
        day_texts,
        opens.tolist(),
        highs.tolist(),
        lows.tolist(),
        closes.tolist(),
        volumes.tolist(),
    )


_SERIES_PLACEHOLDER = '"Time Series (Daily)": {}'


def _reply_json(meta: dict[str, str], path: PricePath, first: int) -> str:
    """Alpha Vantage's body for the bars from index `first`, newest day first, byte for byte
    what `json.dumps(indent=4)` gives: written directly, since the indenting encoder runs in
    pure Python and is several times slower on a reply of years."""
    head = json.dumps({"Meta Data": meta, "Time Series (Daily)": {}}, indent=4)
    if first >= len(path.days):
        return head
    newest_first = slice(None, first - 1 if first else None, -1)
    series = ",\n".join(
        [
            f'        "{day}": {{\n'
            f'            "1. open": "{open_:.4f}",\n'
            f'            "2. high": "{high:.4f}",\n'
            f'            "3. low": "{low:.4f}",\n'
            f'            "4. close": "{close:.4f}",\n'
            f'            "5. volume": "{volume}"\n'
            "        }"
            for day, open_, high, low, close, volume in zip(
                path.day_texts[newest_first],
                path.opens[newest_first],
                path.highs[newest_first],
                path.lows[newest_first],
                path.closes[newest_first],
                path.volumes[newest_first],
                strict=True,
            )
        ]
    )
    return head.replace(_SERIES_PLACEHOLDER, f'"Time Series (Daily)": {{\n{series}\n    }}')


class SyntheticPriceSource:
    """Answers `fetch_daily` like the Alpha Vantage client, from a seeded model instead of HTTP."""

    name = "synthetic"
    has_daily_limit = False
    # Every reply holds the whole configured history (`history_days`), so no gap is ever left.
    full_refused = False

    def __init__(
        self,
        seed: int,
        history_days: int,
        as_of: date,
        stocks: tuple[Stock, ...] = (),
        *,
        start: date = EPOCH,
    ):
        self._seed = seed
        self._history_days = history_days
        self._as_of = as_of
        self._start = start
        self._stocks = {stock.symbol: stock for stock in stocks}
        self.notices: list[str] = []

    def _stock(self, symbol: str) -> Stock:
        return self._stocks.get(symbol) or Stock(symbol, symbol, "Unknown", "NYSE")

    def fetch_daily(self, symbol: str, outputsize: OutputSize | None = None) -> bytes:
        """The JSON body Alpha Vantage would send for `symbol`, newest day first.

        Every reply is `full` (the configured `history_days`), whatever `outputsize` asks: the
        synthetic source has no compact window and no reply cost, and a reply that always
        reaches back to the start fills any gap the rule of `auto` would ask `full` for.
        """
        first_day = self._as_of - timedelta(days=self._history_days - 1)
        path = self._path(symbol)
        first = bisect.bisect_left(path.days, first_day)
        meta = {
            "1. Information": "Daily Prices (open, high, low, close) and Volumes",
            "2. Symbol": symbol,
            "3. Last Refreshed": path.day_texts[-1]
            if first < len(path.days)
            else self._as_of.isoformat(),
            "4. Output Size": "Full size",
            "5. Time Zone": "US/Eastern",
        }
        return _reply_json(meta, path, first).encode()

    def _path(self, symbol: str) -> PricePath:
        return _price_path(self._seed, self._stock(symbol), self._as_of, self._start)

    def fetch_corporate_actions(self, symbol: str, function: str) -> bytes:
        """The SPLITS or DIVIDENDS body Alpha Vantage would send for `symbol` on the run date."""
        if function == "SPLITS":
            return synthetic_actions.splits_body(symbol, self._as_of)
        path = self._path(symbol)
        dividends = []
        for ex_date in synthetic_actions.ex_dividend_dates(symbol, path.days[0], self._as_of):
            before = bisect.bisect_left(path.days, ex_date)
            if before:
                close = Decimal(f"{path.closes[before - 1]:.4f}")
                dividends.append((ex_date, synthetic_actions.dividend_amount(symbol, close)))
        return synthetic_actions.dividends_body(symbol, dividends)
