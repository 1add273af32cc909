"""`fintrade replay`: rebuild `raw` from the lake's Parquet snapshots with no API call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_generator.settings import Settings
from data_generator.steps.actions import ActionReplayResult, replay_actions
from data_generator.storage import roles
from data_generator.storage.lake import Lake
from data_generator.storage.warehouse import (
    PRICE_TABLE_SCHEMA,
    Connection,
    LoadCounts,
    delete_prices_not_in,
    load_price_table,
    price_table,
)

# What a later snapshot may change about a bar (not where it came from): `PriceRow.values()`.
_VALUE_COLUMNS = ("open_price", "high_price", "low_price", "close_price", "volume", "source")


@dataclass
class ReplayResult:
    symbol: str
    snapshots: int
    counts: LoadCounts
    deleted: int

    def summary(self) -> str:
        return (
            f"{self.symbol}: {self.snapshots} snapshots, {self.counts.inserted} new, "
            f"{self.counts.updated} updated, {self.counts.unchanged} unchanged, "
            f"{self.deleted} removed"
        )


def _newest_rows(snapshots: list[pa.Table]) -> pa.Table:
    """One row per day from price tables oldest snapshot first: the newest values, keyed to the
    snapshot that first gave them (the start of their last unbroken run), in Arrow, not per row.
    """
    if not snapshots:
        return PRICE_TABLE_SCHEMA.empty_table()
    order = pa.concat_tables(snapshots).append_column(
        "snapshot_order",
        pa.array(np.repeat(np.arange(len(snapshots)), [t.num_rows for t in snapshots])),
    )
    rows = order.sort_by([("price_date", "ascending"), ("snapshot_order", "ascending")])
    if rows.num_rows == 0:
        return rows.drop_columns(["snapshot_order"])
    same_day = pc.equal(rows["price_date"][1:], rows["price_date"][:-1])
    unchanged = same_day
    for name in _VALUE_COLUMNS:
        unchanged = pc.and_(unchanged, pc.equal(rows[name][1:], rows[name][:-1]))
    positions = np.arange(rows.num_rows)
    continues = np.concatenate(([False], unchanged.to_numpy(zero_copy_only=False)))
    run_start = np.maximum.accumulate(np.where(continues, 0, positions))
    last_of_day = np.concatenate((~same_day.to_numpy(zero_copy_only=False), [True]))
    newest = positions[last_of_day]
    return (
        rows.take(newest)
        .set_column(
            rows.schema.get_field_index("lake_key"),
            "lake_key",
            rows["lake_key"].take(run_start[newest]),
        )
        .drop_columns(["snapshot_order"])
    )


def replay_symbol(conn: Connection, lake: Lake, symbol: str, since: date | None) -> ReplayResult:
    """Rebuild one symbol's rows from its Parquet snapshots.

    Snapshots are applied oldest first and a row keeps the key of the snapshot that first gave
    its current values, which is exactly what the daily loads recorded; the newest value wins.
    """
    snapshots = [s for s in lake.snapshots(symbol) if since is None or s.snapshot_date >= since]
    tables = []
    for snapshot in snapshots:
        rows = price_table(lake.get_table(snapshot.key), snapshot.key)
        if since is not None:
            rows = rows.filter(pc.greater_equal(rows["price_date"], pa.scalar(since, pa.date32())))
        tables.append(rows)
    latest = _newest_rows(tables)
    with conn, conn.cursor() as cur:
        counts = load_price_table(cur, latest, authoritative=True)
        deleted = delete_prices_not_in(cur, symbol, latest["price_date"].to_pylist(), since)
    return ReplayResult(symbol, len(snapshots), counts, deleted)


def replay(
    settings: Settings,
    since: date | None,
    on_symbol: Callable[[ReplayResult | ActionReplayResult], None] = lambda result: None,
) -> list[ReplayResult]:
    """Every symbol the lake holds (those of `settings.symbols` if set), then their corporate
    actions (whole lists per snapshot, so `since` does not apply to them)."""
    lake = Lake.from_settings(settings)
    symbols = [s for s in lake.snapshot_symbols() if not settings.symbols or s in settings.symbols]
    roles.provision(settings)
    conn = roles.connect_as(settings, roles.Role.LOADER)
    try:
        results = []
        for symbol in symbols:
            results.append(replay_symbol(conn, lake, symbol, since))
            on_symbol(results[-1])
        for action_result in replay_actions(conn, lake, settings.symbols):
            on_symbol(action_result)
    finally:
        conn.close()
    return results
