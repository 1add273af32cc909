"""The corporate-actions step: SPLITS and DIVIDENDS per symbol, source -> lake -> raw tables.

It runs after every symbol's prices, so prices always get the day's calls first. What is left of
the day's budget goes to the symbols whose new bar jumped by a ratio close to a split (their
splits at once, whatever their turn), then to the symbols whose actions are stalest; the others
wait for a later day. A synthetic source has no budget and refreshes every symbol. Each load is
one transaction and a same-day rerun reads the lake's copy instead of calling again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from data_generator.reference.universe import select_stocks
from data_generator.settings import Settings
from data_generator.sources.alpha_vantage import (
    AlphaVantageError,
    DailyLimitError,
    InvalidApiKeyError,
)
from data_generator.sources.base import PriceSource
from data_generator.sources.corporate_actions import (
    ActionKind,
    actions_to_table,
    parse_actions_reply,
    schema_for,
    table_to_actions,
)
from data_generator.sources.prices import ReplyFormatError
from data_generator.steps.resources import open_resources
from data_generator.storage import lake as lake_keys
from data_generator.storage.actions import ActionCounts, load_actions, record_action_rejects
from data_generator.storage.ingest_runs import (
    Dataset,
    IngestRun,
    RunStatus,
    loaded_symbols,
    record_ingest_run,
)
from data_generator.storage.lake import Lake, LakeError
from data_generator.storage.warehouse import Connection, WarehouseError

log = logging.getLogger(__name__)

# Share ratios of real splits and reverse splits; a day-over-day close ratio within the tolerance
# of one of them (or its inverse) is far outside ordinary daily moves.
SPLIT_RATIOS = (2, 3, 4, 5, 6, 7, 8, 10, 15, 20, 25, 30, 40, 50)
SPLIT_RATIO_TOLERANCE = 0.08
ACTION_KINDS = (ActionKind.SPLITS, ActionKind.DIVIDENDS)


def looks_like_split(previous_close: Decimal, close: Decimal) -> bool:
    """Whether the move from `previous_close` to `close` is a split's (1/2, 1/3, 2 ...)."""
    ratio = float(previous_close) / float(close)
    candidates = [*SPLIT_RATIOS, *(1 / r for r in SPLIT_RATIOS)]
    return any(abs(ratio / candidate - 1) <= SPLIT_RATIO_TOLERANCE for candidate in candidates)


@dataclass
class ActionResult:
    symbol: str
    kind: ActionKind
    status: RunStatus  # LOADED, DEFERRED (left for the budget) or FAILED
    counts: ActionCounts = field(default_factory=lambda: ActionCounts(0, 0, 0, 0))
    rows_rejected: int = 0
    called_api: bool = False
    message: str = ""


@dataclass
class ActionsReport:
    logical_date: date
    results: list[ActionResult] = field(default_factory=list)

    def _symbols(self, status: RunStatus) -> list[str]:
        return sorted({r.symbol for r in self.results if r.status is status})

    @property
    def failed(self) -> list[str]:
        return self._symbols(RunStatus.FAILED)

    @property
    def deferred(self) -> list[str]:
        return self._symbols(RunStatus.DEFERRED)

    def summary(self) -> str:
        loaded = [r for r in self.results if r.status is RunStatus.LOADED]
        text = (
            f"corporate actions for {self.logical_date}: "
            f"{len({r.symbol for r in loaded})} symbols refreshed "
            f"({sum(r.called_api for r in loaded)} API calls), "
            f"{sum(r.counts.inserted for r in loaded)} new, "
            f"{sum(r.counts.updated for r in loaded)} updated, "
            f"{sum(r.counts.removed for r in loaded)} withdrawn, "
            f"{sum(r.rows_rejected for r in loaded)} rejected"
        )
        if self.deferred:
            text += f"; waiting for budget: {', '.join(self.deferred)}"
        if self.failed:
            text += f"; failed: {', '.join(self.failed)}"
        return text


def _reply_body(
    lake: Lake, source: PriceSource, kind: ActionKind, symbol: str, day: date
) -> tuple[bytes, bool]:
    key = lake_keys.action_json_key(kind.value, symbol, day)
    body = lake.get(key)
    if body is not None:
        return body, False
    body = source.fetch_corporate_actions(symbol, kind.function)
    if not lake.put_once(key, body, "application/json"):
        body = lake.get(key) or body
    return body, True


def ingest_action(
    conn: Connection,
    lake: Lake,
    source: PriceSource,
    kind: ActionKind,
    symbol: str,
    logical_date: date,
) -> ActionResult:
    """One symbol's splits or dividends for the date; a failure is recorded, not raised."""
    started_at = datetime.now(UTC)
    try:
        body, called_api = _reply_body(lake, source, kind, symbol, logical_date)
        parsed = parse_actions_reply(kind, symbol, body, source.name, logical_date)
        pkey = lake_keys.action_parquet_key(kind.value, symbol, logical_date)
        lake.put_table_once(pkey, actions_to_table(parsed))
        with conn, conn.cursor() as cur:
            counts = load_actions(cur, parsed, pkey)
            record_action_rejects(
                cur, parsed.rejects, lake_keys.action_json_key(kind.value, symbol, logical_date)
            )
    except DailyLimitError as exc:
        return ActionResult(symbol, kind, RunStatus.DEFERRED, message=str(exc).splitlines()[0])
    except InvalidApiKeyError:
        raise
    except (AlphaVantageError, ReplyFormatError, LakeError, WarehouseError) as exc:
        message = str(exc).splitlines()[0]
        conn.rollback()
        result = ActionResult(symbol, kind, RunStatus.FAILED, message=message)
        _record(conn, result, logical_date, started_at, source.name)
        return result
    result = ActionResult(symbol, kind, RunStatus.LOADED, counts, len(parsed.rejects), called_api)
    _record(conn, result, logical_date, started_at, source.name)
    return result


def _record(
    conn: Connection, result: ActionResult, logical_date: date, started_at: datetime, source: str
) -> None:
    record_ingest_run(
        conn,
        IngestRun(
            logical_date,
            result.symbol,
            source,
            result.status,
            started_at,
            dataset=Dataset(result.kind.value),
            rows_loaded=result.counts.written,
            rows_rejected=result.rows_rejected,
            error=result.message or None,
        ),
    )


def suspected_splits(conn: Connection, symbols: list[str], logical_date: date) -> set[str]:
    """Symbols whose latest bar (up to the date) moved like a split that no known split explains."""
    with conn, conn.cursor() as cur:
        cur.execute(
            """
            select s.symbol, latest.price_date, latest.close_price
            from unnest(%(symbols)s::text[]) as s (symbol)
            cross join lateral (
                select price_date, close_price
                from raw.daily_prices as prices
                where prices.symbol = s.symbol and prices.price_date <= %(day)s
                order by price_date desc
                limit 2
            ) as latest
            order by s.symbol, latest.price_date
            """,
            {"symbols": symbols, "day": logical_date},
        )
        bars: dict[str, list[tuple[date, Decimal]]] = {}
        for symbol, price_date, close in cur.fetchall():
            bars.setdefault(symbol, []).append((price_date, close))
        jumped = {
            symbol: (pair[0][0], pair[1][0])
            for symbol, pair in bars.items()
            if len(pair) == 2 and looks_like_split(pair[0][1], pair[1][1])
        }
        suspects = set()
        for symbol, (previous_day, day) in jumped.items():
            cur.execute(
                "select 1 from raw.stock_splits where symbol = %s"
                " and effective_date > %s and effective_date <= %s",
                (symbol, previous_day, day),
            )
            if cur.fetchone() is None:
                suspects.add(symbol)
    return suspects


def refresh_order(conn: Connection, symbols: list[str], logical_date: date) -> list[str]:
    """Suspected splits first, then the symbols whose actions were refreshed longest ago (never
    first). Only earlier logical dates count, so a rerun of a day plans what its first run did."""
    suspects = suspected_splits(conn, symbols, logical_date)
    with conn, conn.cursor() as cur:
        cur.execute(
            """
            select s.symbol, least(
                max(runs.logical_date) filter (where runs.dataset = 'splits'),
                max(runs.logical_date) filter (where runs.dataset = 'dividends')
            )
            from unnest(%(symbols)s::text[]) as s (symbol)
            left join raw.ingest_runs as runs
                on runs.symbol = s.symbol
                and runs.status = 'loaded'
                and runs.dataset in ('splits', 'dividends')
                and runs.logical_date < %(day)s
            group by s.symbol
            """,
            {"symbols": symbols, "day": logical_date},
        )
        last_refreshed = dict(cur.fetchall())
    return sorted(
        symbols,
        key=lambda s: (s not in suspects, last_refreshed.get(s) or date.min, symbols.index(s)),
    )


def ingest_actions_with(
    conn: Connection, lake: Lake, source: PriceSource, symbols: list[str], logical_date: date
) -> ActionsReport:
    """Every symbol's actions in refresh order, as far as the day's budget goes."""
    report = ActionsReport(logical_date)
    for symbol in refresh_order(conn, symbols, logical_date):
        for kind in ACTION_KINDS:
            report.results.append(ingest_action(conn, lake, source, kind, symbol, logical_date))
    log.info(report.summary())
    return report


@dataclass
class ActionReplayResult:
    kind: ActionKind
    symbol: str
    snapshots: int
    counts: ActionCounts

    def summary(self) -> str:
        return (
            f"{self.symbol} {self.kind.value}: {self.snapshots} snapshots, "
            f"{self.counts.inserted} new, {self.counts.updated} updated, "
            f"{self.counts.unchanged} unchanged, {self.counts.removed} removed"
        )


def replay_actions(
    conn: Connection, lake: Lake, symbols: tuple[str, ...] | None
) -> list[ActionReplayResult]:
    """Rebuild the action tables from the lake's Parquet snapshots, with no API call.

    Each snapshot is a symbol's whole list on its date, so applying them oldest first, each as
    the truth, ends on the newest snapshot's list, keyed by the snapshot that first gave a value.
    """
    results = []
    for kind in ACTION_KINDS:
        by_symbol: dict[str, list[tuple[date, str]]] = {}
        for key in lake.keys(lake_keys.action_parquet_prefix(kind.value)):
            match = lake_keys.ACTION_SNAPSHOT_KEY.match(key)
            if match is None or (symbols is not None and match["symbol"] not in symbols):
                continue
            if match["dataset"] == kind.value:
                day = date.fromisoformat(match["date"])
                by_symbol.setdefault(match["symbol"], []).append((day, key))
        for symbol, snapshots in sorted(by_symbol.items()):
            total = ActionCounts(0, 0, 0, 0)
            for day, key in sorted(snapshots):
                table = lake.get_table(key, schema_for(kind))
                parsed = table_to_actions(kind, table, symbol, day)
                with conn, conn.cursor() as cur:
                    counts = load_actions(cur, parsed, key, authoritative=True)
                total = ActionCounts(
                    total.inserted + counts.inserted,
                    total.updated + counts.updated,
                    counts.unchanged,
                    total.removed + counts.removed,
                )
            results.append(ActionReplayResult(kind, symbol, len(snapshots), total))
    return results


def ingest_actions(settings: Settings, logical_date: date) -> ActionsReport:
    """The scheduled corporate-actions step, after every batch of prices: like the CLI, only
    for the symbols whose prices loaded for the date, so a refused reply leaves nothing of its
    symbol's day stored until the rerun."""
    symbols = [s.symbol for s in select_stocks(settings.symbols, settings.universe_file)]
    with open_resources(settings, logical_date) as res:
        priced = loaded_symbols(res.conn, logical_date, symbols)
        return ingest_actions_with(
            res.conn, res.lake, res.source, [s for s in symbols if s in priced], logical_date
        )
