"""An offline price source that answers in Alpha Vantage's TIME_SERIES_DAILY JSON shape.

Prices follow geometric Brownian motion from a fixed epoch, one random stream per (seed, symbol),
so the bar for a given day is the same whichever run date asks for it: a daily run never
"restates" history by accident, and back-fills agree with the original loads. Bars are as traded:
before each scheduled split prices are that many times higher and volumes that many times lower
(see `synthetic_actions`), and the same schedule answers SPLITS and DIVIDENDS.
"""

from __future__ import annotations

import json
import zlib
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

import numpy as np

from data_generator.reference.trading_calendar import trading_days
from data_generator.reference.universe import Stock
from data_generator.sources import synthetic_actions

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


@lru_cache(maxsize=16)
def _price_path(
    seed: int, stock: Stock, until: date
) -> tuple[tuple[date, str, str, str, str, int], ...]:
    """Every bar from EPOCH to `until`; draws are taken row by row, so a longer path keeps the
    prefix of a shorter one."""
    (low_start, high_start), volatility, drift, base_volume = _SECTOR_PROFILES.get(
        stock.sector, _DEFAULT_PROFILE
    )
    rng = _stream(seed, stock.symbol)
    start_price = rng.uniform(low_start, high_start)
    days = trading_days(EPOCH, until)
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
    scales = np.array([float(synthetic_actions.split_scale(stock.symbol, day)) for day in days])
    opens, highs, lows, closes = (prices * scales for prices in (opens, highs, lows, closes))
    volumes = np.maximum(1, volumes // scales.astype(np.int64))
    # Rounding is monotonic, so low <= open, close <= high survives it.
    return tuple(
        (day, f"{o:.4f}", f"{h:.4f}", f"{lo:.4f}", f"{c:.4f}", int(v))
        for day, o, h, lo, c, v in zip(days, opens, highs, lows, closes, volumes, strict=True)
    )


class SyntheticPriceSource:
    """Answers `fetch_daily` like the Alpha Vantage client, from a seeded model instead of HTTP."""

    name = "synthetic"

    def __init__(self, seed: int, history_days: int, as_of: date, stocks: tuple[Stock, ...] = ()):
        self._seed = seed
        self._history_days = history_days
        self._as_of = as_of
        self._stocks = {stock.symbol: stock for stock in stocks}
        self.notices: list[str] = []

    def _stock(self, symbol: str) -> Stock:
        return self._stocks.get(symbol) or Stock(symbol, symbol, "Unknown", "NYSE")

    def fetch_daily(self, symbol: str) -> bytes:
        """The JSON body Alpha Vantage would send for `symbol`, newest day first."""
        first_day = self._as_of - timedelta(days=self._history_days - 1)
        bars = [
            bar
            for bar in _price_path(self._seed, self._stock(symbol), self._as_of)
            if bar[0] >= first_day
        ]
        series = {
            day.isoformat(): {
                "1. open": open_,
                "2. high": high,
                "3. low": low,
                "4. close": close,
                "5. volume": str(volume),
            }
            for day, open_, high, low, close, volume in reversed(bars)
        }
        body = {
            "Meta Data": {
                "1. Information": "Daily Prices (open, high, low, close) and Volumes",
                "2. Symbol": symbol,
                "3. Last Refreshed": bars[-1][0].isoformat() if bars else self._as_of.isoformat(),
                "4. Output Size": "Full size",
                "5. Time Zone": "US/Eastern",
            },
            "Time Series (Daily)": series,
        }
        return json.dumps(body, indent=4).encode()

    def fetch_corporate_actions(self, symbol: str, function: str) -> bytes:
        """The SPLITS or DIVIDENDS body Alpha Vantage would send for `symbol` on the run date."""
        if function == "SPLITS":
            return synthetic_actions.splits_body(symbol, self._as_of)
        path = _price_path(self._seed, self._stock(symbol), self._as_of)
        closes = {bar[0]: Decimal(bar[4]) for bar in path}
        days = [bar[0] for bar in path]
        dividends = []
        for ex_date in synthetic_actions.ex_dividend_dates(symbol, days[0], self._as_of):
            earlier = [day for day in days if day < ex_date]
            if earlier:
                amount = synthetic_actions.dividend_amount(symbol, closes[earlier[-1]])
                dividends.append((ex_date, amount))
        return synthetic_actions.dividends_body(symbol, dividends)
