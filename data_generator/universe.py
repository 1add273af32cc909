"""The stock universe: the original fifteen US large caps with their reference data.

Sector drives the synthetic source's start prices and volatilities, so it lives here with the
symbol rather than in the price code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stock:
    symbol: str
    company_name: str
    sector: str
    exchange: str


STOCKS: tuple[Stock, ...] = (
    Stock("AAPL", "Apple Inc.", "Technology", "NASDAQ"),
    Stock("MSFT", "Microsoft Corporation", "Technology", "NASDAQ"),
    Stock("GOOGL", "Alphabet Inc.", "Communication Services", "NASDAQ"),
    Stock("AMZN", "Amazon.com Inc.", "Consumer Discretionary", "NASDAQ"),
    Stock("META", "Meta Platforms Inc.", "Communication Services", "NASDAQ"),
    Stock("NVDA", "NVIDIA Corporation", "Technology", "NASDAQ"),
    Stock("TSLA", "Tesla Inc.", "Consumer Discretionary", "NASDAQ"),
    Stock("JPM", "JPMorgan Chase & Co.", "Financials", "NYSE"),
    Stock("V", "Visa Inc.", "Financials", "NYSE"),
    Stock("JNJ", "Johnson & Johnson", "Health Care", "NYSE"),
    Stock("UNH", "UnitedHealth Group Inc.", "Health Care", "NYSE"),
    Stock("WMT", "Walmart Inc.", "Consumer Staples", "NYSE"),
    Stock("PG", "Procter & Gamble Co.", "Consumer Staples", "NYSE"),
    Stock("XOM", "Exxon Mobil Corporation", "Energy", "NYSE"),
    Stock("HD", "The Home Depot Inc.", "Consumer Discretionary", "NYSE"),
)

_BY_SYMBOL = {stock.symbol: stock for stock in STOCKS}


class UnknownSymbolError(ValueError):
    """A requested symbol is not in the universe."""


def select_stocks(symbols: tuple[str, ...] | None) -> tuple[Stock, ...]:
    """The stocks named by `symbols`, in the order given; all of them when `symbols` is None."""
    if symbols is None:
        return STOCKS
    unknown = [s for s in symbols if s not in _BY_SYMBOL]
    if unknown:
        raise UnknownSymbolError(
            f"not in the universe: {', '.join(unknown)} (known: {', '.join(_BY_SYMBOL)})"
        )
    return tuple(_BY_SYMBOL[s] for s in symbols)


def synthetic_stocks(count: int) -> tuple[Stock, ...]:
    """The universe extended with made-up tickers, for scale work beyond fifteen symbols."""
    if count <= len(STOCKS):
        return STOCKS[:count]
    sectors = sorted({stock.sector for stock in STOCKS})
    extra = tuple(
        Stock(f"SYN{n:04d}", f"Synthetic Holdings {n}", sectors[n % len(sectors)], "NYSE")
        for n in range(1, count - len(STOCKS) + 1)
    )
    return STOCKS + extra
