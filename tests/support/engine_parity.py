"""How the parity test compares one relation built on two engines: every column, row by row,
numbers to the scale their contract declares.

Both sides arrive as plain rows with their column names and each column's declared scale (from
PostgreSQL's catalog, which holds the contracts' types); the rows are put in one order by every
column, so neither engine's physical order matters. A decimal column is equal when both values
round to the same number at its declared scale; a double precision column (a ratio or a
logarithm, computed in floating point on both engines) when it agrees to 1e-9 relative.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FLOAT_TOLERANCE = 1e-9
MAX_REPORTED = 5


@dataclass(frozen=True)
class Column:
    """A column as its contract declares it: `scale` for a decimal, None for anything else."""

    name: str
    scale: int | None = None
    is_float: bool = False


def normalise(value: Any, column: Column) -> Any:
    """The value as both engines must agree on it."""
    if value is None:
        return None
    if column.scale is not None:
        quantum = Decimal(1).scaleb(-column.scale)
        return Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    if column.is_float:
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _sort_key(row: Sequence[Any]) -> tuple[Any, ...]:
    # None sorts first, and floats are rounded so two nearly equal values keep their place.
    return tuple(
        (value is not None, round(value, 6) if isinstance(value, float) else value) for value in row
    )


def _equal(left: Any, right: Any, column: Column) -> bool:
    if column.is_float and left is not None and right is not None:
        return math.isclose(left, right, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)
    return bool(left == right)


def differences(
    relation: str,
    columns: Sequence[Column],
    expected: Sequence[Sequence[Any]],
    actual: Sequence[Sequence[Any]],
) -> list[str]:
    """What differs between the two engines' rows of `relation`, one line per finding (at most
    a few per column), empty when every column of every row agrees."""
    if len(expected) != len(actual):
        return [f"{relation}: {len(expected)} rows on PostgreSQL, {len(actual)} on DuckDB"]
    left = sorted(
        ([normalise(v, c) for v, c in zip(row, columns, strict=True)] for row in expected),
        key=_sort_key,
    )
    right = sorted(
        ([normalise(v, c) for v, c in zip(row, columns, strict=True)] for row in actual),
        key=_sort_key,
    )
    found: list[str] = []
    for index, column in enumerate(columns):
        mismatched = [
            (a[index], b[index])
            for a, b in zip(left, right, strict=True)
            if not _equal(a[index], b[index], column)
        ]
        for pg_value, duck_value in mismatched[:MAX_REPORTED]:
            found.append(
                f"{relation}.{column.name}: PostgreSQL {pg_value!r}, DuckDB {duck_value!r}"
                f" ({len(mismatched)} rows differ)"
            )
    return found
