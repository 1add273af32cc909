"""The dashboard on DuckDB's marts: the same figures and the same page as on PostgreSQL's for
the same warehouse, read from the DuckDB file opened read-only, and a file that is missing,
unbuilt, damaged or locked said in one line naming it.

The parity tests read DuckDB with PostgreSQL's port pointing at nothing, so a figure that
matched only because it came from PostgreSQL after all would fail them.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal

import duckdb
import plotly.utils
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from data_generator.dashboard import figures, queries
from data_generator.dashboard.app import create_app
from data_generator.dashboard.queries import MartsEmpty, WarehouseUnavailable
from data_generator.dashboard.source import WarehouseReader
from data_generator.settings import Engine, Settings
from tests.support.browser import (
    chromium,
    console_errors,
    dashboard_server,
    load_until_charts_drawn,
    needs_chromium,
)
from tests.support.harness import settings_environ
from tests.support.ports import free_port
from tests.support.warehouse import query

pytestmark = pytest.mark.dbt

DAY = date(2026, 11, 24)
# Figures DuckDB computes in double precision (an average, a deviation) agree with PostgreSQL's
# exact numerics far below the cent the page shows.
RELATIVE_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def on_postgres(duckdb_warehouse: Settings) -> Settings:
    return duckdb_warehouse.with_overrides(engine=Engine.POSTGRES)


@pytest.fixture(scope="module")
def on_duckdb(duckdb_warehouse: Settings) -> Settings:
    """The same warehouse read from its DuckDB file, with no PostgreSQL to fall back on."""
    return duckdb_warehouse.with_overrides(engine=Engine.DUCKDB, pg_port=free_port())


def flat(value: object) -> list[object]:
    """Rows, figures and the page as one list of scalars, numbers as floats (Decimal on
    PostgreSQL; Decimal, or float in a figure, on DuckDB)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.astuple(value)
    if hasattr(value, "to_plotly_json"):  # a figure or a component, as the browser gets it
        value = json.loads(json.dumps(value, cls=plotly.utils.PlotlyJSONEncoder))
    if isinstance(value, dict):
        return [item for key in sorted(value) for item in (key, *flat(value[key]))]
    if isinstance(value, tuple | list):
        return [item for element in value for item in flat(element)]
    if isinstance(value, Decimal):
        return [float(value)]
    return [value]


def assert_same(from_duckdb: object, from_postgres: object) -> None:
    """Every number within RELATIVE_TOLERANCE, everything else (text, dates, None) equal."""
    duck, pg = flat(from_duckdb), flat(from_postgres)
    assert len(duck) == len(pg)
    numbers = {i for i, value in enumerate(pg) if _is_number(value)}
    assert [duck[i] for i in sorted(numbers)] == pytest.approx(
        [pg[i] for i in sorted(numbers)], rel=RELATIVE_TOLERANCE
    )
    others = [i for i in range(len(pg)) if i not in numbers]
    assert [duck[i] for i in others] == [pg[i] for i in others]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def page(settings: Settings) -> object:
    """The page's component tree (charts' data included), as the app serves it."""
    return create_app(settings, WarehouseReader(settings)).layout()


# --- the same figures from either engine ----------------------------------------------------


def test_every_figure_on_the_page_is_the_same_from_duckdb(on_postgres, on_duckdb):
    expected = WarehouseReader(on_postgres).overview()
    found = WarehouseReader(on_duckdb).overview()
    assert found.as_of_date == expected.as_of_date == DAY
    assert [stock.symbol for stock in found.stocks] == [stock.symbol for stock in expected.stocks]
    assert found.positions is not None and expected.positions is not None and found.run
    assert found.positions.columns == expected.positions.columns
    for part in ("stocks", "sectors", "activity", "accounts", "positions", "run"):
        assert_same(getattr(found, part), getattr(expected, part))
    assert_same(figures.sector_figure(found.sectors), figures.sector_figure(expected.sectors))
    assert_same(figures.activity_figure(found.activity), figures.activity_figure(expected.activity))


def test_every_symbols_price_history_is_the_same_from_duckdb(on_postgres, on_duckdb):
    overview = WarehouseReader(on_postgres).overview()
    with (
        queries.read_only_marts(on_postgres) as pg,
        queries.read_only_marts(on_duckdb) as duck,
    ):
        for stock in overview.stocks:
            expected = queries.price_history(pg, stock.symbol, overview.first_date, DAY)
            found = queries.price_history(duck, stock.symbol, overview.first_date, DAY)
            assert len(found) == len(expected) > 200, stock.symbol
            assert_same(found, expected)
            assert_same(
                figures.price_figure(stock.symbol, found),
                figures.price_figure(stock.symbol, expected),
            )


def test_the_page_is_the_same_from_duckdb(on_postgres, on_duckdb):
    expected, found = flat(page(on_postgres)), flat(page(on_duckdb))
    assert "Data as of 2026-11-24" in found
    assert_same(found, expected)


# --- the DuckDB file: read-only, and one line when it cannot be read ------------------------


def test_the_duckdb_session_is_read_only(on_duckdb):
    with queries.read_only_marts(on_duckdb) as conn:
        assert isinstance(conn, duckdb.DuckDBPyConnection)
        with pytest.raises(duckdb.Error, match="read-only"):
            conn.execute("create table mart.dashboard_wrote_here (id int)")
    with duckdb.connect(str(on_duckdb.duckdb_file), read_only=True) as check:
        tables = check.execute("select table_name from information_schema.tables").fetchall()
    assert ("dashboard_wrote_here",) not in tables


def test_a_missing_duckdb_file_is_one_line_naming_it(on_duckdb, tmp_path):
    missing = on_duckdb.with_overrides(duckdb_path=tmp_path / "nowhere.duckdb")
    with pytest.raises(WarehouseUnavailable) as raised, queries.read_only_marts(missing):
        pass
    assert str(raised.value) == f"the DuckDB file {tmp_path / 'nowhere.duckdb'} does not exist"
    assert not (tmp_path / "nowhere.duckdb").exists()  # reading never creates it


def test_a_file_that_is_not_duckdb_is_one_line_naming_it(on_duckdb, tmp_path):
    (tmp_path / "notes.duckdb").write_text("these are my notes\n" * 500)
    damaged = on_duckdb.with_overrides(duckdb_path=tmp_path / "notes.duckdb")
    with pytest.raises(WarehouseUnavailable) as raised, queries.read_only_marts(damaged):
        pass
    message = str(raised.value)
    assert message.startswith(f"the DuckDB file {tmp_path / 'notes.duckdb'} cannot be read: ")
    assert "\n" not in message


def test_a_duckdb_file_without_marts_is_reported_as_not_built(on_duckdb, tmp_path):
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    empty = on_duckdb.with_overrides(duckdb_path=tmp_path / "empty.duckdb")
    with queries.read_only_marts(empty) as conn:
        with pytest.raises(MartsEmpty, match="not built yet"):
            queries.stock_figures(conn)
        assert queries.last_run(conn) is None
        assert queries.positions(conn, ("ACC00001",)) is None
    assert (
        f"Nothing to show yet: the marts are not built yet in {tmp_path / 'empty.duckdb'}."
        " Run `fintrade build --engine duckdb` first."
    ) in flat(page(empty))


def test_empty_duckdb_marts_are_reported_as_empty(on_duckdb, tmp_path):
    with duckdb.connect(str(tmp_path / "unfilled.duckdb")) as conn:
        conn.execute(f"attach '{on_duckdb.duckdb_file}' as built (read_only)")
        conn.execute("create schema mart")
        conn.execute(
            "create table mart.mart_stock_performance as"
            " select * from built.mart.mart_stock_performance limit 0"
        )
    unfilled = on_duckdb.with_overrides(duckdb_path=tmp_path / "unfilled.duckdb")
    with queries.read_only_marts(unfilled) as conn, pytest.raises(MartsEmpty, match="no rows"):
        queries.stock_figures(conn)


HOLD_THE_FILE = """
import sys, duckdb
conn = duckdb.connect(sys.argv[1])  # read-write: the file's lock, as a dbt build holds it
print("holding", flush=True)
sys.stdin.read()
"""


def test_a_file_a_build_is_writing_is_one_line_and_a_build_can_start_between_views(
    on_duckdb, tmp_path
):
    copy = on_duckdb.with_overrides(duckdb_path=tmp_path / "copy.duckdb")
    shutil.copy(on_duckdb.duckdb_file, copy.duckdb_file)
    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_FILE, str(copy.duckdb_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "holding\n"
        with pytest.raises(WarehouseUnavailable) as raised, queries.read_only_marts(copy):
            pass
        message = str(raised.value)
        assert message.startswith(f"the DuckDB file {copy.duckdb_file} cannot be read: ")
        assert "lock" in message and "\n" not in message
    finally:
        writer.communicate("")
    # The dashboard holds the file only while it reads: after a view, a writer opens it.
    assert WarehouseReader(copy).overview().as_of_date == DAY
    opened = subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({str(copy.duckdb_file)!r}).close()"],
        capture_output=True,
        text=True,
    )
    assert opened.returncode == 0, opened.stderr


# --- the page in headless Chromium ----------------------------------------------------------

PRICE_TRACE_JS = """
const gd = document.querySelector('#price-chart .js-plotly-plot');
const [close, volume] = gd._fullData;
return {title: gd._fullLayout.title.text, x: close.x, y: close.y, volume: volume.y};
"""


@pytest.mark.browser
@needs_chromium
def test_the_page_shows_the_duckdb_marts(on_postgres, on_duckdb, tmp_path):
    overview = WarehouseReader(on_postgres).overview()
    first = overview.stocks[0]
    with queries.read_only_marts(on_postgres) as conn:
        bars = queries.price_history(conn, first.symbol, overview.default_start, DAY)
    ((sector_count,),) = query(on_postgres, "select count(*) from mart.mart_sector_performance")
    # `--engine duckdb` over FINTRADE_ENGINE=postgres, and no PostgreSQL answering.
    environ = settings_environ(on_duckdb.with_overrides(engine=Engine.POSTGRES))
    with (
        dashboard_server(environ, tmp_path, "--engine", "duckdb") as address,
        chromium() as driver,
    ):
        load_until_charts_drawn(driver, address)
        assert driver.find_element(By.ID, "as-of-date").text == f"Data as of {DAY}"
        assert driver.find_element(By.ID, "run-status").text.startswith(f"Last run {DAY}")
        trace = driver.execute_script(PRICE_TRACE_JS)
        assert trace["title"].startswith(first.symbol)
        assert trace["x"] == [bar.trading_date.isoformat() for bar in bars]
        assert trace["y"] == pytest.approx([float(bar.adjusted_close_price) for bar in bars])
        assert trace["volume"] == [bar.adjusted_market_volume for bar in bars]
        figures_text = driver.find_element(By.ID, "stock-figures").text
        assert f"{first.latest_close_price:,.2f} on {first.latest_price_date}" in figures_text
        sector_bars = driver.execute_script(
            "return document.querySelectorAll('#sector-chart .barlayer .point path').length"
        )
        assert sector_bars == 2 * sector_count
        rows = driver.find_elements(By.CSS_SELECTOR, "#top-accounts tbody tr")
        assert [row.text.split()[0] for row in rows] == [a.account_id for a in overview.accounts]
        assert console_errors(driver) == []
    log = (tmp_path / "dashboard.log").read_text()
    assert f"marts in {on_duckdb.duckdb_file}" in log


@pytest.mark.browser
@needs_chromium
def test_the_page_says_when_the_duckdb_file_is_missing(on_duckdb, tmp_path):
    missing = on_duckdb.with_overrides(duckdb_path=tmp_path / "nowhere.duckdb")
    with (
        dashboard_server(settings_environ(missing), tmp_path) as address,
        chromium() as driver,
    ):
        driver.get(address)
        message = (
            WebDriverWait(driver, 30)
            .until(lambda d: d.find_elements(By.ID, "dashboard-message"))[0]
            .text
        )
        assert message == (
            f"the DuckDB file {tmp_path / 'nowhere.duckdb'} does not exist."
            " Build it with `fintrade build --engine duckdb`, or check FINTRADE_DUCKDB_PATH."
        )
        assert "Traceback" not in driver.page_source
        assert console_errors(driver) == []
