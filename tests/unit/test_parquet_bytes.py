"""Reading a lake snapshot from bytes: every damaged object is a one-line DamagedParquet, never a
crash; a whole one is read back exactly, in the schema asked for."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_generator.sources.prices import ARROW_SCHEMA
from data_generator.storage.parquet_bytes import DamagedParquet, frame_damage, read_parquet

DAYS = [date(2026, 6, 1) + timedelta(days=n) for n in range(60)]


def snapshot_table() -> pa.Table:
    closes = [Decimal(100 + n) + Decimal("0.2500") for n in range(len(DAYS))]
    return pa.table(
        {
            "symbol": ["NVDA"] * len(DAYS),
            "price_date": DAYS,
            "open_price": closes,
            "high_price": [close + 1 for close in closes],
            "low_price": [close - 1 for close in closes],
            "close_price": closes,
            "volume": [1_000_000 + n for n in range(len(DAYS))],
            "source": ["synthetic"] * len(DAYS),
            "snapshot_date": [DAYS[-1]] * len(DAYS),
        },
        schema=ARROW_SCHEMA,
    )


def parquet_bytes(table: pa.Table) -> bytes:
    """The bytes `Lake.put_table_once` stores for `table`."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


GOOD = parquet_bytes(snapshot_table())
FOOTER_START = len(GOOD) - 8 - int.from_bytes(GOOD[-8:-4], "little")


def test_a_whole_snapshot_reads_back_as_written():
    assert frame_damage(GOOD) is None
    table = read_parquet(GOOD, ARROW_SCHEMA)
    assert table.equals(snapshot_table())
    assert table.schema == ARROW_SCHEMA


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "the object is empty (0 bytes)"),
        (b"PAR1", "4 bytes, shorter than a Parquet file's 12-byte frame"),
        (b'{"not": "parquet"}', "no PAR1 magic at the start (not a Parquet file)"),
        (GOOD[: len(GOOD) // 2], f"no PAR1 magic at the end of its {len(GOOD) // 2} bytes"),
        (b"PAR1" + (10_000).to_bytes(4, "little") + b"PAR1", "footer length 10000 does not fit"),
        (b"PAR1" + bytes(4) + b"PAR1", "footer length 0 does not fit in its 12 bytes"),
    ],
)
def test_a_broken_frame_is_named_before_any_reader_sees_it(body, reason):
    damage = frame_damage(body)
    assert damage is not None and damage.startswith(reason)
    with pytest.raises(DamagedParquet) as raised:
        read_parquet(body, ARROW_SCHEMA)
    assert str(raised.value) == damage


def test_a_snapshot_cut_at_any_offset_is_damaged_by_its_frame():
    """Every prefix: the cut loses the closing magic, so the reader is never reached."""
    for cut in range(len(GOOD)):
        assert frame_damage(GOOD[:cut]) is not None, cut
        with pytest.raises(DamagedParquet):
            read_parquet(GOOD[:cut], ARROW_SCHEMA)


def test_a_corrupted_footer_is_a_damaged_snapshot():
    """The frame holds, the footer's bytes do not: the reader's own error, in one line."""
    body = bytearray(GOOD)
    body[FOOTER_START : FOOTER_START + 16] = bytes(16)
    assert frame_damage(bytes(body)) is None
    with pytest.raises(DamagedParquet) as raised:
        read_parquet(bytes(body), ARROW_SCHEMA)
    assert str(raised.value) and "\n" not in str(raised.value)


def test_a_footer_whose_length_points_into_the_data_is_a_damaged_snapshot():
    body = GOOD[:-8] + (len(GOOD) // 2).to_bytes(4, "little") + b"PAR1"
    with pytest.raises(DamagedParquet):
        read_parquet(body, ARROW_SCHEMA)


def test_every_footer_byte_inverted_is_read_or_refused_in_one_line():
    """Each inverted byte either leaves a readable snapshot of the schema or is DamagedParquet;
    nothing else escapes (all in this process: an abort would fail the whole run)."""
    refused = 0
    for position in range(FOOTER_START, len(GOOD)):
        body = bytearray(GOOD)
        body[position] ^= 0xFF
        try:
            assert read_parquet(bytes(body), ARROW_SCHEMA).schema == ARROW_SCHEMA
        except DamagedParquet as exc:
            assert "\n" not in str(exc)
            refused += 1
    assert refused > 0


def test_a_snapshot_without_a_column_of_the_schema_is_damaged():
    body = parquet_bytes(snapshot_table().drop_columns(["snapshot_date"]))
    with pytest.raises(DamagedParquet, match=r"^no column snapshot_date$"):
        read_parquet(body, ARROW_SCHEMA)


def test_a_snapshot_with_a_column_of_another_type_is_damaged():
    table = snapshot_table()
    words = pa.array(["not a price"] * table.num_rows)
    other = table.set_column(table.schema.get_field_index("close_price"), "close_price", words)
    with pytest.raises(DamagedParquet, match=r"^columns of another type: "):
        read_parquet(parquet_bytes(other), ARROW_SCHEMA)
