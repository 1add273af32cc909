"""What every step opens for a run: the loader's connection, the lake and the price source.

The CLI and the Airflow tasks both open them here, one symbol or one step at a time, so the same
code runs by hand, in tests and under the scheduler.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from data_generator.errors import FintradeError
from data_generator.reference.universe import Stock, load_universe, select_stocks
from data_generator.settings import PriceSourceKind, Settings
from data_generator.sources.alpha_vantage import AlphaVantageClient, CallGate
from data_generator.sources.base import PriceSource
from data_generator.sources.synthetic_prices import SyntheticPriceSource
from data_generator.storage import roles
from data_generator.storage.call_budget import CallBudget
from data_generator.storage.lake import Lake
from data_generator.storage.warehouse import Connection, upsert_stocks


class FutureDateError(FintradeError, ValueError):
    """The logical date has not happened yet: a source would have to invent its prices, and the
    write-once lake would keep them."""


def check_logical_date(logical_date: date) -> None:
    today = datetime.now(UTC).date()
    if logical_date > today:
        raise FutureDateError(f"{logical_date} is in the future (today is {today} UTC)")


@dataclass
class Resources:
    settings: Settings
    conn: Connection
    lake: Lake
    source: PriceSource


def make_price_source(
    settings: Settings,
    logical_date: date,
    stocks: tuple[Stock, ...] = (),
    call_gate: CallGate | None = None,
) -> PriceSource:
    if settings.price_source == PriceSourceKind.ALPHA_VANTAGE:
        return AlphaVantageClient(settings, call_gate=call_gate)
    # The sector picks the synthetic profile, so a source opened for one symbol (an Airflow
    # task) still knows every stock of the universe file.
    return SyntheticPriceSource(
        settings.seed,
        settings.history_days,
        logical_date,
        stocks or load_universe(settings.universe_file),
        start=settings.synthetic_start,
    )


@contextmanager
def open_resources(
    settings: Settings, logical_date: date, stocks: tuple[Stock, ...] = ()
) -> Iterator[Resources]:
    check_logical_date(logical_date)
    conn = roles.connect_as(settings, roles.Role.LOADER)
    try:
        yield Resources(
            settings=settings,
            conn=conn,
            lake=Lake.from_settings(settings),
            source=make_price_source(
                settings,
                logical_date,
                stocks,
                call_gate=CallBudget(conn, settings.alpha_vantage_daily_budget, logical_date),
            ),
        )
    finally:
        conn.close()


def prepare_resources(res: Resources, stocks: tuple[Stock, ...]) -> None:
    """raw.stocks mirrors the whole universe file (plus any extra `stocks`, e.g. a benchmark's
    made-up tickers), whichever subset this run ingests; stocks no longer listed stay, inactive."""
    roles.provision(res.settings)
    universe = load_universe(res.settings.universe_file)
    listed = {stock.symbol for stock in universe}
    upsert_stocks(res.conn, universe + tuple(s for s in stocks if s.symbol not in listed))
    res.lake.ensure_bucket()


def prepare(settings: Settings, logical_date: date) -> None:
    """Schema, reference stocks and bucket; idempotent, so every run may start with it."""
    stocks = select_stocks(settings.symbols, settings.universe_file)
    with open_resources(settings, logical_date, stocks) as res:
        prepare_resources(res, stocks)
