"""The parity test's yardstick: it must see a difference at a column's declared scale, and only
there, or the DuckDB build could drift unnoticed (tests/support/engine_parity.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from tests.support.engine_parity import Column, differences

COLUMNS = [
    Column("symbol"),
    Column("price_date"),
    Column("close_price", scale=4),
    Column("log_return", is_float=True),
]


def test_same_rows_in_another_order_agree() -> None:
    pg = [
        ("AAPL", date(2026, 11, 24), Decimal("230.1200"), 0.01),
        ("KO", date(2026, 11, 24), None, None),
    ]
    duck = [("KO", date(2026, 11, 24), None, None), ("AAPL", date(2026, 11, 24), 230.12, 0.01)]
    assert differences("mart.x", COLUMNS, pg, duck) == []


def test_a_value_off_at_the_declared_scale_is_named() -> None:
    pg = [("AAPL", date(2026, 11, 24), Decimal("230.1200"), 0.01)]
    duck = [("AAPL", date(2026, 11, 24), Decimal("230.1201"), 0.01)]
    assert differences("mart.x", COLUMNS, pg, duck) == [
        "mart.x.close_price: PostgreSQL Decimal('230.1200'), DuckDB Decimal('230.1201')"
        " (1 rows differ)"
    ]


def test_digits_beyond_the_declared_scale_do_not_count() -> None:
    pg = [("AAPL", date(2026, 11, 24), Decimal("230.12004"), 0.01)]
    duck = [("AAPL", date(2026, 11, 24), Decimal("230.12000"), 0.01 + 1e-13)]
    assert differences("mart.x", COLUMNS, pg, duck) == []


def test_a_float_differing_beyond_the_tolerance_is_named() -> None:
    pg = [("AAPL", date(2026, 11, 24), None, 0.0123)]
    duck = [("AAPL", date(2026, 11, 24), None, 0.0124)]
    assert [line.split(":")[0] for line in differences("mart.x", COLUMNS, pg, duck)] == [
        "mart.x.log_return"
    ]


def test_a_null_on_one_side_only_is_named() -> None:
    pg = [("AAPL", date(2026, 11, 24), Decimal("1.0000"), None)]
    duck = [("AAPL", date(2026, 11, 24), None, None)]
    assert differences("mart.x", COLUMNS, pg, duck)


def test_row_counts_differing_are_named() -> None:
    at = datetime(2026, 11, 24, tzinfo=UTC)
    columns = [Column("loaded_at")]
    assert differences("raw.x", columns, [(at,), (at,)], [(at,)]) == [
        "raw.x: 2 rows on PostgreSQL, 1 on DuckDB"
    ]


def test_a_decimal_derived_in_floating_point_may_differ_by_its_tolerance_only() -> None:
    columns = [Column("symbol"), Column("factor", scale=12, tolerance_units=1)]
    pg = [("WMT", Decimal("1.200842948531"))]
    assert differences("core.x", columns, pg, [("WMT", Decimal("1.200842948530"))]) == []
    assert differences("core.x", columns, pg, [("WMT", Decimal("1.200842948529"))])


def test_a_fingerprint_must_group_the_same_rows() -> None:
    columns = [Column("symbol"), Column("version", is_fingerprint=True)]
    pg = [("KO", "a1"), ("PFE", "a1"), ("WMT", "b2")]
    assert differences("core.x", columns, pg, [("KO", "x"), ("PFE", "x"), ("WMT", "y")]) == []
    assert differences("core.x", columns, pg, [("KO", "x"), ("PFE", "y"), ("WMT", "y")]) == [
        "core.x.version: groups other rows than on PostgreSQL"
    ]
