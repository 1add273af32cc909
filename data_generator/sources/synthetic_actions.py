"""The synthetic source's corporate actions: a fixed split schedule and quarterly dividends.

The schedule is fixed (not drawn from the run date) so the as-traded price of a given day is the
same whichever run asks for it. The past splits mirror the real ones of the default universe; two
more (NVDA 10:1, WMT 3:1) fall inside the default year of history so a fresh demo or test run
always crosses a 10:1 and a 3:1 split. Replies use Alpha Vantage's SPLITS and DIVIDENDS shapes.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from data_generator.reference.trading_calendar import is_trading_day


@dataclass(frozen=True)
class ScheduledSplit:
    effective_date: date
    split_factor: Decimal


SPLIT_SCHEDULE: dict[str, tuple[ScheduledSplit, ...]] = {
    "AAPL": (ScheduledSplit(date(2020, 8, 31), Decimal(4)),),
    "TSLA": (
        ScheduledSplit(date(2020, 8, 31), Decimal(5)),
        ScheduledSplit(date(2022, 8, 25), Decimal(3)),
    ),
    "AMZN": (ScheduledSplit(date(2022, 6, 6), Decimal(20)),),
    "GOOGL": (ScheduledSplit(date(2022, 7, 18), Decimal(20)),),
    "NVDA": (
        ScheduledSplit(date(2021, 7, 20), Decimal(4)),
        ScheduledSplit(date(2024, 6, 10), Decimal(10)),
        ScheduledSplit(date(2026, 6, 10), Decimal(10)),
    ),
    "WMT": (
        ScheduledSplit(date(2024, 2, 26), Decimal(3)),
        ScheduledSplit(date(2026, 2, 26), Decimal(3)),
    ),
}

# Annual dividend yield of the payers; a symbol not listed pays none (AMZN, TSLA, made-up ones).
DIVIDEND_YIELDS: dict[str, float] = {
    "AAPL": 0.005,
    "MSFT": 0.008,
    "GOOGL": 0.004,
    "META": 0.004,
    "NVDA": 0.0003,
    "JPM": 0.022,
    "BAC": 0.024,
    "JNJ": 0.030,
    "PFE": 0.065,
    "WMT": 0.013,
    "KO": 0.029,
    "XOM": 0.034,
    "CVX": 0.042,
}
EX_DIVIDEND_DAY_OF_MONTH = 10
DECLARATION_LEAD = timedelta(days=14)
PAYMENT_LAG = timedelta(days=21)


def split_scale(symbol: str, day: date) -> Decimal:
    """How many of today's shares one share on `day` became: the product of later splits.

    The synthetic model draws one economic price path; as traded, a day before a split shows that
    price times every split still to come, so the series drops at each split like a real one.
    """
    scale = Decimal(1)
    for split in SPLIT_SCHEDULE.get(symbol, ()):
        if split.effective_date > day:
            scale *= split.split_factor
    return scale


def splits_until(symbol: str, as_of: date) -> list[ScheduledSplit]:
    return [s for s in SPLIT_SCHEDULE.get(symbol, ()) if s.effective_date <= as_of]


def _next_trading_day(day: date) -> date:
    while not is_trading_day(day):
        day += timedelta(days=1)
    return day


def ex_dividend_dates(symbol: str, first: date, last: date) -> list[date]:
    """Quarterly ex-dates between `first` and `last`, in a quarter cycle fixed per symbol."""
    if symbol not in DIVIDEND_YIELDS:
        return []
    first_month = 1 + zlib.crc32(symbol.encode()) % 3
    dates = []
    for year in range(first.year, last.year + 1):
        for month in range(first_month, 13, 3):
            day = _next_trading_day(date(year, month, EX_DIVIDEND_DAY_OF_MONTH))
            if first <= day <= last:
                dates.append(day)
    return dates


def dividend_amount(symbol: str, previous_close: Decimal) -> Decimal:
    """A quarter of the annual yield on the last close before the ex-date, in cents."""
    amount = previous_close * Decimal(str(DIVIDEND_YIELDS[symbol])) / 4
    return max(amount.quantize(Decimal("0.01")), Decimal("0.01"))


def splits_body(symbol: str, as_of: date) -> bytes:
    """The SPLITS reply Alpha Vantage would send on `as_of`, newest first."""
    data = [
        {"effective_date": s.effective_date.isoformat(), "split_factor": f"{s.split_factor:.4f}"}
        for s in reversed(splits_until(symbol, as_of))
    ]
    return json.dumps({"symbol": symbol, "data": data}, indent=4).encode()


def dividends_body(symbol: str, dividends: list[tuple[date, Decimal]]) -> bytes:
    """The DIVIDENDS reply for (ex-date, amount) pairs, newest first."""
    data = [
        {
            "ex_dividend_date": ex_date.isoformat(),
            "declaration_date": (ex_date - DECLARATION_LEAD).isoformat(),
            "record_date": ex_date.isoformat(),
            "payment_date": (ex_date + PAYMENT_LAG).isoformat(),
            "amount": f"{amount:.2f}",
        }
        for ex_date, amount in sorted(dividends, reverse=True)
    ]
    return json.dumps({"symbol": symbol, "data": data}, indent=4).encode()
