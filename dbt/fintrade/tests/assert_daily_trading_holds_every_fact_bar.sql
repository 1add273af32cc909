-- The whole history on every build: per symbol, mart_daily_trading holds every bar of
-- fct_daily_prices up to the as-of date with the fact's figures (one order-free checksum a
-- side), so a bar or a recomputed change an incremental build missed fails.
with

as_of as (

    select coalesce({{ as_of_date() }}, max(price_date)) as as_of_date
    from {{ ref('fct_daily_prices') }}

),

fact_bars as (

    select
        fct_daily_prices.symbol,
        count(*) as bar_count,
        {{ checksum_of(['fct_daily_prices.price_date', 'fct_daily_prices.loaded_at',
            'fct_daily_prices.close_price', 'fct_daily_prices.adjusted_close_price',
            'fct_daily_prices.price_change_pct', 'fct_daily_prices.total_return_pct',
            'fct_daily_prices.dividend_amount', 'fct_daily_prices.adjusted_volume',
            'fct_daily_prices.adjustment_version']) }} as bar_checksum

    from {{ ref('fct_daily_prices') }} as fct_daily_prices
    cross join as_of
    where fct_daily_prices.price_date <= as_of.as_of_date
    group by fct_daily_prices.symbol

),

mart_bars as (

    select
        symbol,
        count(*) as bar_count,
        {{ checksum_of(['trading_date', 'loaded_at', 'close_price', 'adjusted_close_price',
            'price_change_pct', 'total_return_pct', 'dividend_amount', 'adjusted_market_volume',
            'adjustment_version']) }} as bar_checksum

    from {{ ref('mart_daily_trading') }}
    where lake_key is not null
    group by symbol

),

final as (

    select
        coalesce(fact_bars.symbol, mart_bars.symbol) as symbol,
        fact_bars.bar_count as fact_bar_count,
        mart_bars.bar_count as mart_bar_count

    from fact_bars
    full outer join mart_bars
        on fact_bars.symbol = mart_bars.symbol
    where
        fact_bars.bar_count is distinct from mart_bars.bar_count
        or fact_bars.bar_checksum is distinct from mart_bars.bar_checksum

)

select * from final
