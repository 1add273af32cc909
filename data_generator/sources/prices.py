"""Turn an Alpha Vantage daily reply into validated bars, and bars to and from Arrow.

Validation happens here, once, before anything is stored as Parquet: the Parquet snapshot holds
only bars that meet the raw contract, so replaying the lake gives exactly what the loads gave,
and each bad row is kept with its reason for `raw.rejected_prices`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

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
    """A JSON object whose keys are unique: `json` would keep the last of two equal dates.
    Called once per bar, so the common case is one C-level `dict()`."""
    unique = dict(pairs)
    if len(unique) == len(pairs):
        return unique
    seen: set[str] = set()
    for key, _value in pairs:
        if key in seen:
            raise _DuplicateKeyError(key)
        seen.add(key)
    raise AssertionError("unreachable: a shorter dict has a repeated key")


def _no_constants(name: str) -> object:
    """NaN and Infinity are not JSON; Python's parser would accept them as floats."""
    raise ValueError(f"non-JSON constant {name}")


def _colons_kept(payload: object) -> int:
    """The colons the text of `payload` holds: one per key, plus those inside its strings."""
    count = 0
    nodes = [payload]
    while nodes:
        node = nodes.pop()
        if isinstance(node, dict):
            count += len(node)
            for key in node:
                if ":" in key:
                    count += key.count(":")
            values: Iterable[object] = node.values()
        elif isinstance(node, list):
            values = node
        else:
            continue
        for value in values:
            if type(value) is str:
                if ":" in value:
                    count += value.count(":")
            elif isinstance(value, dict | list):
                nodes.append(value)
    return count


def _load_json(body: bytes) -> object:
    """`json.loads` refusing repeated keys and NaN, at C speed for the usual reply.

    The duplicate check by hook calls Python once per bar; instead, parse plainly and count
    colons: each one in the text separates a key from its value or sits inside a string, so a
    repeated key, whose pair the parse drops, leaves the text with more colons than what was
    kept holds. Escaped text (`\\u...` can spell a colon) or any mismatch or error goes through
    the strict parse, which names the repeated key or the error.
    """
    if b"\\u" not in body:
        try:
            payload = json.loads(body, parse_constant=_no_constants)
        except ValueError:
            pass
        else:
            if body.count(b":") == _colons_kept(payload):
                return payload
    return json.loads(body, object_pairs_hook=_unique_keys, parse_constant=_no_constants)


def check_reply(symbol: str, body: bytes) -> dict[str, object]:
    """The series of a reply that is strictly a daily reply for `symbol`, else ReplyFormatError.

    Checked before the reply is written to the write-once lake, so a hostile or broken body (not
    JSON, NaN, a date given twice, another symbol's data) never becomes the record of the day.
    """
    try:
        payload = _load_json(body)
    except _DuplicateKeyError as exc:
        raise ReplyFormatError(f"{symbol}: reply repeats the key {str(exc)[:40]!r}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise ReplyFormatError(f"{symbol}: reply is not valid JSON ({reason})") from None
    except ValueError as exc:
        raise ReplyFormatError(f"{symbol}: reply is not valid JSON ({exc})") from None
    if not isinstance(payload, dict) or not isinstance(payload.get(SERIES_KEY), dict):
        raise ReplyFormatError(f"{symbol}: reply has no '{SERIES_KEY}' object")
    series: dict[str, object] = payload[SERIES_KEY]
    meta = payload.get("Meta Data")
    answered = meta.get("2. Symbol") if isinstance(meta, dict) else None
    if answered is not None and str(answered).strip().upper() != symbol.upper():
        raise ReplyFormatError(f"{symbol}: reply is for another symbol ({str(answered)[:40]!r})")
    return series


def parse_daily_reply(symbol: str, body: bytes, source: str, snapshot_date: date) -> ParsedReply:
    """Split a reply into bars that meet the raw contract and rejects with their reasons."""
    return parse_series(symbol, check_reply(symbol, body), source, snapshot_date)


def parse_series(
    symbol: str, series: dict[str, object], source: str, snapshot_date: date
) -> ParsedReply:
    """`parse_daily_reply` for a series `check_reply` already returned: bar by bar, exact."""
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


def _typed_column(values: Sequence[object], arrow_type: pa.DataType) -> pa.Array:
    """Vendor strings cast by Arrow: strict (no whitespace, no rounding), else ArrowException."""
    return pa.array(values, pa.string()).cast(arrow_type)


def _bulk_table(
    symbol: str, series: dict[str, object], source: str, snapshot_date: date
) -> pa.Table | None:
    """Every bar of the series as a snapshot table when each meets the raw contract as it
    stands, decided column by column in Arrow; None when any does not (or Arrow cannot tell)."""
    days = sorted(series)
    bars = [bar for bar in (series[day] for day in days) if isinstance(bar, dict)]
    if len(bars) != len(days):
        return None  # a bar that is not an object: the exact parse names it
    try:
        columns = [[bar[name] for bar in bars] for name in FIELDS]
        price_date = _typed_column(days, pa.date32())
        open_, high, low, close = (_typed_column(column, PRICE_TYPE) for column in columns[:4])
        volume = _typed_column(columns[4], pa.int64())
    except (KeyError, TypeError, pa.ArrowException):
        return None
    checks = (
        pc.greater(low, 0),  # the smallest of the four prices
        pc.greater_equal(volume, 0),
        pc.less_equal(low, open_),
        pc.less_equal(open_, high),
        pc.less_equal(low, close),
        pc.less_equal(close, high),
    )
    if not all(pc.all(check).as_py() for check in checks):
        return None
    count = len(days)
    return pa.table(
        [
            pa.array([symbol] * count, pa.string()),
            price_date,
            open_,
            high,
            low,
            close,
            volume,
            pa.array([source] * count, pa.string()),
            pa.array([snapshot_date] * count, pa.date32()),
        ],
        schema=ARROW_SCHEMA,
    )


def series_table(
    symbol: str, series: dict[str, object], source: str, snapshot_date: date
) -> tuple[pa.Table, list[RejectedBar]]:
    """The snapshot table and rejects of a checked series, as `parse_series` gives them.

    A clean reply (the usual one) is validated in bulk, which is what keeps a load of years of
    history near COPY speed; a reply with any bad bar goes bar by bar for its exact reasons.
    """
    table = _bulk_table(symbol, series, source, snapshot_date)
    if table is not None:
        return table, []
    parsed = parse_series(symbol, series, source, snapshot_date)
    return bars_to_table(parsed.bars), parsed.rejects
