"""Corporate actions into `raw.stock_splits` and `raw.dividends`, by the prices' rules.

A load is one set-based upsert in the caller's transaction: new actions inserted, corrected ones
updated, identical ones untouched (a rerun writes nothing), and an older snapshot never
changes what a newer one said. A reply lists the symbol's whole history, so an action that a newer
snapshot no longer lists was withdrawn by the vendor and is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg2 import sql

from data_generator.sources.corporate_actions import ActionKind, ParsedActions, RejectedAction
from data_generator.storage.warehouse import Cursor, copy_rows, fetch_one


@dataclass(frozen=True)
class ActionTable:
    table: str
    key_column: str
    value_columns: tuple[str, ...]


TABLES = {
    ActionKind.SPLITS: ActionTable("raw.stock_splits", "effective_date", ("split_factor",)),
    ActionKind.DIVIDENDS: ActionTable(
        "raw.dividends",
        "ex_dividend_date",
        ("amount", "declaration_date", "record_date", "payment_date"),
    ),
}


@dataclass(frozen=True)
class ActionCounts:
    inserted: int
    updated: int
    unchanged: int
    removed: int

    @property
    def written(self) -> int:
        return self.inserted + self.updated + self.removed


def _upsert_statement(spec: ActionTable, staging: str) -> sql.Composed:
    columns = ("symbol", spec.key_column, *spec.value_columns, "source", "lake_key")
    compared = (*spec.value_columns, "source")
    ident = sql.Identifier
    return sql.SQL(
        """
        with upserted as (
            insert into {table} as target ({columns})
            select {columns} from {staging}
            on conflict (symbol, {key}) do update set {assignments}, loaded_at = now()
            where ({target_values}) is distinct from ({excluded_values})
              and (excluded.lake_key >= target.lake_key or %(authoritative)s)
            returning (xmax = 0) as inserted
        )
        select count(*) filter (where inserted), count(*) filter (where not inserted)
        from upserted
        """
    ).format(
        table=sql.SQL(spec.table),
        columns=sql.SQL(", ").join(map(ident, columns)),
        staging=ident(staging),
        key=ident(spec.key_column),
        assignments=sql.SQL(", ").join(
            sql.SQL("{0} = excluded.{0}").format(ident(name))
            for name in (*spec.value_columns, "source", "lake_key")
        ),
        target_values=sql.SQL(", ").join(sql.SQL("target.{}").format(ident(n)) for n in compared),
        excluded_values=sql.SQL(", ").join(
            sql.SQL("excluded.{}").format(ident(n)) for n in compared
        ),
    )


def _newer_snapshot_applied(cur: Cursor, parsed: ParsedActions) -> bool:
    """Whether a later day's list was already loaded: it is the vendor's newer word on every
    action of the symbol, including those it withdrew, so an older list must change nothing."""
    cur.execute(
        """
        select max(logical_date) > %s from raw.ingest_runs
        where symbol = %s and dataset = %s and status = 'loaded'
        """,
        (parsed.snapshot_date, parsed.symbol, parsed.kind.value),
    )
    return bool(fetch_one(cur)[0])


def load_actions(
    cur: Cursor, parsed: ParsedActions, lake_key: str, *, authoritative: bool = False
) -> ActionCounts:
    """Apply one snapshot of one symbol's actions; returns ActionCounts."""
    spec = TABLES[parsed.kind]
    cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"{spec.table}:{parsed.symbol}",))
    if not authoritative and _newer_snapshot_applied(cur, parsed):
        return ActionCounts(0, 0, len(parsed.actions), 0)
    staging = f"incoming_{parsed.kind.value}"
    cur.execute(
        sql.SQL(
            "create temp table if not exists {} (like {} including defaults) on commit delete rows"
        ).format(sql.Identifier(staging), sql.SQL(spec.table))
    )
    rows = [
        (
            parsed.symbol,
            *(getattr(action, name) for name in (spec.key_column, *spec.value_columns)),
            parsed.source,
            lake_key,
        )
        for action in parsed.actions
    ]
    columns = ("symbol", spec.key_column, *spec.value_columns, "source", "lake_key")
    copy_rows(cur, staging, columns, rows)
    cur.execute(_upsert_statement(spec, staging), {"authoritative": authoritative})
    inserted, updated = fetch_one(cur)
    cur.execute(
        sql.SQL(
            """
            delete from {table}
            where symbol = %(symbol)s
              and (lake_key < %(lake_key)s or %(authoritative)s)
              and not ({key} = any(%(kept)s::date[]))
            """
        ).format(table=sql.SQL(spec.table), key=sql.Identifier(spec.key_column)),
        {
            "symbol": parsed.symbol,
            "lake_key": lake_key,
            "authoritative": authoritative,
            "kept": [getattr(action, spec.key_column) for action in parsed.actions],
        },
    )
    removed = cur.rowcount
    return ActionCounts(inserted, updated, len(rows) - inserted - updated, removed)


def record_action_rejects(cur: Cursor, rejects: Sequence[RejectedAction], lake_key: str) -> int:
    """Quarantine bad entries; the same bad entry from the same object is kept once."""
    if not rejects:
        return 0
    cur.executemany(
        """
        insert into raw.rejected_actions (dataset, symbol, action_date, reason, payload, lake_key)
        values (%s, %s, %s, %s, %s::jsonb, %s)
        on conflict (lake_key, action_date, reason) do nothing
        """,
        [
            (r.kind.value, r.symbol, r.action_date, r.reason, json.dumps(r.payload), lake_key)
            for r in rejects
        ],
    )
    return len(rejects)
