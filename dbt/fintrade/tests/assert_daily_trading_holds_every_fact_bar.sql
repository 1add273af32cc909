-- The whole history on every build: per symbol, mart_daily_trading holds every bar of
-- fct_daily_prices up to the as-of date with the fact's figures (one order-free checksum a
-- side), so a bar or a recomputed change an incremental build missed fails. The totals are kept
-- as each table is written (macros/bar_totals.sql); an as-of date takes away only the fact's
-- bars after it.
with

fact_bars as (

    {{ bar_totals(
        ref('fct_daily_prices'), 'figure_totals',
        figure_checksum('price_date', 'adjusted_volume'), 'price_date',
        through=as_of_date() if var('as_of', none) else none
    ) }}

),

mart_bars as (

    {{ bar_totals(
        ref('mart_daily_trading'), 'figure_totals',
        figure_checksum('trading_date', 'adjusted_market_volume'), 'trading_date',
        counted='lake_key is not null'
    ) }}

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
