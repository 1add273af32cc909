"""What one page view needs, read once per pipeline run.

Marts change only when the pipeline runs, so each query's result is kept until the run key
(the last ingest's time and the marts' as-of date) changes: a page view then costs one small
query for the key instead of a pass over the marts. A view that finds a new key drops the
whole cache, so no chart can mix two runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar, cast

from data_generator.dashboard import queries
from data_generator.dashboard.queries import (
    AccountRow,
    MartsConnection,
    Positions,
    PriceBar,
    RunKey,
    RunStatus,
    SectorFigures,
    StockFigures,
    TradingDay,
)
from data_generator.settings import Settings

T = TypeVar("T")
DEFAULT_HISTORY = timedelta(days=365)


@dataclass(frozen=True)
class Overview:
    """Everything on the page that does not depend on the pickers."""

    as_of_date: date
    first_date: date
    stocks: tuple[StockFigures, ...]
    sectors: tuple[SectorFigures, ...]
    activity: tuple[TradingDay, ...]
    accounts: tuple[AccountRow, ...]
    positions: Positions | None
    run: RunStatus | None

    @property
    def default_start(self) -> date:
        return max(self.first_date, self.as_of_date - DEFAULT_HISTORY)

    def stock(self, symbol: str) -> StockFigures | None:
        return next((stock for stock in self.stocks if stock.symbol == symbol), None)


class WarehouseReader:
    """The dashboard's one way into the warehouse: read-only sessions on the engine the settings
    name, results cached per run."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._key: RunKey | None = None
        self._cache: dict[tuple, object] = {}

    def overview(self) -> Overview:
        with queries.read_only_marts(self._settings) as conn:
            self._refresh_key(conn)
            return self.cached(("overview",), lambda: _read_overview(conn))

    def price_history(self, symbol: str, start: date, end: date) -> tuple[PriceBar, ...]:
        with queries.read_only_marts(self._settings) as conn:
            self._refresh_key(conn)
            return self.cached(
                ("prices", symbol, start, end),
                lambda: queries.price_history(conn, symbol, start, end),
            )

    def _refresh_key(self, conn: MartsConnection) -> None:
        key = queries.run_key(conn)
        with self._lock:
            if key != self._key:
                self._key, self._cache = key, {}

    def cached(self, entry: tuple, read: Callable[[], T]) -> T:
        """`read()`'s result, computed once per run key (callers refresh the key first)."""
        with self._lock:
            if entry in self._cache:
                # An entry's key names what `read` returned for it, so the type is T.
                return cast(T, self._cache[entry])
        value = read()
        with self._lock:
            self._cache[entry] = value
        return value


def _read_overview(conn: MartsConnection) -> Overview:
    stocks = queries.stock_figures(conn)
    as_of = max(stock.as_of_date for stock in stocks)
    accounts = queries.top_accounts(conn)
    return Overview(
        as_of_date=as_of,
        first_date=queries.first_trading_date(conn) or as_of,
        stocks=stocks,
        sectors=queries.sector_figures(conn),
        activity=queries.trading_activity(conn),
        accounts=accounts,
        positions=queries.positions(conn, tuple(account.account_id for account in accounts)),
        run=queries.last_run(conn),
    )
