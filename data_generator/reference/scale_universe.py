"""A universe file of any size for scale runs: `FINTRADE_UNIVERSE_FILE` pointed at its output.

The first stocks are the default file's own, then made-up tickers (`SYN0001`, ...) spread over its
sectors in turn, so the same count always gives the same file and the synthetic source can draw
every symbol from a sector profile. Usage:

    python -m data_generator.reference.scale_universe --symbols 5000 --out .local/universe-5000.csv
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

from data_generator.reference.universe import COLUMNS, Stock, synthetic_stocks
from data_generator.settings import UNIVERSE_FILE


def universe_csv(stocks: tuple[Stock, ...]) -> str:
    """The stocks in the universe file's format (header, one line each, quoted where needed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(
        (stock.symbol, stock.company_name, stock.sector, stock.exchange, stock.currency)
        for stock in stocks
    )
    return buffer.getvalue()


def write_universe(path: Path, count: int, base_file: Path = UNIVERSE_FILE) -> tuple[Stock, ...]:
    """Write a universe of `count` stocks to `path` and return them."""
    if count < 1:
        raise ValueError(f"a universe needs at least 1 symbol, got {count}")
    stocks = synthetic_stocks(count, base_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(universe_csv(stocks), encoding="utf-8")
    return stocks


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, required=True, help="how many stocks")
    parser.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    args = parser.parse_args(argv)
    try:
        stocks = write_universe(args.out, args.symbols)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"{args.out}: {len(stocks)} stocks")


if __name__ == "__main__":
    main()
