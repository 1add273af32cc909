"""One account's positions and P&L from the marts next to a pandas recomputation from raw rows.

    python scripts/show_account.py [ACCOUNT_ID]   # default: the account with the most trades

The recomputation shares no code with dbt: it replays raw.trades in execution order with FIFO
lots counted in post-split shares, and raw.cash_movements and the dividends owed on the shares
held before each ex-date (tests/support/recompute.py) for cash.
"""

from __future__ import annotations

import sys
from collections import deque
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.localdev.services import load_run_settings
from data_generator.storage.warehouse import Cursor, connect
from tests.support.recompute import cents, dividends_owed, read_raw


def read(cur: Cursor, statement: str, params: tuple[object, ...] = ()) -> pd.DataFrame:
    cur.execute(statement, params)
    return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description or ()])


def recompute(
    trades, movements, splits, closes, opening, dividends, as_of
) -> tuple[pd.DataFrame, dict]:
    lots: dict[str, deque] = {}
    realised: dict[str, Fraction] = {}
    for t in trades.itertuples():
        later = [
            s for s in splits.itertuples() if s.symbol == t.symbol and s.effective_date > t.day
        ]
        factor = Fraction(1)
        for split in later:
            factor *= Fraction(split.split_factor)
        shares = t.quantity * factor
        book = lots.setdefault(t.symbol, deque())
        realised.setdefault(t.symbol, Fraction(0))
        if t.trade_type == "buy":
            book.append([shares, Fraction(t.total_amount) / shares])
            continue
        cost = Fraction(0)
        while shares:
            taken = min(book[0][0], shares)
            cost += taken * book[0][1]
            book[0][0] -= taken
            shares -= taken
            if book[0][0] == 0:
                book.popleft()
        realised[t.symbol] += Fraction(t.total_amount) - cost
    rows = []
    for symbol, book in sorted(lots.items()):
        still_to_come = Fraction(1)
        for split in splits.itertuples():
            if split.symbol == symbol and split.effective_date > as_of:
                still_to_come *= Fraction(split.split_factor)
        held = sum((lot[0] for lot in book), Fraction(0)) / still_to_come
        cost = sum((lot[0] * lot[1] for lot in book), Fraction(0))
        close = closes[symbol]
        rows.append(
            {
                "symbol": symbol,
                "quantity": held,
                "cost_basis": cents(cost),
                "market_value": cents(held * Fraction(close)),
                "realised_pnl": cents(realised[symbol]),
            }
        )
    deposits = movements.loc[movements["movement_type"] == "deposit", "amount"].sum()
    withdrawals = movements.loc[movements["movement_type"] == "withdrawal", "amount"].sum()
    bought = trades.loc[trades["trade_type"] == "buy", "total_amount"].sum()
    sold = trades.loc[trades["trade_type"] == "sell", "total_amount"].sum()
    fees = trades["fee_amount"].sum()
    cash = opening + deposits - withdrawals - bought + sold - fees + dividends
    ledger = {
        "opening": opening,
        "deposits": deposits,
        "withdrawals": withdrawals,
        "buys": bought,
        "sells": sold,
        "fees": fees,
        "dividends": dividends,
        "cash": cash,
    }
    return pd.DataFrame(rows), ledger


def main() -> None:
    settings = load_run_settings()
    conn = connect(settings)
    try:
        with conn, conn.cursor() as cur:
            summary = read(cur, "select * from mart.mart_account_summary order by trade_count desc")
            account_id = sys.argv[1] if len(sys.argv) > 1 else summary.iloc[0]["account_id"]
            mine = summary[summary["account_id"] == account_id].iloc[0]
            as_of = mine["as_of_date"]
            trades = read(
                cur,
                """
                select trade_id, symbol, trade_type, quantity, total_amount, fee_amount,
                       (traded_at at time zone 'America/New_York')::date as day
                from raw.trades
                where account_id = %s
                  and (traded_at at time zone 'America/New_York')::date <= %s
                order by traded_at, trade_id
                """,
                (account_id, as_of),
            )
            movements = read(
                cur,
                "select movement_type, amount from raw.cash_movements where account_id = %s"
                " and (moved_at at time zone 'America/New_York')::date <= %s",
                (account_id, as_of),
            )
            splits = read(cur, "select symbol, effective_date, split_factor from raw.stock_splits")
            closes: dict[str, Decimal] = dict(
                read(
                    cur,
                    "select distinct on (symbol) symbol, close_price from raw.daily_prices"
                    " where price_date <= %s order by symbol, price_date desc",
                    (as_of,),
                ).itertuples(index=False)
            )
            positions = read(
                cur,
                "select symbol, quantity, average_cost, cost_basis, market_value, unrealised_pnl,"
                " realised_pnl from mart.mart_positions where account_id = %s and as_of_date = %s"
                " order by symbol",
                (account_id, as_of),
            )
            negative = read(
                cur, "select count(*) as n from mart.mart_positions where quantity < 0"
            ).iloc[0]["n"]
    finally:
        conn.close()

    owed = dividends_owed(read_raw(settings))
    paid = owed.loc[(owed["account_id"] == account_id) & (owed["paid_date"] <= as_of), "cash"]
    expected, ledger = recompute(
        trades, movements, splits, closes, mine["opening_cash"], paid.sum(), as_of
    )
    pd.set_option("display.width", 160)
    print(f"{account_id} ({mine['account_type']}) as of {as_of}, {len(trades)} trades")
    print("\nmart.mart_positions")
    print(positions.to_string(index=False))
    print("\npandas FIFO recomputation from raw.trades")
    expected["quantity"] = expected["quantity"].map(lambda q: f"{float(q):.6f}")
    print(expected.to_string(index=False))
    print("\ncash: mart_account_summary vs raw ledger")
    print(
        f"  mart cash_balance {mine['cash_balance']}  realised_pnl {mine['realised_pnl']}"
        f"  market_value {mine['market_value']}  total_equity {mine['total_equity']}"
        f"  dividend_income {mine['dividend_income']}"
    )
    print(
        "  raw  opening {opening} + deposits {deposits} - withdrawals {withdrawals}"
        " - buys {buys} + sells {sells} - fees {fees} + dividends {dividends}"
        " = {cash}".format(**ledger)
    )
    print(f"\npositions with a negative quantity, all accounts and days: {negative}")


if __name__ == "__main__":
    main()
