"""`fintrade replay`: rebuild `raw` from the lake's Parquet snapshots with no API call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from data_generator.settings import Settings
from data_generator.sources.prices import PriceRow, table_to_bars
from data_generator.steps.actions import ActionReplayResult, replay_actions
from data_generator.storage import roles
from data_generator.storage.lake import Lake
from data_generator.storage.warehouse import (
    Connection,
    LoadCounts,
    delete_prices_not_in,
    load_prices,
)


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


def replay_symbol(conn: Connection, lake: Lake, symbol: str, since: date | None) -> ReplayResult:
    """Rebuild one symbol's rows from its Parquet snapshots.

    Snapshots are applied oldest first and a row keeps the key of the snapshot that first gave
    its current values, which is exactly what the daily loads recorded; the newest value wins.
    """
    snapshots = [s for s in lake.snapshots(symbol) if since is None or s.snapshot_date >= since]
    latest: dict[date, PriceRow] = {}
    for snapshot in snapshots:
        bars = table_to_bars(lake.get_table(snapshot.key), symbol, snapshot.snapshot_date)
        for row in bars.to_rows(snapshot.key):
            if since is not None and row.price_date < since:
                continue
            kept = latest.get(row.price_date)
            if kept is None or kept.values() != row.values():
                latest[row.price_date] = row
    rows = [latest[day] for day in sorted(latest)]
    with conn, conn.cursor() as cur:
        counts = load_prices(cur, rows, authoritative=True)
        deleted = delete_prices_not_in(cur, symbol, sorted(latest), since)
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
