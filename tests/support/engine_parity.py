"""How the parity test compares one relation built on two engines: every column, row by row,
numbers to the scale their contract declares.

Both sides arrive as plain rows with their column names and each column's declared scale (from
PostgreSQL's catalog, which holds the contracts' types); the rows are put in one order by every
column, so neither engine's physical order matters. A decimal column is equal when both values
round to the same number at its declared scale; a double precision column (a ratio or a
logarithm, computed in floating point on both engines) when it agrees to 1e-9 relative.

Two kinds of column are named by the test rather than found in the catalog: a decimal that one
engine derives through floating point (DuckDB's `ln` and `exp` are double; PostgreSQL's are
exact), which may differ by a few units of its last place (`tolerance_units`), and a
fingerprint (an md5 of such a decimal), which is equal when it groups the same rows: two rows
share a fingerprint on one engine exactly when they share one on the other.
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
    tolerance_units: int = 0
    is_fingerprint: bool = False


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


def _sort_key(columns: Sequence[Column]) -> Any:
    # None sorts first; floats are rounded so two nearly equal values keep their place, and a
    # fingerprint, which differs between engines by design, does not order the rows at all.
    def key(row: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            (value is not None, round(value, 6) if isinstance(value, float) else value)
            for value, column in zip(row, columns, strict=True)
            if not column.is_fingerprint
        )

    return key


def _equal(left: Any, right: Any, column: Column) -> bool:
    if left is None or right is None:
        return left is right
    if column.is_float:
        return math.isclose(left, right, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)
    if column.tolerance_units and column.scale is not None:
        return abs(left - right) <= Decimal(column.tolerance_units).scaleb(-column.scale)
    return bool(left == right)


def _same_grouping(left: Sequence[Any], right: Sequence[Any]) -> bool:
    """True when equal values on one side sit on exactly the rows of equal values on the other."""
    pairs = set(zip(left, right, strict=True))
    return len(pairs) == len(set(left)) == len(set(right))


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
        key=_sort_key(columns),
    )
    right = sorted(
        ([normalise(v, c) for v, c in zip(row, columns, strict=True)] for row in actual),
        key=_sort_key(columns),
    )
    found: list[str] = []
    for index, column in enumerate(columns):
        if column.is_fingerprint:
            if not _same_grouping([r[index] for r in left], [r[index] for r in right]):
                found.append(f"{relation}.{column.name}: groups other rows than on PostgreSQL")
            continue
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
