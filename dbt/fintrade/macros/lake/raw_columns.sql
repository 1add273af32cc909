{#- The raw tables as sql/init.sql declares them on PostgreSQL, column by column in its order,
    with the types DuckDB gives them (the same names where DuckDB has them; jsonb is json): the
    DuckDB build makes its raw schema to this, so every model reads the columns it reads on
    PostgreSQL. A column added to init.sql is added here; the raw parity test
    (tests/integration/test_duckdb_lake.py) compares the two. -#}
{% macro raw_columns() %}
    {{- return({
        'stocks': [
            ['symbol', 'text'], ['company_name', 'text'], ['sector', 'text'],
            ['exchange', 'text'], ['loaded_at', 'timestamptz'], ['currency', 'text'],
            ['is_active', 'boolean'],
        ],
        'accounts': [
            ['account_id', 'text'], ['user_name', 'text'], ['email', 'text'],
            ['account_type', 'text'], ['balance', 'numeric(18, 2)'],
            ['created_at', 'timestamptz'], ['loaded_at', 'timestamptz'],
        ],
        'orders': [
            ['order_id', 'text'], ['account_id', 'text'], ['symbol', 'text'],
            ['order_type', 'text'], ['quantity', 'integer'], ['price', 'numeric(18, 4)'],
            ['status', 'text'], ['created_at', 'timestamptz'], ['loaded_at', 'timestamptz'],
        ],
        'trades': [
            ['trade_id', 'text'], ['order_id', 'text'], ['account_id', 'text'],
            ['symbol', 'text'], ['trade_type', 'text'], ['quantity', 'integer'],
            ['price', 'numeric(18, 4)'], ['total_amount', 'numeric(18, 2)'],
            ['traded_at', 'timestamptz'], ['loaded_at', 'timestamptz'],
            ['fee_amount', 'numeric(18, 2)'],
        ],
        'daily_prices': [
            ['symbol', 'text'], ['price_date', 'date'], ['open_price', 'numeric(18, 4)'],
            ['high_price', 'numeric(18, 4)'], ['low_price', 'numeric(18, 4)'],
            ['close_price', 'numeric(18, 4)'], ['volume', 'bigint'], ['source', 'text'],
            ['lake_key', 'text'], ['loaded_at', 'timestamptz'],
        ],
        'rejected_prices': [
            ['symbol', 'text'], ['price_date', 'text'], ['reason', 'text'],
            ['payload', 'json'], ['lake_key', 'text'], ['rejected_at', 'timestamptz'],
        ],
        'ingest_runs': [
            ['logical_date', 'date'], ['symbol', 'text'], ['source', 'text'],
            ['status', 'text'], ['rows_loaded', 'integer'], ['rows_rejected', 'integer'],
            ['error', 'text'], ['started_at', 'timestamptz'], ['finished_at', 'timestamptz'],
            ['dataset', 'text'],
        ],
        'cash_movements': [
            ['movement_id', 'text'], ['account_id', 'text'], ['movement_type', 'text'],
            ['amount', 'numeric(18, 2)'], ['moved_at', 'timestamptz'],
            ['loaded_at', 'timestamptz'],
        ],
        'dividends': [
            ['symbol', 'text'], ['ex_dividend_date', 'date'], ['amount', 'numeric(18, 6)'],
            ['declaration_date', 'date'], ['record_date', 'date'], ['payment_date', 'date'],
            ['source', 'text'], ['lake_key', 'text'], ['loaded_at', 'timestamptz'],
        ],
        'rejected_actions': [
            ['dataset', 'text'], ['symbol', 'text'], ['action_date', 'text'],
            ['reason', 'text'], ['payload', 'json'], ['lake_key', 'text'],
            ['rejected_at', 'timestamptz'],
        ],
        'stock_splits': [
            ['symbol', 'text'], ['effective_date', 'date'], ['split_factor', 'numeric(18, 6)'],
            ['source', 'text'], ['lake_key', 'text'], ['loaded_at', 'timestamptz'],
        ],
    }) -}}
{% endmacro %}
