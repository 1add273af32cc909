"""Turn Alpha Vantage's SPLITS and DIVIDENDS replies into validated actions, and to and from Arrow.

As with prices, validation happens once, before the Parquet snapshot is written: the snapshot
holds only actions that meet the raw contract, and each bad entry is kept with its reason for
`raw.rejected_actions`. A reply lists a symbol's whole history, so one snapshot is the vendor's
complete word on that symbol for that day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum

import pyarrow as pa

from data_generator.sources.prices import ReplyFormatError, positive_decimal

FACTOR_QUANTUM = Decimal("0.000001")
MAX_FACTOR = Decimal("999999999999.999999")  # numeric(18, 6)
MISSING_DATE_TEXTS = frozenset({"", "none", "null"})


class ActionKind(Enum):
    """A corporate-action dataset: its Alpha Vantage function and its name in the lake and runs."""

    SPLITS = "splits"
    DIVIDENDS = "dividends"

    @property
    def function(self) -> str:
        return self.value.upper()

    @property
    def date_field(self) -> str:
        return "effective_date" if self is ActionKind.SPLITS else "ex_dividend_date"


@dataclass(frozen=True)
class Split:
    effective_date: date
    split_factor: Decimal


@dataclass(frozen=True)
class Dividend:
    ex_dividend_date: date
    amount: Decimal
    declaration_date: date | None
    record_date: date | None
    payment_date: date | None


@dataclass(frozen=True)
class RejectedAction:
    kind: ActionKind
    symbol: str
    action_date: str | None
    reason: str
    payload: object


@dataclass
class ParsedActions:
    """One reply's valid actions (Split or Dividend, by `kind`) and its rejects."""

    kind: ActionKind
    symbol: str
    source: str
    snapshot_date: date
    actions: list = field(default_factory=list)
    rejects: list[RejectedAction] = field(default_factory=list)


def _required_date(raw: object, name: str) -> date:
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ValueError(f"unparseable {name}: {str(raw)[:40]!r}") from None


def _optional_date(raw: object, name: str) -> date | None:
    if raw is None or str(raw).strip().lower() in MISSING_DATE_TEXTS:
        return None
    return _required_date(raw, name)


def _positive_decimal(raw: object, name: str) -> Decimal:
    return positive_decimal(raw, name, MAX_FACTOR, FACTOR_QUANTUM)


def _split(entry: dict) -> Split:
    return Split(
        _required_date(entry.get("effective_date"), "effective_date"),
        _positive_decimal(entry.get("split_factor"), "split_factor"),
    )


def _dividend(entry: dict) -> Dividend:
    return Dividend(
        ex_dividend_date=_required_date(entry.get("ex_dividend_date"), "ex_dividend_date"),
        amount=_positive_decimal(entry.get("amount"), "amount"),
        declaration_date=_optional_date(entry.get("declaration_date"), "declaration_date"),
        record_date=_optional_date(entry.get("record_date"), "record_date"),
        payment_date=_optional_date(entry.get("payment_date"), "payment_date"),
    )


def parse_actions_reply(
    kind: ActionKind, symbol: str, body: bytes, source: str, snapshot_date: date
) -> ParsedActions:
    """Split a SPLITS or DIVIDENDS reply into valid actions and rejects with their reasons.

    Two entries for the same date cannot both be right: the first is kept, the next rejected.
    """
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReplyFormatError(f"{symbol}: {kind.function} reply is not valid JSON") from exc
    entries = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(entries, list):
        raise ReplyFormatError(f"{symbol}: {kind.function} reply has no 'data' list")
    parsed = ParsedActions(kind, symbol, source, snapshot_date)
    seen: set[date] = set()
    make = _split if kind is ActionKind.SPLITS else _dividend
    for entry in entries:
        raw_date = entry.get(kind.date_field) if isinstance(entry, dict) else None
        label = None if raw_date is None else str(raw_date)[:40]
        try:
            if not isinstance(entry, dict):
                raise ValueError("entry is not an object")
            action = make(entry)
            action_date = getattr(action, kind.date_field)
            if action_date in seen:
                raise ValueError(f"duplicate {kind.date_field}: {action_date}")
        except ValueError as exc:
            parsed.rejects.append(RejectedAction(kind, symbol, label, str(exc), entry))
            continue
        seen.add(action_date)
        parsed.actions.append(action)
    parsed.actions.sort(key=lambda action: getattr(action, kind.date_field))
    return parsed


FACTOR_TYPE = pa.decimal128(18, 6)
SPLITS_SCHEMA = pa.schema(
    [
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("effective_date", pa.date32(), nullable=False),
        pa.field("split_factor", FACTOR_TYPE, nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("snapshot_date", pa.date32(), nullable=False),
    ]
)
DIVIDENDS_SCHEMA = pa.schema(
    [
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("ex_dividend_date", pa.date32(), nullable=False),
        pa.field("amount", FACTOR_TYPE, nullable=False),
        pa.field("declaration_date", pa.date32()),
        pa.field("record_date", pa.date32()),
        pa.field("payment_date", pa.date32()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("snapshot_date", pa.date32(), nullable=False),
    ]
)


def schema_for(kind: ActionKind) -> pa.Schema:
    return SPLITS_SCHEMA if kind is ActionKind.SPLITS else DIVIDENDS_SCHEMA


def actions_to_table(parsed: ParsedActions) -> pa.Table:
    count = len(parsed.actions)
    columns: dict[str, list] = {"symbol": [parsed.symbol] * count}
    for name in schema_for(parsed.kind).names:
        if name in ("symbol", "source", "snapshot_date"):
            continue
        columns[name] = [getattr(action, name) for action in parsed.actions]
    columns["source"] = [parsed.source] * count
    columns["snapshot_date"] = [parsed.snapshot_date] * count
    return pa.table(columns, schema=schema_for(parsed.kind))


def table_to_actions(
    kind: ActionKind, table: pa.Table, symbol: str, snapshot_date: date
) -> ParsedActions:
    """Read a Parquet snapshot back into a ParsedActions with no rejects."""
    columns = table.cast(schema_for(kind)).to_pydict()
    source = columns["source"][0] if columns["source"] else "unknown"
    fields = [name for name in schema_for(kind).names if name not in ("symbol", "source")]
    fields.remove("snapshot_date")
    make = Split if kind is ActionKind.SPLITS else Dividend
    actions = [make(*values) for values in zip(*(columns[name] for name in fields), strict=True)]
    return ParsedActions(kind, symbol, source, snapshot_date, actions)
