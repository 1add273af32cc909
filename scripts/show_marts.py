"""Print a few mart rows, the last step of `make demo`: proof the warehouse was built."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_generator.localdev.services import load_run_settings
from data_generator.storage.roles import Role, connect_as

QUERIES = {
    "mart.mart_stock_performance (top 5 by 30-day return)": """
        select symbol, sector, latest_price_date, latest_close_price, return_1d_pct,
               return_30d_pct, total_return_30d_pct, return_ytd_pct, volatility_1y_pct
        from mart.mart_stock_performance
        order by return_30d_pct desc nulls last, symbol
        limit 5
    """,
    "mart.mart_sector_performance": """
        select sector, stock_count, avg_return_30d_pct, avg_volatility_30d_pct,
               total_avg_volume_30d
        from mart.mart_sector_performance
        order by sector
    """,
    "mart.mart_account_summary (top 3 by traded amount)": """
        select account_id, account_type, trade_count, traded_amount, open_position_value,
               cash_balance, dividend_income, realised_pnl, total_equity
        from mart.mart_account_summary
        order by traded_amount desc nulls last, account_id
        limit 3
    """,
}


def print_table(title: str, columns: list[str], rows: list[tuple]) -> None:
    cells = [columns] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print(
            "  " + "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True))
        )
        if n == 0:
            print("  " + "  ".join("-" * width for width in widths))


def main() -> None:
    # Marts only need the analyst, the role that can read nothing else.
    conn = connect_as(load_run_settings(), Role.ANALYST)
    try:
        with conn, conn.cursor() as cur:
            for title, statement in QUERIES.items():
                cur.execute(statement)
                print_table(title, [d.name for d in cur.description or ()], cur.fetchall())
    finally:
        conn.close()


if __name__ == "__main__":
    main()
