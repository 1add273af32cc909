"""The dashboard on pipeline-made data: its query layer on the real PostgreSQL, and the page in
headless Chromium, as a person would look at it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
import psycopg2
import pytest
from plotly.offline import get_plotlyjs_version
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from data_generator.dashboard import queries
from data_generator.dashboard.queries import MartsEmpty, WarehouseUnavailable
from data_generator.dashboard.source import WarehouseReader
from data_generator.settings import Settings
from data_generator.steps import transform
from data_generator.storage.ingest_runs import IngestRun, RunStatus, record_ingest_run
from data_generator.storage.warehouse import connect
from tests.support.browser import (
    chromium,
    console_errors,
    dashboard_server,
    load_until_charts_drawn,
    needs_chromium,
)
from tests.support.harness import apply_init_sql, load_day, scratch_warehouse, settings_environ
from tests.support.ports import free_port
from tests.support.warehouse import query

pytestmark = pytest.mark.dbt

DAY = date(2026, 11, 24)
FAILED_ERROR = "daily API limit reached"


@pytest.fixture(scope="module")
def warehouse(base_settings, s3_server, tmp_path_factory) -> Iterator[Settings]:
    """`fintrade init` on the synthetic source, the pipeline's record of a later failed attempt
    for one symbol and a stale reply for another on the same day, then `dbt build`."""
    with scratch_warehouse(base_settings, s3_server, tmp_path_factory.mktemp("state")) as settings:
        load_day(settings, DAY)
        symbols = [row[0] for row in query(settings, "select symbol from raw.stocks order by 1")]
        conn = connect(settings)
        try:
            for symbol, status, error in (
                (symbols[-1], RunStatus.FAILED, FAILED_ERROR),
                (symbols[-2], RunStatus.STALE, None),
            ):
                record_ingest_run(
                    conn,
                    IngestRun(DAY, symbol, "synthetic", status, datetime.now(UTC), error=error),
                )
        finally:
            conn.close()
        transform.build(settings)
        yield settings


def stock_symbols(settings: Settings) -> list[str]:
    return [row[0] for row in query(settings, "select symbol from raw.stocks order by 1")]


SPLIT_SYMBOL, SPLIT_DAY = "NVDA", date(2026, 6, 10)  # the synthetic source's 10:1 split


def split_adjusted_bars(settings: Settings, symbol: str) -> pd.DataFrame:
    """The symbol's raw bars in today's shares, computed here from raw.stock_splits: prices
    divided by, volumes multiplied by, the product of the factors of every later split."""
    bars = pd.DataFrame(
        query(
            settings,
            "select price_date, close_price, volume from raw.daily_prices where symbol = %s"
            " order by price_date",
            (symbol,),
        ),
        columns=["price_date", "close", "volume"],
    ).astype({"close": float})
    splits = query(
        settings,
        "select effective_date, split_factor from raw.stock_splits where symbol = %s",
        (symbol,),
    )
    factor = bars["price_date"].map(
        lambda day: math.prod(float(f) for effective, f in splits if effective > day)
    )
    bars["adjusted_close"] = bars["close"] / factor
    bars["adjusted_volume"] = (bars["volume"] * factor).round().astype("int64")
    return bars.set_index(bars["price_date"].map(date.isoformat))


# --- the query layer on the real PostgreSQL -------------------------------------------------


def test_the_session_is_read_only(warehouse):
    with queries.read_only_connection(warehouse) as conn, conn.cursor() as cur:
        cur.execute("show default_transaction_read_only")
        assert cur.fetchone() == ("on",)
        with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
            cur.execute("create table public.dashboard_wrote_here (id int)")
    assert query(warehouse, "select to_regclass('public.dashboard_wrote_here')") == [(None,)]


def test_the_dashboard_login_is_its_own_setting(warehouse):
    stranger = warehouse.with_overrides(dashboard_pg_user="no_such_dashboard_role")
    with (
        pytest.raises(WarehouseUnavailable, match="no_such_dashboard_role"),
        queries.read_only_connection(stranger),
    ):
        pass


def test_stock_figures_are_the_marts_rows_for_every_symbol(warehouse):
    with queries.read_only_connection(warehouse) as conn:
        stocks = queries.stock_figures(conn)
    assert [stock.symbol for stock in stocks] == stock_symbols(warehouse)
    latest = dict(
        query(
            warehouse,
            "select distinct on (symbol) symbol, close_price from raw.daily_prices"
            " order by symbol, price_date desc",
        )
    )
    assert {stock.symbol: stock.latest_close_price for stock in stocks} == latest
    assert {stock.as_of_date for stock in stocks} == {DAY}


def test_price_history_is_the_symbols_bars_in_the_range_as_traded_and_split_adjusted(warehouse):
    symbol, start = SPLIT_SYMBOL, date(2026, 6, 1)
    with queries.read_only_connection(warehouse) as conn:
        bars = queries.price_history(conn, symbol, start, DAY)
    raw = query(
        warehouse,
        "select price_date, close_price, volume from raw.daily_prices"
        " where symbol = %s and price_date between %s and %s order by price_date",
        (symbol, start, DAY),
    )
    assert len(bars) > 100
    assert [(bar.trading_date, bar.close_price, bar.market_volume) for bar in bars] == raw
    expected = split_adjusted_bars(warehouse, symbol).loc[[d.isoformat() for d, _, _ in raw]]
    adjusted = [float(bar.adjusted_close_price) for bar in bars if bar.adjusted_close_price]
    assert adjusted == pytest.approx(expected["adjusted_close"].tolist(), abs=1e-6)
    assert [bar.adjusted_market_volume for bar in bars] == expected["adjusted_volume"].tolist()
    assert SPLIT_DAY in {bar.trading_date for bar in bars}


def test_trading_activity_equals_a_pandas_count_of_the_raw_trades(warehouse):
    with queries.read_only_connection(warehouse) as conn:
        days = queries.trading_activity(conn)
    trades = pd.DataFrame(
        query(warehouse, "select traded_at, total_amount from raw.trades"),
        columns=["traded_at", "total_amount"],
    )
    trades["trading_date"] = pd.to_datetime(trades["traded_at"], utc=True).dt.date
    expected = trades.groupby("trading_date").agg(
        trade_count=("total_amount", "size"), traded_amount=("total_amount", "sum")
    )
    expected = expected[expected.index <= DAY]
    found = {day.trading_date: (day.trade_count, day.traded_amount) for day in days}
    assert set(found) >= set(expected.index)
    for trading_date, row in expected.iterrows():
        assert found[trading_date] == (row["trade_count"], row["traded_amount"]), trading_date


def test_top_accounts_are_the_largest_open_positions(warehouse):
    with queries.read_only_connection(warehouse) as conn:
        accounts = queries.top_accounts(conn, limit=5)
        positions = queries.positions(conn, tuple(account.account_id for account in accounts))
    summary = pd.DataFrame(
        query(warehouse, "select account_id, open_position_value from mart.mart_account_summary"),
        columns=["account_id", "open_position_value"],
    )
    largest = summary.sort_values("open_position_value", ascending=False).head(5)
    assert [account.open_position_value for account in accounts] == list(
        largest["open_position_value"]
    )
    as_of = query(warehouse, "select max(as_of_date) from mart.mart_positions")[0][0]
    held = pd.DataFrame(
        query(
            warehouse,
            "select account_id, symbol, quantity, market_value from mart.mart_positions "
            "where as_of_date = %s",
            (as_of,),
        ),
        columns=["account_id", "symbol", "quantity", "market_value"],
    )
    held = held[held["account_id"].isin(largest["account_id"]) & (held["quantity"] != 0)]
    assert positions is not None
    assert positions.columns[:3] == ("account_id", "symbol", "quantity")
    shown = {(row[0], row[1]): (row[2], row[5]) for row in positions.rows}
    assert shown == {
        (row.account_id, row.symbol): (row.quantity, row.market_value) for row in held.itertuples()
    }


def test_positions_are_the_open_ones_at_the_as_of_date(database):
    _hand_made_marts(
        database,
        "create table mart.mart_positions (account_id text, symbol text, as_of_date date,"
        " quantity numeric, average_cost numeric, close_price numeric, market_value numeric,"
        " unrealised_pnl numeric, realised_pnl numeric);"
        "insert into mart.mart_positions values"
        " ('ACC00001', 'AAPL', '2026-11-23', 4, 1, 2, 8, 4, 0),"
        " ('ACC00001', 'AAPL', '2026-11-24', 10, 1, 2, 20, 10, 0),"
        " ('ACC00001', 'MSFT', '2026-11-24', 5, 1, 3, 15, 10, 0),"
        " ('ACC00001', 'KO', '2026-11-24', 0, null, 3, 0, 0, 7),"
        " ('ACC00002', 'KO', '2026-11-24', 7, 1, 1, 7, 0, 0);",
    )
    with queries.read_only_connection(database) as conn:
        positions = queries.positions(conn, ("ACC00001",))
    assert positions is not None
    assert [row[:3] for row in positions.rows] == [
        ("ACC00001", "AAPL", Decimal(10)),
        ("ACC00001", "MSFT", Decimal(5)),
    ]


def test_last_run_marks_the_failed_and_stale_symbols(warehouse):
    symbols = stock_symbols(warehouse)
    with queries.read_only_connection(warehouse) as conn:
        run = queries.last_run(conn)
    assert run is not None and run.logical_date == DAY
    assert [(r.symbol, r.error) for r in run.with_status("failed")] == [(symbols[-1], FAILED_ERROR)]
    assert [r.symbol for r in run.with_status("stale")] == [symbols[-2]]
    assert len(run.with_status("loaded")) == len(symbols) - 2


def test_a_warehouse_without_marts_is_reported_as_not_built(database):
    apply_init_sql(database)
    with queries.read_only_connection(database) as conn:
        with pytest.raises(MartsEmpty, match="not built yet"):
            queries.stock_figures(conn)
        assert queries.last_run(conn) is None


def _hand_made_marts(database: Settings, statements: str) -> None:
    """Mart tables made by hand (as the superuser), readable by the analyst the dashboard logs
    in as, as dbt's own marts are."""
    apply_init_sql(database)
    with psycopg2.connect(**_libpq(database)) as conn, conn.cursor() as cur:
        cur.execute(statements)
        cur.execute("grant select on all tables in schema mart to fintrade_analyst")


def test_empty_marts_are_reported_as_empty(database):
    _hand_made_marts(
        database,
        "create table mart.mart_stock_performance"
        " (symbol text, company_name text, sector text, as_of_date date,"
        " latest_price_date date, latest_close_price numeric, return_1d_pct numeric,"
        " return_30d_pct numeric, return_ytd_pct numeric, high_52w_price numeric,"
        " low_52w_price numeric, volatility_1y_pct numeric, volatility_30d_pct numeric,"
        " avg_volume_30d numeric)",
    )
    with queries.read_only_connection(database) as conn, pytest.raises(MartsEmpty, match="no rows"):
        queries.stock_figures(conn)


def test_a_warehouse_that_is_down_is_one_line_without_the_password(base_settings):
    down = base_settings.with_overrides(pg_port=free_port(), dashboard_pg_password="s3cret-pw")
    with pytest.raises(WarehouseUnavailable) as raised, queries.read_only_connection(down):
        pass
    message = str(raised.value)
    assert f"127.0.0.1:{down.pg_port}/{down.pg_database} does not answer" in message
    assert "\n" not in message and "s3cret-pw" not in message


def test_the_cache_holds_until_the_pipeline_runs_again(warehouse):
    """The key is the last run as the marts saw it: a new run and its build refresh it."""
    reader = WarehouseReader(warehouse)
    first = reader.overview()
    assert reader.overview() is first
    conn = connect(warehouse)
    try:
        record_ingest_run(
            conn,
            IngestRun(
                DAY, first.stocks[0].symbol, "synthetic", RunStatus.LOADED, datetime.now(UTC)
            ),
        )
    finally:
        conn.close()
    transform.build(warehouse, select="mart_ingest_status")
    again = reader.overview()
    assert again is not first
    assert again.run is not None and first.run is not None
    assert again.run.finished_at > first.run.finished_at
    assert again.stocks == first.stocks  # a rerun that loaded nothing new changes no figure


def _libpq(settings: Settings) -> dict[str, object]:
    return {
        "host": settings.pg_host,
        "port": settings.pg_port,
        "user": settings.pg_user,
        "password": settings.pg_password,
        "dbname": settings.pg_database,
    }


# --- the page in headless Chromium ----------------------------------------------------------

# Each bar trace's drawn bars; a sector chart has one trace per figure (return, volatility).
BARS_PER_TRACE_JS = """
const gd = document.querySelector('#sector-chart .js-plotly-plot');
return Array.from(gd.querySelectorAll('.barlayer .trace'))
    .map(trace => trace.querySelectorAll('.point path').length);
"""
PRICE_TRACE_JS = """
const gd = document.querySelector('#price-chart .js-plotly-plot');
const [close, volume] = gd._fullData;
return {title: gd._fullLayout.title.text, x: close.x, y: close.y, volume: volume.y,
        drawn: gd.querySelectorAll('.scatterlayer .trace path.js-line').length};
"""
# What the hover box says over the close line at a point, as a pointer resting there shows it.
PRICE_HOVER_JS = """
const gd = document.querySelector('#price-chart .js-plotly-plot');
Plotly.Fx.hover(gd, [{curveNumber: 0, pointNumber: arguments[0]}]);
return Array.from(gd.querySelectorAll('.hoverlayer .hovertext')).map(t => t.textContent);
"""


def hover_text(driver, point: int, day: str) -> str:
    """The price chart's hover box over the close at `point`, once it shows that day (Plotly
    throttles hover events, so a box may still show the previous point for a moment)."""
    return WebDriverWait(driver, 10).until(
        lambda d: next(
            (text for text in d.execute_script(PRICE_HOVER_JS, point) if day in text), None
        )
    )


@pytest.mark.browser
@needs_chromium
def test_the_page_shows_the_marts(warehouse, tmp_path):
    symbols = stock_symbols(warehouse)
    chosen = SPLIT_SYMBOL
    assert chosen != symbols[0]  # the page opens on the first: picking it changes the chart
    ((as_of,),) = query(warehouse, "select max(as_of_date) from mart.mart_stock_performance")
    ((sector_count,),) = query(warehouse, "select count(*) from mart.mart_sector_performance")
    ((latest_date, latest_close),) = query(
        warehouse,
        "select latest_price_date, latest_close_price from mart.mart_stock_performance"
        " where symbol = %s",
        (chosen,),
    )
    with dashboard_server(settings_environ(warehouse), tmp_path) as address, chromium() as driver:
        load_until_charts_drawn(driver, address)

        assert driver.find_element(By.ID, "as-of-date").text == f"Data as of {as_of}"
        status = driver.find_element(By.ID, "run-status").text
        assert f"{symbols[-1]} failed" in status and f"{symbols[-2]} stale" in status

        driver.find_element(By.ID, "symbol-picker").click()
        options = driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option")
        values = [
            option.find_element(By.TAG_NAME, "input").get_attribute("value") for option in options
        ]
        assert values == symbols
        labels = {value: option.text for value, option in zip(values, options, strict=True)}
        assert labels[symbols[-1]].endswith("(failed)")
        next(
            option for value, option in zip(values, options, strict=True) if value == chosen
        ).click()

        WebDriverWait(driver, 30).until(
            lambda d: d.execute_script(PRICE_TRACE_JS)["title"].startswith(chosen)
        )
        trace = driver.execute_script(PRICE_TRACE_JS)
        assert trace["drawn"] == 1 and len(trace["y"]) > 200
        assert trace["x"][-1] == latest_date.isoformat()
        assert trace["y"][-1] == float(latest_close)
        # Split-adjusted, as charting tools plot history: the 10:1 split is no fall.
        split_at = trace["x"].index(SPLIT_DAY.isoformat())
        closes = pd.Series(trace["y"], index=trace["x"], dtype=float)
        assert split_at > 0 and closes.notna().all()
        assert closes.pct_change().abs().max() < 0.5
        expected = split_adjusted_bars(warehouse, chosen).loc[trace["x"]]
        assert closes.to_numpy() == pytest.approx(expected["adjusted_close"].to_numpy(), abs=1e-6)
        assert trace["volume"] == expected["adjusted_volume"].tolist()
        traded = expected["close"].iloc[[split_at - 1, split_at]]
        for day, close in traded.items():
            assert f"as traded {close:,.2f}" in hover_text(driver, trace["x"].index(day), day)
        assert traded.iloc[0] / traded.iloc[1] == pytest.approx(10, rel=0.15)
        figures = driver.find_element(By.ID, "stock-figures").text
        assert f"{latest_close:,.2f} on {latest_date}" in figures

        assert driver.execute_script(BARS_PER_TRACE_JS) == [sector_count, sector_count]
        # The page's Plotly (npm's basic bundle, else the wheel's) is the one figures target.
        assert driver.execute_script("return window.Plotly.version") == get_plotlyjs_version()
        driver.save_screenshot(str(tmp_path / "dashboard.png"))
        assert (tmp_path / "dashboard.png").stat().st_size > 10_000
        assert console_errors(driver) == []


@pytest.mark.browser
@needs_chromium
def test_the_page_says_when_the_marts_are_not_built(database, tmp_path):
    with dashboard_server(settings_environ(database), tmp_path) as address, chromium() as driver:
        driver.get(address)
        message = (
            WebDriverWait(driver, 30)
            .until(lambda d: d.find_elements(By.ID, "dashboard-message"))[0]
            .text
        )
        assert message.startswith("Nothing to show yet: the marts are not built yet")
        assert "make demo" in message
        assert console_errors(driver) == []


@pytest.mark.browser
@needs_chromium
def test_the_page_says_when_the_warehouse_is_down(base_settings, tmp_path):
    down = base_settings.with_overrides(pg_port=free_port())
    with dashboard_server(settings_environ(down), tmp_path) as address, chromium() as driver:
        driver.get(address)
        message = (
            WebDriverWait(driver, 30)
            .until(lambda d: d.find_elements(By.ID, "dashboard-message"))[0]
            .text
        )
        assert f"127.0.0.1:{down.pg_port}/{down.pg_database} does not answer" in message
        assert "Traceback" not in driver.page_source
        assert console_errors(driver) == []
