"""The stock universe: reference data read from one CSV file a user edits.

The file (default `data_generator/reference/stocks.csv`, the original fifteen US large caps;
`FINTRADE_UNIVERSE_FILE` names another) is the only list of stocks: a line added there is
ingested from the next run on, and a line removed leaves the stock's history in the warehouse,
marked inactive. A bad line stops the run before anything is written, with one message naming
the file and the line, because a half-read universe would silently drop stocks.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from data_generator.errors import FintradeError
from data_generator.settings import UNIVERSE_FILE

COLUMNS: tuple[str, ...] = ("symbol", "company_name", "sector", "exchange", "currency")
_TICKER = re.compile(r"[A-Z][A-Z0-9.\-]{0,11}")
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class Stock:
    symbol: str
    company_name: str
    sector: str
    exchange: str
    currency: str = "USD"


class UniverseFileError(FintradeError, ValueError):
    """The universe file cannot be used; the message is `<file>:<line>: <what is wrong>`."""


class UnknownSymbolError(FintradeError, ValueError):
    """A requested symbol is not in the universe."""


def _stock_from_row(path: Path, line: int, row: list[str]) -> Stock:
    if len(row) != len(COLUMNS):
        raise UniverseFileError(
            f"{path}:{line}: expected {len(COLUMNS)} fields ({','.join(COLUMNS)}), got {len(row)}"
        )
    values = dict(zip(COLUMNS, (cell.strip() for cell in row), strict=True))
    for column, value in values.items():
        if not value:
            raise UniverseFileError(f"{path}:{line}: empty {column}")
    symbol, currency = values["symbol"].upper(), values["currency"].upper()
    if not _TICKER.fullmatch(symbol):
        raise UniverseFileError(
            f"{path}:{line}: symbol {values['symbol']!r} is not a ticker "
            "(a letter, then letters, digits, '.' or '-'; at most 12)"
        )
    if not _CURRENCY.fullmatch(currency):
        raise UniverseFileError(
            f"{path}:{line}: currency {values['currency']!r} is not a three-letter ISO 4217 code"
        )
    return Stock(symbol, values["company_name"], values["sector"], values["exchange"], currency)


def load_universe(path: Path = UNIVERSE_FILE) -> tuple[Stock, ...]:
    """Every stock of the file, in file order; raises UniverseFileError on the first bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UniverseFileError(f"{path}: no such universe file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UniverseFileError(f"{path}: cannot be read ({exc})") from None
    reader = csv.reader(text.splitlines())
    stocks: list[Stock] = []
    first_line: dict[str, int] = {}
    try:
        header = next(reader, None)
        if header is None or tuple(cell.strip() for cell in header) != COLUMNS:
            raise UniverseFileError(f"{path}:1: the header must be {','.join(COLUMNS)}")
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            stock = _stock_from_row(path, reader.line_num, row)
            if stock.symbol in first_line:
                raise UniverseFileError(
                    f"{path}:{reader.line_num}: duplicate symbol {stock.symbol} "
                    f"(first on line {first_line[stock.symbol]})"
                )
            first_line[stock.symbol] = reader.line_num
            stocks.append(stock)
    except csv.Error as exc:
        raise UniverseFileError(f"{path}:{reader.line_num}: {exc}") from None
    if not stocks:
        raise UniverseFileError(f"{path}: lists no stocks")
    return tuple(stocks)


def select_stocks(
    symbols: tuple[str, ...] | None, universe_file: Path = UNIVERSE_FILE
) -> tuple[Stock, ...]:
    """The stocks named by `symbols`, in the order given; all of the file when `symbols` is None."""
    universe = load_universe(universe_file)
    if symbols is None:
        return universe
    by_symbol = {stock.symbol: stock for stock in universe}
    unknown = [s for s in symbols if s not in by_symbol]
    if unknown:
        raise UnknownSymbolError(
            f"not in the universe: {', '.join(unknown)} (add a line to {universe_file}; "
            f"known: {', '.join(by_symbol)})"
        )
    return tuple(by_symbol[s] for s in symbols)


def synthetic_stocks(count: int, universe_file: Path = UNIVERSE_FILE) -> tuple[Stock, ...]:
    """The universe extended with made-up tickers, for scale work beyond the file's stocks."""
    universe = load_universe(universe_file)
    if count <= len(universe):
        return universe[:count]
    sectors = sorted({stock.sector for stock in universe})
    extra = tuple(
        Stock(f"SYN{n:04d}", f"Synthetic Holdings {n}", sectors[n % len(sectors)], "NYSE")
        for n in range(1, count - len(universe) + 1)
    )
    return universe + extra
