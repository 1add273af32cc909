"""The Dash app: one page built from the cached overview, and one callback for the pickers.

The page arrives with every chart already drawn (the layout is a function of the warehouse
at request time), so the first view costs one request and no callback round trip; only
changing the symbol or the date range calls back. Anything the warehouse cannot answer
becomes a one-line message on the page, never a stack trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import flask
import plotly.graph_objects as go
from dash import Dash, Input, Output, dcc, html
from plotly.offline import get_plotlyjs_version

from data_generator.dashboard import figures
from data_generator.dashboard.queries import (
    QUERY_ERRORS,
    MartsEmpty,
    PriceBar,
    RunStatus,
    StockFigures,
    WarehouseUnavailable,
    marts_location,
)
from data_generator.dashboard.source import Overview, WarehouseReader
from data_generator.errors import first_line
from data_generator.settings import Engine, Settings

TITLE = "FinTrade DW"
GRAPH_CONFIG: dcc.Graph.Config = {"displayModeBar": False, "responsive": True}
# Plotly's basic bundle (scatter, bar, pie: all this page draws) from npm (`make setup`), else the
# plotly wheel's full bundle, either way a plain script of the page: the browser fetches and
# compiles it while the app starts instead of after the layout arrives, and dcc.Graph uses the
# `window.Plotly` it defines. The basic bundle is a quarter of the full one's size.
PLOTLY_BASIC_BUNDLE = (
    Path(__file__).parent / "node_modules" / "plotly.js-basic-dist-min" / "plotly-basic.min.js"
)
PLOTLY_BASIC_ROUTE = "/plotly-basic.min.js"
PLOTLY_FULL_BUNDLE_ROUTE = "/_dash-component-suites/plotly/package_data/plotly.min.js"
ONE_YEAR_SECONDS = 365 * 24 * 3600
MARKED_STATUSES = ("failed", "stale")
# What a picker's callback shows as a one-line message in place of the chart.
CALLBACK_ERRORS: tuple[type[Exception], ...] = (WarehouseUnavailable, MartsEmpty, *QUERY_ERRORS)


def create_app(settings: Settings, reader: WarehouseReader) -> Dash:
    app = Dash(
        __name__,
        title=TITLE,
        update_title="",  # no "Updating..." in the tab title
        serve_locally=True,
        external_scripts=[_plotly_script()],
        # The message page (warehouse down, marts empty) has no pickers for the callback.
        suppress_callback_exceptions=True,
    )
    app.layout = lambda: _page(reader, settings)

    @app.server.route(PLOTLY_BASIC_ROUTE)
    def plotly_basic_bundle() -> flask.Response:
        return flask.send_file(
            PLOTLY_BASIC_BUNDLE, mimetype="text/javascript", max_age=ONE_YEAR_SECONDS
        )

    @app.callback(
        Output("price-chart", "figure"),
        Output("stock-figures", "children"),
        Input("symbol-picker", "value"),
        Input("date-range", "start_date"),
        Input("date-range", "end_date"),
        prevent_initial_call=True,
    )
    def update_symbol(symbol: str, start: str, end: str) -> tuple[go.Figure, html.Table | html.Div]:
        try:
            overview = reader.overview()
            bars = reader.price_history(symbol, date.fromisoformat(start), date.fromisoformat(end))
        except CALLBACK_ERRORS as exc:
            return _message_figure(first_line(exc)), _message(first_line(exc))
        return figures.price_figure(symbol, bars), _figures_table(overview.stock(symbol))

    return app


def warm_up(settings: Settings, reader: WarehouseReader) -> None:
    """Build the page once before serving, so the first view is served from the cache. A
    warehouse that is down or unbuilt is left for the page to explain."""
    _page(reader, settings)


def _plotly_script() -> dict[str, str]:
    if PLOTLY_BASIC_BUNDLE.is_file():
        return {"src": f"{PLOTLY_BASIC_ROUTE}?v={get_plotlyjs_version()}"}
    return {"src": PLOTLY_FULL_BUNDLE_ROUTE}


def _page(reader: WarehouseReader, settings: Settings) -> html.Div:
    try:
        overview = reader.overview()
        symbol = overview.stocks[0].symbol
        bars = reader.price_history(symbol, overview.default_start, overview.as_of_date)
    except WarehouseUnavailable as exc:
        return _message_page(f"{exc}. {_how_to_reach(settings)}")
    except MartsEmpty as exc:
        return _message_page(
            f"Nothing to show yet: {exc} in {marts_location(settings)}. {_how_to_build(settings)}"
        )
    except QUERY_ERRORS as exc:
        return _message_page(f"The warehouse refused a query: {first_line(exc)}")
    # The same run gives the same page: build its component tree (and figures) once.
    return reader.cached(("page",), lambda: _data_page(overview, symbol, bars))


def _how_to_reach(settings: Settings) -> str:
    if settings.engine is Engine.DUCKDB:
        return "Build it with `fintrade build --engine duckdb`, or check FINTRADE_DUCKDB_PATH."
    return "Start it with `make services-up`, or check PGHOST/PGPORT."


def _how_to_build(settings: Settings) -> str:
    if settings.engine is Engine.DUCKDB:
        return "Run `fintrade build --engine duckdb` first."
    return "Run `make demo` (or `fintrade run --date D`) first."


def _data_page(overview: Overview, symbol: str, bars: tuple[PriceBar, ...]) -> html.Div:
    return html.Div(
        className="page",
        children=[
            _header(overview),
            html.Section(
                className="card",
                children=[
                    html.H2("Prices"),
                    html.Div(
                        className="pickers",
                        children=[
                            dcc.Dropdown(
                                id="symbol-picker",
                                options=_symbol_options(overview),
                                value=symbol,
                                clearable=False,
                                maxHeight=600,
                            ),
                            dcc.DatePickerRange(
                                id="date-range",
                                min_date_allowed=overview.first_date.isoformat(),
                                max_date_allowed=overview.as_of_date.isoformat(),
                                start_date=overview.default_start.isoformat(),
                                end_date=overview.as_of_date.isoformat(),
                                display_format="YYYY-MM-DD",
                            ),
                        ],
                    ),
                    dcc.Graph(
                        id="price-chart",
                        figure=figures.price_figure(symbol, bars),
                        config=GRAPH_CONFIG,
                    ),
                    html.Div(id="stock-figures", children=_figures_table(overview.stock(symbol))),
                ],
            ),
            html.Div(
                className="row",
                children=[
                    html.Section(
                        className="card half",
                        children=[
                            dcc.Graph(
                                id="sector-chart",
                                figure=figures.sector_figure(overview.sectors),
                                config=GRAPH_CONFIG,
                            )
                        ],
                    ),
                    html.Section(
                        className="card half",
                        children=[
                            dcc.Graph(
                                id="activity-chart",
                                figure=figures.activity_figure(overview.activity),
                                config=GRAPH_CONFIG,
                            )
                        ],
                    ),
                ],
            ),
            _accounts(overview),
        ],
    )


def _header(overview: Overview) -> html.Header:
    return html.Header(
        className="header",
        children=[
            html.H1(TITLE),
            html.Div(
                id="as-of-date",
                className="as-of",
                children=f"Data as of {overview.as_of_date.isoformat()}",
            ),
            _run_status(overview.run),
        ],
    )


def _run_status(run: RunStatus | None) -> html.Div:
    if run is None:
        return html.Div(id="run-status", className="run unknown", children="Last run: unknown")
    failed, stale = run.with_status("failed"), run.with_status("stale")
    state = "failed" if failed else "stale" if stale else "ok"
    finished = run.finished_at.strftime("%Y-%m-%d %H:%M UTC") if run.finished_at else "unfinished"
    counts = ", ".join(
        f"{len(run.with_status(status))} {status}"
        for status in ("loaded", "stale", "failed")
        if run.with_status(status)
    )
    marks = [
        html.Span(
            f"{symbol_run.symbol} {symbol_run.status}",
            className=f"mark {symbol_run.status}",
            title=symbol_run.error or symbol_run.status,
        )
        for symbol_run in (*failed, *stale)
    ]
    return html.Div(
        id="run-status",
        className=f"run {state}",
        children=[
            html.Span(f"Last run {run.logical_date.isoformat()} ({finished}): {counts}"),
            *marks,
        ],
    )


def _symbol_options(overview: Overview) -> list[dict[str, str]]:
    marked = {
        symbol_run.symbol: symbol_run.status
        for symbol_run in (overview.run.symbols if overview.run else ())
        if symbol_run.status in MARKED_STATUSES
    }
    return [
        {
            "label": f"{stock.symbol} · {stock.company_name}"
            + (f" ({marked[stock.symbol]})" if stock.symbol in marked else ""),
            "value": stock.symbol,
        }
        for stock in overview.stocks
    ]


def _percent(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:+.2f} %"


def _plain_percent(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:.2f} %"


def _price(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


def _figures_table(stock: StockFigures | None) -> html.Table | html.Div:
    if stock is None:
        return _message("This symbol has no figures in the marts.")
    cells = [
        ("Company", f"{stock.company_name} ({stock.sector})"),
        ("Last close", f"{_price(stock.latest_close_price)} on {stock.latest_price_date}"),
        ("1-day return", _percent(stock.return_1d_pct)),
        ("30-day return", _percent(stock.return_30d_pct)),
        ("Year to date", _percent(stock.return_ytd_pct)),
        ("52-week high / low", f"{_price(stock.high_52w_price)} / {_price(stock.low_52w_price)}"),
        (
            "Volatility 1y / 30d",
            f"{_plain_percent(stock.volatility_1y_pct)} / "
            f"{_plain_percent(stock.volatility_30d_pct)}",
        ),
        (
            "Avg volume 30d",
            "n/a" if stock.avg_volume_30d is None else f"{stock.avg_volume_30d:,.0f}",
        ),
    ]
    return html.Table(
        className="figures",
        children=[html.Tr([html.Th(name), html.Td(value)]) for name, value in cells],
    )


def _accounts(overview: Overview) -> html.Section:
    header = ("Account", "Type", "Balance", "Trades", "Traded amount", "Open position value")
    rows = [
        (
            account.account_id,
            account.account_type,
            _price(account.balance),
            str(account.trade_count),
            _price(account.traded_amount),
            _price(account.open_position_value),
        )
        for account in overview.accounts
    ]
    children: list = [html.H2("Top accounts"), _table("top-accounts", header, rows)]
    if overview.positions is not None:
        children += [
            html.H3("Their positions"),
            _table(
                "positions",
                overview.positions.columns,
                [tuple(_cell(value) for value in row) for row in overview.positions.rows],
            ),
        ]
    return html.Section(className="card", children=children)


def _cell(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


def _table(table_id: str, header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> html.Table:
    return html.Table(
        id=table_id,
        className="data",
        children=[
            html.Thead(html.Tr([html.Th(name) for name in header])),
            html.Tbody([html.Tr([html.Td(value) for value in row]) for row in rows]),
        ],
    )


def _message(text: str) -> html.Div:
    return html.Div(className="message", children=text)


def _message_page(text: str) -> html.Div:
    return html.Div(
        className="page",
        children=[
            html.Header(className="header", children=[html.H1(TITLE)]),
            html.Div(id="dashboard-message", className="message error", children=text),
        ],
    )


def _message_figure(text: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_layout(xaxis={"visible": False}, yaxis={"visible": False})
    return figure
