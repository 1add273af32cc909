-- The whole history on every build, incremental too: per symbol, the fact holds as many bars as
-- raw and the same dates, stamps and as-traded values (one order-free checksum a side), so a
-- bar an incremental build missed, kept after raw withdrew it, or left at an old value fails.
-- One scan of each table and one row per symbol compared, whatever the build rewrote.
with

raw_bars as (

    select
        symbol,
        count(*) as bar_count,
        {{ checksum_of(['price_date', 'loaded_at', 'lake_key', 'open_price', 'high_price',
            'low_price', 'close_price', 'volume']) }} as bar_checksum

    from {{ ref('stg_daily_prices') }}
    group by symbol

),

fact_bars as (

    select
        symbol,
        count(*) as bar_count,
        {{ checksum_of(['price_date', 'loaded_at', 'lake_key', 'open_price', 'high_price',
            'low_price', 'close_price', 'volume']) }} as bar_checksum

    from {{ ref('fct_daily_prices') }}
    group by symbol

),

final as (

    select
        coalesce(raw_bars.symbol, fact_bars.symbol) as symbol,
        raw_bars.bar_count as raw_bar_count,
        fact_bars.bar_count as fact_bar_count

    from raw_bars
    full outer join fact_bars
        on raw_bars.symbol = fact_bars.symbol
    where
        raw_bars.bar_count is distinct from fact_bars.bar_count
        or raw_bars.bar_checksum is distinct from fact_bars.bar_checksum

)

select * from final
