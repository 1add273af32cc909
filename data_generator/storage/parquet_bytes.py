"""Parquet snapshots from bytes: the frame checked before any reader sees them, read on this
thread, so a damaged lake object is an error naming it and never a crash of the interpreter.

Why not `pyarrow.parquet.read_table`: it scans through Arrow's dataset layer, whose worker
threads may drop the last reference to the input buffer after the call has returned. That
buffer wraps a Python `bytes`, so its destructor takes the GIL; when this happens while the
interpreter is exiting (the CLI printing a damaged snapshot's error and returning 1 at once),
Python ends the worker with `pthread_exit` inside a C++ destructor and the process aborts
(SIGABRT, exit -6). `ParquetFile(...).read(use_threads=False)` is done with the buffer on the
calling thread. The footer is left to that reader, which reports a damaged one as an error:
walking it through pyarrow's Python metadata accessors (`row_group(i).column(j)`) instead can
throw a C++ exception straight into `std::terminate`.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from data_generator.errors import first_line

MAGIC = b"PAR1"
# The magic at the start, and at the end the footer's 4-byte length followed by the magic.
FRAME_BYTES = len(MAGIC) + 4 + len(MAGIC)


class DamagedParquet(ValueError):
    """The bytes are not one whole Parquet file; the message says what is wrong, in one line."""


def frame_damage(body: bytes) -> str | None:
    """What makes `body` not a whole Parquet file by its frame alone, or None if the frame holds:
    the cheap checks a truncated, empty or foreign object fails before any decoding."""
    size = len(body)
    if size == 0:
        return "the object is empty (0 bytes)"
    if size < FRAME_BYTES:
        return f"{size} bytes, shorter than a Parquet file's {FRAME_BYTES}-byte frame"
    if body[: len(MAGIC)] != MAGIC:
        return "no PAR1 magic at the start (not a Parquet file)"
    if body[-len(MAGIC) :] != MAGIC:
        return f"no PAR1 magic at the end of its {size} bytes (truncated)"
    footer_length = int.from_bytes(body[-8:-4], "little")
    if footer_length == 0 or footer_length > size - FRAME_BYTES:
        return f"footer length {footer_length} does not fit in its {size} bytes"
    return None


def read_parquet(body: bytes, schema: pa.Schema) -> pa.Table:
    """The table `body` holds, with exactly `schema`'s columns; DamagedParquet when the bytes are
    not a whole Parquet file or lack one of those columns."""
    damage = frame_damage(body)
    if damage is not None:
        raise DamagedParquet(damage)
    try:
        with pq.ParquetFile(pa.BufferReader(body)) as snapshot:
            table = snapshot.read(use_threads=False)
    except (pa.ArrowException, OSError, ValueError) as exc:  # ValueError: names not UTF-8
        raise DamagedParquet(first_line(exc)) from None
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise DamagedParquet(f"no column {', '.join(missing)}")
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowException, ValueError) as exc:
        raise DamagedParquet(f"columns of another type: {first_line(exc)}") from None
