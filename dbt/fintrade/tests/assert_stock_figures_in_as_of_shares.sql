-- mart_stock_performance's 52-week high and low and 30-day average volume are in shares as
-- traded on the as-of date: each bar's as-traded high, low and volume carried into them by the
-- splits effective after the bar and on or before the as-of date (a split after the latest bar
-- too, when the as-of bar is missing), straight from stg_stock_splits. Returns the stocks whose
-- figures are in other shares.
{%- set return_window_sessions = 30 %}

with

performance as (

    select * from {{ ref('mart_stock_performance') }}

),

daily_prices as {{ not_materialized() }} (

    select * from {{ ref('fct_daily_prices') }}

),

stock_splits as (

    select * from {{ ref('stg_stock_splits') }}

),

exchange_sessions as (

    select * from {{ ref('dim_exchange_sessions') }}

),

as_of as (

    select max(as_of_date) as as_of_date
    from performance

),

recent_sessions as (

    select
        exchange_sessions.session_date,
        row_number() over (order by exchange_sessions.session_date desc) as session_number

    from exchange_sessions
    cross join as_of
    where
        exchange_sessions.session_date <= as_of.as_of_date
        and exchange_sessions.session_date > {{ dbt.dateadd('week', -52, 'as_of.as_of_date') }}

),

-- The 52 weeks' bars, read by the date index.
window_bars as (

    select
        daily_prices.symbol,
        daily_prices.price_date,
        daily_prices.high_price,
        daily_prices.low_price,
        daily_prices.volume,
        recent_sessions.session_number

    from daily_prices
    cross join as_of
    inner join recent_sessions
        on daily_prices.price_date = recent_sessions.session_date
    where
        daily_prices.price_date <= as_of.as_of_date
        and daily_prices.price_date > {{ dbt.dateadd('week', -52, 'as_of.as_of_date') }}

),

bar_factors as (

    select
        window_bars.symbol,
        window_bars.price_date,
        {{ factor_product('stock_splits.split_factor') }} as split_factor_to_as_of

    from window_bars
    cross join as_of
    inner join stock_splits
        on
            window_bars.symbol = stock_splits.symbol
            and window_bars.price_date < stock_splits.effective_date
            and as_of.as_of_date >= stock_splits.effective_date
    group by window_bars.symbol, window_bars.price_date

),

as_of_shares as (

    select
        window_bars.symbol,
        max(
            window_bars.high_price / coalesce(bar_factors.split_factor_to_as_of, 1)
        ) as high_52w_price,
        min(
            window_bars.low_price / coalesce(bar_factors.split_factor_to_as_of, 1)
        ) as low_52w_price,
        avg(
            case
                when window_bars.session_number <= {{ return_window_sessions }}
                    then window_bars.volume * coalesce(bar_factors.split_factor_to_as_of, 1)
            end
        ) as avg_volume_30d

    from window_bars
    left join bar_factors
        on
            window_bars.symbol = bar_factors.symbol
            and window_bars.price_date = bar_factors.price_date
    group by window_bars.symbol

),

compared as (

    select
        performance.symbol,
        performance.as_of_date,
        performance.high_52w_price,
        as_of_shares.high_52w_price as expected_high_52w_price,
        performance.low_52w_price,
        as_of_shares.low_52w_price as expected_low_52w_price,
        performance.avg_volume_30d,
        as_of_shares.avg_volume_30d as expected_avg_volume_30d

    from performance
    left join as_of_shares
        on performance.symbol = as_of_shares.symbol

)

-- Adjusted prices are stored to 6 places and shown to 4, adjusted volumes in whole shares.
select * from compared
where
    abs(high_52w_price - expected_high_52w_price) > 0.001
    or abs(low_52w_price - expected_low_52w_price) > 0.001
    or abs(avg_volume_30d - expected_avg_volume_30d) > 1
