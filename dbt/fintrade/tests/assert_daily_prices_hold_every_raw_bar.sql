-- The whole history on every build, incremental too: per symbol, the fact holds as many bars as
-- raw and the same dates, stamps, lake keys and as-traded values (one order-free checksum a
-- side), so a bar an incremental build missed, kept after raw withdrew it, or left at an old
-- value fails. One row per symbol a side, kept as each table is written (macros/bar_totals.sql),
-- whatever the length of the history.
-- depends_on: {{ source('raw', 'daily_price_totals') }}
with

raw_bars as (

    {{ raw_bar_totals() }}

),

fact_bars as (

    {{ bar_totals(ref('fct_daily_prices'), 'bar_totals', bar_checksum(), 'price_date') }}

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
