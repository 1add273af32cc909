"""A whole day, as `fintrade init`/`ingest` run it: prices, corporate actions, activity, then
the OLTP tables' extracts in the lake."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from data_generator.reference.universe import Stock
from data_generator.steps.actions import ActionsReport, ingest_actions_with
from data_generator.steps.activity import (
    DEFAULT_ACCOUNTS,
    DEFAULT_ORDERS,
    ActivityResult,
    day_activity,
    held_back,
    initialise_activity,
)
from data_generator.steps.extracts import ExtractsError, extract_day
from data_generator.steps.prices import SymbolOutcome, SymbolResult, ingest_prices
from data_generator.steps.resources import Resources, prepare_resources
from data_generator.storage.oltp_extracts import ExtractsResult


@dataclass
class IngestReport:
    logical_date: date
    results: list[SymbolResult]
    history: ActivityResult | None = None
    activity: ActivityResult | None = None
    notices: list[str] = field(default_factory=list)
    actions: ActionsReport | None = None
    extracts: ExtractsResult | None = None
    # Why the extracts were not written: reported after the day's own failures, never instead.
    extracts_error: str | None = None

    @property
    def failed(self) -> list[str]:
        return [r.symbol for r in self.results if r.status is SymbolOutcome.FAILED]

    @property
    def stale(self) -> list[str]:
        return [r.symbol for r in self.results if r.status is SymbolOutcome.STALE]


def ingest_day(
    res: Resources,
    stocks: tuple[Stock, ...],
    logical_date: date,
    *,
    initialise: bool = False,
    accounts: int = DEFAULT_ACCOUNTS,
    orders: int = DEFAULT_ORDERS,
    on_symbol: Callable[[SymbolResult], None] = lambda result: None,
) -> IngestReport:
    """Prepare, every symbol's prices, corporate actions as the day's call budget allows, the
    OLTP activity, then the extracts of what the day stored (also when activity was held back:
    the run log changed).

    With `initialise`, accounts and the order history are made first (once); without it a
    database that has no accounts yet gets its prices and no activity.
    """
    prepare_resources(res, stocks)
    symbols = [stock.symbol for stock in stocks]
    results = ingest_prices(res, symbols, logical_date, on_symbol)
    # A symbol whose prices failed is rerun for this date; its actions wait for that rerun, so a
    # refused reply leaves nothing of the symbol's day stored.
    priced = [r.symbol for r in results if r.status is not SymbolOutcome.FAILED]
    actions = ingest_actions_with(res.conn, res.lake, res.source, priced, logical_date)
    report = IngestReport(logical_date, results, notices=list(res.source.notices), actions=actions)
    held = held_back(logical_date, report.failed)
    if held is not None:
        report.activity = held
    else:
        if initialise:
            report.history = initialise_activity(res, symbols, logical_date, accounts, orders)
        report.activity = day_activity(res, symbols, logical_date)
    try:
        report.extracts = extract_day(res, logical_date)
    except ExtractsError as exc:
        report.extracts_error = str(exc)
    return report
