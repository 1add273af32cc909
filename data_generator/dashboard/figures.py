"""Plotly figures from the query layer's rows: pure functions, so they are tested without a
browser or a database."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from data_generator.dashboard.queries import PriceBar, SectorFigures, TradingDay

PRICE_COLOUR = "#1f77b4"
VOLUME_COLOUR = "#9aa5b1"
RETURN_COLOUR = "#2a9d8f"
VOLATILITY_COLOUR = "#e76f51"
MARGINS = {"l": 50, "r": 20, "t": 40, "b": 30}


def _number(value: Decimal | int | None) -> float | None:
    return None if value is None else float(value)


def price_figure(symbol: str, bars: Sequence[PriceBar]) -> go.Figure:
    """Split-adjusted close over split-adjusted volume, one shared date axis, as charting tools
    show history: a split is no fall. The as-traded figures are in each point's hover; a day
    without prices (None) is a gap, never a zero."""
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.04
    )
    dates = [bar.trading_date.isoformat() for bar in bars]
    figure.add_trace(
        go.Scatter(
            x=dates,
            y=[_number(bar.adjusted_close_price) for bar in bars],
            customdata=[_number(bar.close_price) for bar in bars],
            name=f"{symbol} close",
            mode="lines",
            line={"color": PRICE_COLOUR, "width": 2},
            hovertemplate=(
                "%{x|%Y-%m-%d}<br>close %{y:,.2f} (split-adjusted)"
                "<br>as traded %{customdata:,.2f}<extra></extra>"
            ),
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Bar(
            x=dates,
            y=[bar.adjusted_market_volume for bar in bars],
            customdata=[bar.market_volume for bar in bars],
            name="volume",
            marker_color=VOLUME_COLOUR,
            hovertemplate=(
                "%{x|%Y-%m-%d}<br>volume %{y:,} (split-adjusted)"
                "<br>as traded %{customdata:,}<extra></extra>"
            ),
        ),
        row=2,
        col=1,
    )
    figure.update_yaxes(title_text="close (split-adjusted)", row=1, col=1)
    figure.update_yaxes(title_text="volume (split-adjusted)", row=2, col=1)
    figure.update_layout(
        title=f"{symbol}: split-adjusted close and volume",
        showlegend=False,
        margin=MARGINS,
        height=420,
    )
    return figure


def sector_figure(sectors: Sequence[SectorFigures]) -> go.Figure:
    """30-day return and 30-day volatility side by side, one pair of bars per sector; the bars
    run across so the sector names stay readable."""
    names = [sector.sector for sector in sectors]
    figure = go.Figure(
        [
            go.Bar(
                y=names,
                x=[_number(sector.avg_return_30d_pct) for sector in sectors],
                name="avg 30-day return %",
                orientation="h",
                marker_color=RETURN_COLOUR,
            ),
            go.Bar(
                y=names,
                x=[_number(sector.avg_volatility_30d_pct) for sector in sectors],
                name="avg 30-day volatility % (annualised)",
                orientation="h",
                marker_color=VOLATILITY_COLOUR,
            ),
        ]
    )
    figure.update_yaxes(autorange="reversed", automargin=True)
    figure.update_layout(
        title="Sectors: return and volatility",
        barmode="group",
        margin=MARGINS,
        height=360,
        legend={"orientation": "h", "y": -0.12},
    )
    return figure


def activity_figure(days: Sequence[TradingDay]) -> go.Figure:
    """Traded amount per day (a filled area: one shape however many years, where bars would be
    a thousand) with the number of trades (line) on its own axis."""
    dates = [day.trading_date.isoformat() for day in days]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(
        go.Scatter(
            x=dates,
            y=[_number(day.traded_amount) for day in days],
            name="traded amount",
            mode="lines",
            fill="tozeroy",
            line={"color": PRICE_COLOUR, "width": 1},
        ),
        secondary_y=False,
    )
    figure.add_trace(
        go.Scatter(
            x=dates,
            y=[day.trade_count for day in days],
            name="trades",
            mode="lines",
            line={"color": VOLATILITY_COLOUR},
        ),
        secondary_y=True,
    )
    figure.update_yaxes(title_text="traded amount", rangemode="tozero", secondary_y=False)
    figure.update_yaxes(title_text="trades", rangemode="tozero", secondary_y=True)
    figure.update_layout(
        title="Daily trading activity",
        margin=MARGINS,
        height=360,
        legend={"orientation": "h", "y": -0.2},
    )
    return figure
