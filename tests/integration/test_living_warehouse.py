"""A warehouse that lives: nights through the real pipeline in the orders users run them, and
after every night the incremental build equals a full rebuild of the same raw data.

The vendor is the local Alpha Vantage stand-in, so a night can fail one symbol, restate an old
bar, or bring a stock that was added to the universe file. After each night: every dbt test
passes (the build raises otherwise), every core and mart table has the checksum a
`--full-refresh` of a copy of the database gives, and no account's cash or holding is negative
at any instant of the raw books.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from data_generator.reference.universe import select_stocks
from data_generator.settings import Engine, Settings
from data_generator.steps import transform
from data_generator.steps.day import ingest_day
from data_generator.steps.resources import open_resources
from tests.support.alpha_vantage_stub import (
    AlphaVantageStub,
    StubReply,
    data_body,
    error_message_body,
    last_sessions,
    standard_bars,
)
from tests.support.harness import scratch_warehouse, vendor_settings
from tests.support.rebuild import assert_equals_its_rebuild, built_checksums
from tests.support.universe_file import write_universe
from tests.support.warehouse import query

pytestmark = pytest.mark.dbt

SESSIONS = last_sessions(date(2026, 11, 25), 40)
LINES = {
    "AAPL": "AAPL,Apple Inc.,Information Technology,NASDAQ,USD\n",
    "MSFT": "MSFT,Microsoft Corporation,Information Technology,NASDAQ,USD\n",
    "XOM": "XOM,Exxon Mobil Corporation,Energy,NYSE,USD\n",
    "KO": "KO,The Coca-Cola Company,Consumer Staples,NYSE,USD\n",
    "AMD": "AMD,Advanced Micro Devices Inc.,Information Technology,NASDAQ,USD\n",
}
REPLY_BARS = 100  # a compact reply


@dataclass
class Vendor:
    """What the stand-in answers on a night: every symbol's last 100 bars up to the night,
    except the failing ones, with restated closes applied."""

    stub: AlphaVantageStub
    failing: set[str] = field(default_factory=set)
    restated: dict[tuple[str, date], Decimal] = field(default_factory=dict)

    def serve(self, symbols: list[str], night: date) -> None:
        for symbol in symbols:
            if symbol in self.failing:
                reply = StubReply(body=error_message_body())
            else:
                bars = standard_bars(symbol, night, count=REPLY_BARS)
                for (restated_symbol, day), close in self.restated.items():
                    if restated_symbol == symbol and day in bars:
                        open_, high, low, _, volume = bars[day]
                        bars[day] = (open_, max(high, close), min(low, close), close, volume)
                reply = StubReply(body=data_body(symbol, bars))
            self.stub.set_default(symbol, reply)


def duckdb_checksums(path: Path) -> dict[str, tuple[int, int]]:
    """Every core and mart table of a DuckDB file as (rows, order-free sum of row hashes), the
    run log's mart left out as on PostgreSQL."""
    with closing(duckdb.connect(str(path), read_only=True)) as con:
        tables = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
            " where table_schema in ('core', 'mart') and table_type = 'BASE TABLE'"
            " and table_name <> 'mart_ingest_status'"
        ).fetchall()
        return {
            name: con.execute(
                f"select count(*), sum(hash(row::varchar)) from {name} as row"
            ).fetchone()
            for (name,) in tables
        }


def assert_duckdb_equals_its_rebuild(settings: Settings, tmp: Path, night: date) -> None:
    """The DuckDB file built night after night against a full refresh into a new file."""
    rebuilt = settings.with_overrides(duckdb_path=tmp / f"rebuilt-{night}.duckdb")
    transform.build(rebuilt, full_refresh=True, engine=Engine.DUCKDB)
    incremental, full = (
        duckdb_checksums(settings.duckdb_file),
        duckdb_checksums(rebuilt.duckdb_file),
    )
    differing = sorted(t for t in full if incremental.get(t) != full[t])
    assert not differing, f"DuckDB after {night}: incremental differs from a rebuild in {differing}"


@pytest.fixture
def living(base_settings, s3_server, tmp_path: Path) -> Iterator[tuple[Settings, Vendor]]:
    with (
        AlphaVantageStub() as stub,
        scratch_warehouse(base_settings, s3_server, tmp_path / "state") as scratch,
    ):
        settings = vendor_settings(
            scratch,
            stub,
            "living-test-key",
            alpha_vantage_daily_budget=500,
            duckdb_path=tmp_path / "fintrade.duckdb",
        )
        yield settings, Vendor(stub)


def run_night(
    settings: Settings, vendor: Vendor, night: date, symbols: list[str], *, duckdb: bool = False
) -> list[str]:
    """One night as the DAG runs it: ingest (a failed symbol is reported, not fatal), then the
    build, which raises if any dbt test fails, checked against a full rebuild (and, with
    `duckdb`, the DuckDB build from the lake). Returns the failed symbols."""
    universe = write_universe(
        settings.local_state_dir.parent / "stocks.csv", *(LINES[s] for s in symbols)
    )
    night_settings = settings.with_overrides(universe_file=universe)
    vendor.serve(symbols, night)
    stocks = select_stocks(None, universe)
    with open_resources(night_settings, night, stocks) as res:
        report = ingest_day(res, stocks, night, initialise=True)
    transform.build(night_settings)
    assert_equals_its_rebuild(night_settings, night)
    if duckdb:
        transform.build(night_settings, engine=Engine.DUCKDB)
    return sorted(report.failed)


def bar_count(settings: Settings, table: str, symbol: str) -> int:
    [(count,)] = query(settings, f"select count(*) from {table} where symbol = %s", (symbol,))
    return count


def test_nights_in_any_order_equal_a_full_rebuild(living, tmp_path):
    """MSFT fails from the first night on, for more sessions than the old ten-day window, while
    the others move on; then it recovers, AMD is added with its whole history, KO removed, an
    AAPL bar 31 sessions back restated; then two earlier sessions are backfilled, latest first,
    and the last is run again."""
    settings, vendor = living
    s, tmp = SESSIONS, tmp_path
    base = ["AAPL", "MSFT", "XOM", "KO"]

    vendor.failing = {"MSFT"}
    assert run_night(settings, vendor, s[21], base, duckdb=True) == ["MSFT"]
    assert run_night(settings, vendor, s[33], base) == ["MSFT"]

    vendor.failing = set()
    restated_day = s[34 - 31]
    vendor.restated[("AAPL", restated_day)] = Decimal("389.6568")
    grown = ["AAPL", "MSFT", "XOM", "AMD"]
    assert run_night(settings, vendor, s[34], grown, duckdb=True) == []
    for symbol in ("MSFT", "AMD"):
        fact = bar_count(settings, "core.fct_daily_prices", symbol)
        assert fact == bar_count(settings, "raw.daily_prices", symbol) == REPLY_BARS
    closes = query(
        settings,
        "select raw.close_price, fact.close_price from raw.daily_prices as raw"
        " join core.fct_daily_prices as fact using (symbol, price_date)"
        " where symbol = 'AAPL' and price_date = %s",
        (restated_day,),
    )
    assert closes == [(Decimal("389.6568"), Decimal("389.6568"))]
    assert_duckdb_equals_its_rebuild(settings, tmp, s[34])

    assert run_night(settings, vendor, s[30], grown) == []
    assert run_night(settings, vendor, s[22], grown, duckdb=True) == []
    assert_duckdb_equals_its_rebuild(settings, tmp, s[22])

    # A night run again changes no model.
    before = built_checksums(settings)
    assert run_night(settings, vendor, s[22], grown) == []
    assert built_checksums(settings) == before
