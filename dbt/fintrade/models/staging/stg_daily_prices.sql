-- A plain view over the raw bars: no window here, so a date filter downstream reaches the raw
-- table's index (the change against the previous session is computed in fct_daily_prices, over
-- only the days a build needs).
-- One select rather than the usual source/renamed CTEs, on purpose: PostgreSQL does not read a
-- view built on CTEs in its index order from inside a lateral subquery, so fct_daily_prices'
-- lookup of each symbol's bar before its window sorted the symbol's whole history instead of
-- taking one step back along the primary key (docs/scale.md, "Indexes and plans").
select
    symbol,
    price_date,
    open_price,
    high_price,
    low_price,
    close_price,
    volume,
    source as price_source,
    lake_key,
    loaded_at

from {{ source('raw', 'daily_prices') }}
