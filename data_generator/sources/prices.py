"""Turn an Alpha Vantage daily reply into validated bars, and bars to and from Arrow.

Validation happens here, once, before anything is stored as Parquet: the Parquet snapshot holds
only bars that meet the raw contract, so replaying the lake gives exactly what the loads gave,
and each bad row is kept with its reason for `raw.rejected_prices`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

import pyarrow as pa

from data_generator.errors import FintradeError

SERIES_KEY = "Time Series (Daily)"
FIELDS = ("1. open", "2. high", "3. low", "4. close", "5. volume")
PRICE_QUANTUM = Decimal("0.0001")
MAX_PRICE = Decimal("99999999999999.9999")  # numeric(18, 4)

PRICE_TYPE = pa.decimal128(18, 4)
ARROW_SCHEMA = pa.schema(
    [
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("price_date", pa.date32(), nullable=False),
        pa.field("open_price", PRICE_TYPE, nullable=False),
        pa.field("high_price", PRICE_TYPE, nullable=False),
        pa.field("low_price", PRICE_TYPE, nullable=False),
        pa.field("close_price", PRICE_TYPE, nullable=False),
        pa.field("volume", pa.int64(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("snapshot_date", pa.date32(), nullable=False),
    ]
)


class ReplyFormatError(FintradeError, ValueError):
    """The body is not a daily-series reply at all (no rows can be salvaged from it)."""


class PriceRow(NamedTuple):
    """One row of `raw.daily_prices`, in its column order."""

    symbol: str
    price_date: date
    open_price: Decimal
    high_price: Decimal
    low_price: Decimal
    close_price: Decimal
    volume: int
    source: str
    lake_key: str

    def values(self) -> tuple[Decimal, Decimal, Decimal, Decimal, int, str]:
        """What a later snapshot may change about the bar (not where it came from)."""
        return (
            self.open_price,
            self.high_price,
            self.low_price,
            self.close_price,
            self.volume,
            self.source,
        )


@dataclass
class PriceBars:
    """One symbol's bars, column by column (the shape COPY and Arrow both want)."""

    symbol: str
    source: str
    snapshot_date: date
    price_dates: list[date] = field(default_factory=list)
    opens: list[Decimal] = field(default_factory=list)
    highs: list[Decimal] = field(default_factory=list)
    lows: list[Decimal] = field(default_factory=list)
    closes: list[Decimal] = field(default_factory=list)
    volumes: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.price_dates)

    def append(self, day: date, o: Decimal, h: Decimal, lo: Decimal, c: Decimal, v: int) -> None:
        self.price_dates.append(day)
        self.opens.append(o)
        self.highs.append(h)
        self.lows.append(lo)
        self.closes.append(c)
        self.volumes.append(v)

    def to_rows(self, lake_key: str) -> list[PriceRow]:
        """The bars as `raw.daily_prices` rows, each naming the lake object it was read from."""
        return [
            PriceRow(self.symbol, day, o, h, lo, c, v, self.source, lake_key)
            for day, o, h, lo, c, v in zip(
                self.price_dates,
                self.opens,
                self.highs,
                self.lows,
                self.closes,
                self.volumes,
                strict=True,
            )
        ]


@dataclass(frozen=True)
class RejectedBar:
    symbol: str
    price_date: str | None
    reason: str
    payload: object


@dataclass
class ParsedReply:
    bars: PriceBars
    rejects: list[RejectedBar]


def positive_decimal(raw: object, name: str, maximum: Decimal, quantum: Decimal) -> Decimal:
    """A vendor's number text as a positive decimal fitting its column, or ValueError naming
    `name`: the one rule for prices and corporate actions alike."""
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError(f"unparseable {name}: {str(raw)[:40]!r}") from None
    if not value.is_finite():
        raise ValueError(f"unparseable {name}: {str(raw)[:40]!r}")
    if value <= 0:
        raise ValueError(f"non-positive {name}: {value}")
    if value > maximum:
        raise ValueError(f"{name} out of range: {value}")
    return value.quantize(quantum)


def _price(raw: object, name: str) -> Decimal:
    return positive_decimal(raw, name, MAX_PRICE, PRICE_QUANTUM)


def _volume(raw: object) -> int:
    text = str(raw).strip()
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"unparseable volume: {text[:40]!r}") from None
    if value < 0:
        raise ValueError(f"negative volume: {value}")
    return value


def _validate_bar(
    day_text: str, values: object
) -> tuple[date, Decimal, Decimal, Decimal, Decimal, int]:
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise ValueError(f"unparseable date: {day_text[:40]!r}") from None
    if not isinstance(values, dict):
        raise ValueError("bar is not an object")
    missing = [name for name in FIELDS if values.get(name) in (None, "")]
    if missing:
        raise ValueError(f"missing field: {', '.join(missing)}")
    open_ = _price(values["1. open"], "open")
    high = _price(values["2. high"], "high")
    low = _price(values["3. low"], "low")
    close = _price(values["4. close"], "close")
    volume = _volume(values["5. volume"])
    if high < low:
        raise ValueError(f"high {high} below low {low}")
    if not low <= open_ <= high:
        raise ValueError(f"open {open_} outside [low {low}, high {high}]")
    if not low <= close <= high:
        raise ValueError(f"close {close} outside [low {low}, high {high}]")
    return day, open_, high, low, close, volume


class _DuplicateKeyError(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose keys are unique: `json` would keep the last of two equal dates."""
    seen: dict[str, object] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKeyError(key)
        seen[key] = value
    return seen


def _no_constants(name: str) -> object:
    """NaN and Infinity are not JSON; Python's parser would accept them as floats."""
    raise ValueError(f"non-JSON constant {name}")


def check_reply(symbol: str, body: bytes) -> dict[str, object]:
    """The series of a reply that is strictly a daily reply for `symbol`, else ReplyFormatError.

    Checked before the reply is written to the write-once lake, so a hostile or broken body (not
    JSON, NaN, a date given twice, another symbol's data) never becomes the record of the day.
    """
    try:
        payload = json.loads(body, object_pairs_hook=_unique_keys, parse_constant=_no_constants)
    except _DuplicateKeyError as exc:
        raise ReplyFormatError(f"{symbol}: reply repeats the key {str(exc)[:40]!r}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise ReplyFormatError(f"{symbol}: reply is not valid JSON ({reason})") from None
    except ValueError as exc:
        raise ReplyFormatError(f"{symbol}: reply is not valid JSON ({exc})") from None
    series = payload.get(SERIES_KEY) if isinstance(payload, dict) else None
    if not isinstance(series, dict):
        raise ReplyFormatError(f"{symbol}: reply has no '{SERIES_KEY}' object")
    meta = payload.get("Meta Data")
    answered = meta.get("2. Symbol") if isinstance(meta, dict) else None
    if answered is not None and str(answered).strip().upper() != symbol.upper():
        raise ReplyFormatError(f"{symbol}: reply is for another symbol ({str(answered)[:40]!r})")
    return series


def parse_daily_reply(symbol: str, body: bytes, source: str, snapshot_date: date) -> ParsedReply:
    """Split a reply into bars that meet the raw contract and rejects with their reasons."""
    series = check_reply(symbol, body)
    bars = PriceBars(symbol=symbol, source=source, snapshot_date=snapshot_date)
    rejects: list[RejectedBar] = []
    for day_text, values in sorted(series.items()):
        try:
            bars.append(*_validate_bar(day_text, values))
        except ValueError as exc:
            day = day_text if len(day_text) <= 40 else day_text[:40]
            rejects.append(RejectedBar(symbol, day, str(exc), values))
    return ParsedReply(bars=bars, rejects=rejects)


def bars_to_table(bars: PriceBars) -> pa.Table:
    count = len(bars)
    return pa.table(
        {
            "symbol": pa.array([bars.symbol] * count, pa.string()),
            "price_date": pa.array(bars.price_dates, pa.date32()),
            "open_price": pa.array(bars.opens, PRICE_TYPE),
            "high_price": pa.array(bars.highs, PRICE_TYPE),
            "low_price": pa.array(bars.lows, PRICE_TYPE),
            "close_price": pa.array(bars.closes, PRICE_TYPE),
            "volume": pa.array(bars.volumes, pa.int64()),
            "source": pa.array([bars.source] * count, pa.string()),
            "snapshot_date": pa.array([bars.snapshot_date] * count, pa.date32()),
        },
        schema=ARROW_SCHEMA,
    )


def table_to_bars(table: pa.Table, symbol: str, snapshot_date: date) -> PriceBars:
    """Read a Parquet snapshot back; an empty table gives empty bars for that symbol."""
    columns = table.cast(ARROW_SCHEMA).to_pydict()
    source = columns["source"][0] if columns["source"] else "unknown"
    return PriceBars(
        symbol=symbol,
        source=source,
        snapshot_date=snapshot_date,
        price_dates=columns["price_date"],
        opens=columns["open_price"],
        highs=columns["high_price"],
        lows=columns["low_price"],
        closes=columns["close_price"],
        volumes=columns["volume"],
    )
