"""sql/init.sql: the raw contract, applied as often as any command likes."""

from __future__ import annotations

from data_generator.settings import INIT_SQL
from data_generator.storage.warehouse import apply_schema, connect
from tests.support.harness import apply_init_sql
from tests.support.warehouse import query

RAW_TABLES = {
    "stocks",
    "accounts",
    "orders",
    "trades",
    "daily_prices",
    "rejected_prices",
    "ingest_runs",
    "cash_movements",
    "stock_splits",
    "dividends",
    "rejected_actions",
    "withdrawn_prices",
    "daily_price_totals",
}


def test_init_sql_applied_twice_keeps_schema_and_rows(database):
    conn = connect(database)
    try:
        apply_schema(conn)
        with conn, conn.cursor() as cur:
            cur.execute(
                "insert into raw.stocks (symbol, company_name, sector, exchange) "
                "values ('AAPL', 'Apple Inc.', 'Technology', 'NASDAQ')"
            )
        apply_schema(conn)
    finally:
        conn.close()

    schemas = {r[0] for r in query(database, "select schema_name from information_schema.schemata")}
    assert {"raw", "staging", "core", "mart"} <= schemas
    tables = {
        r[0] for r in query(database, "select tablename from pg_tables where schemaname = 'raw'")
    }
    assert tables == RAW_TABLES
    assert query(database, "select symbol from raw.stocks") == [("AAPL",)]


def test_prices_are_numeric_and_keyed_by_symbol_and_date(database):
    apply_init_sql(database)
    types = dict(
        query(
            database,
            "select column_name, data_type || coalesce('(' || numeric_precision || ',' "
            "|| numeric_scale || ')', '') from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'daily_prices'",
        )
    )
    assert types["close_price"] == "numeric(18,4)"
    assert types["volume"].startswith("bigint")
    assert types["loaded_at"] == "timestamp with time zone"
    key = query(
        database,
        "select array_agg(a.attname order by a.attname) from pg_index i "
        "join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey) "
        "where i.indrelid = 'raw.daily_prices'::regclass and i.indisprimary",
    )
    assert key == [(["price_date", "symbol"],)]
    assert "create table if not exists" in INIT_SQL.read_text()
