{%- set trading_days_per_year = 252 -%}
{%- set return_window_sessions = 30 -%}
{%- set min_coverage = var('window_min_coverage') -%}
{%- set weeks_52_ago = dbt.dateadd('week', -52, 'as_of_date') -%}

with

-- Not materialized: used more than once, and each use must reach the table's indexes (a
-- materialized CTE is a full copy of every bar, scanned again by each use).
daily_prices as {{ not_materialized() }} (

    select * from {{ ref('fct_daily_prices') }}

),

stocks as (

    select * from {{ ref('dim_stocks') }}

),

exchange_sessions as (

    select * from {{ ref('dim_exchange_sessions') }}

),

price_adjustments as (

    select * from {{ ref('dim_price_adjustments') }}

),

as_of as (

    select coalesce({{ as_of_date() }}, max(price_date)) as as_of_date
    from daily_prices

),

-- Windows are counted in the exchange's sessions back from the as-of date, not in a symbol's
-- own bars: a bar the vendor left out shortens a window's coverage instead of stretching the
-- window past its name.
recent_sessions as (

    select
        exchange_sessions.session_date,
        as_of.as_of_date,
        row_number() over (order by exchange_sessions.session_date desc) - 1 as sessions_ago

    from exchange_sessions
    cross join as_of
    where
        exchange_sessions.session_date <= as_of.as_of_date
        and exchange_sessions.session_date > {{ dbt.dateadd('month', -13, 'as_of.as_of_date') }}

),

-- The stretch of factors in force on the as-of date (a symbol without actions has none).
as_of_adjustments as (

    select
        price_adjustments.symbol,
        price_adjustments.cumulative_split_factor

    from price_adjustments
    cross join as_of
    where
        price_adjustments.valid_from_date <= as_of.as_of_date
        and price_adjustments.valid_to_date > as_of.as_of_date

),

window_sessions as (

    select
        count(case when session_date > {{ weeks_52_ago }} then 1 end) as sessions_52w

    from recent_sessions

),

-- Every window below (a year of sessions, 52 weeks, back to last year's final close) fits in
-- 13 months before the as-of date: reading no further keeps the cost flat as history grows.
-- Prices are compared across days only split-adjusted; the as-traded close is shown as is.
recent_prices as (

    select
        daily_prices.symbol,
        daily_prices.price_date,
        daily_prices.adjusted_high_price,
        daily_prices.adjusted_low_price,
        daily_prices.adjusted_close_price,
        daily_prices.adjusted_volume,
        daily_prices.total_return_close_price,
        daily_prices.close_price,
        daily_prices.price_change_pct,
        daily_prices.total_return_pct,
        daily_prices.log_return,
        as_of.as_of_date,
        recent_sessions.sessions_ago,
        row_number() over (
            partition by daily_prices.symbol
            order by daily_prices.price_date desc
        ) - 1 as bars_ago

    from daily_prices
    cross join as_of
    inner join recent_sessions
        on daily_prices.price_date = recent_sessions.session_date
    -- The same 13 months as a range on the bars themselves, so they are read by the date index.
    where
        daily_prices.price_date <= as_of.as_of_date
        and daily_prices.price_date > {{ dbt.dateadd('month', -13, 'as_of.as_of_date') }}

),

latest as (

    select
        symbol,
        as_of_date,
        price_date as latest_price_date,
        close_price as latest_close_price,
        adjusted_close_price as latest_adjusted_close_price,
        total_return_close_price as latest_total_return_close_price,
        price_change_pct as return_1d_pct,
        total_return_pct as total_return_1d_pct

    from recent_prices
    where bars_ago = 0

),

-- Turns today's-shares figures back into shares as traded on the as-of date: the splits after
-- the as-of date, not after the latest bar, since a split between the two (the as-of bar
-- missing) is in the as-of date's shares, as the positions valued that day are.
as_of_factors as (

    select
        latest.symbol,
        coalesce(as_of_adjustments.cumulative_split_factor, 1) as as_of_split_factor

    from latest
    left join as_of_adjustments
        on latest.symbol = as_of_adjustments.symbol

),

-- The close in force 30 sessions back: that session's, or the last before it when the symbol
-- has no bar that day (adjusted prices are in today's shares, so carrying one over is sound).
window_start_closes as (

    select
        symbol,
        price_date,
        adjusted_close_price as window_start_close_price,
        total_return_close_price as window_start_total_return_close_price

    from recent_prices
    where sessions_ago >= {{ return_window_sessions }}

),

return_window_start as (

    {{ first_row_per('window_start_closes', ['symbol'], ['price_date desc']) }}

),

previous_year_closes as (

    select
        symbol,
        price_date,
        adjusted_close_price as previous_year_close_price,
        total_return_close_price as previous_year_total_return_close_price

    from recent_prices
    where price_date < {{ dbt.date_trunc('year', 'as_of_date') }}

),

previous_year_close as (

    {{ first_row_per('previous_year_closes', ['symbol'], ['price_date desc']) }}

),

trailing_stats as (

    select
        symbol,
        count(case when price_date > {{ weeks_52_ago }} then 1 end) as high_low_52w_sessions,
        max(
            case when price_date > {{ weeks_52_ago }} then adjusted_high_price end
        ) as adjusted_high_52w_price,
        min(
            case when price_date > {{ weeks_52_ago }} then adjusted_low_price end
        ) as adjusted_low_52w_price,
        count(
            case when sessions_ago < {{ trading_days_per_year }} then log_return end
        ) as volatility_1y_sessions,
        stddev_samp(
            case when sessions_ago < {{ trading_days_per_year }} then log_return end
        ) as daily_log_return_stddev_1y,
        count(
            case when sessions_ago < {{ return_window_sessions }} then log_return end
        ) as volatility_30d_sessions,
        stddev_samp(
            case when sessions_ago < {{ return_window_sessions }} then log_return end
        ) as daily_log_return_stddev_30d,
        count(
            case when sessions_ago < {{ return_window_sessions }} then adjusted_volume end
        ) as avg_volume_30d_sessions,
        {{
            decimal_average(
                'case when sessions_ago < ' ~ return_window_sessions ~ ' then adjusted_volume end',
                12
            )
        }} as adjusted_avg_volume_30d

    from recent_prices
    group by symbol

),

-- A window's figure is null unless the sessions it observed cover `window_min_coverage` of the
-- sessions it names (30 returns, 252 returns, the 52 weeks' sessions).
covered_stats as (

    select
        trailing_stats.symbol,
        trailing_stats.high_low_52w_sessions,
        trailing_stats.volatility_1y_sessions,
        trailing_stats.volatility_30d_sessions,
        trailing_stats.avg_volume_30d_sessions,
        case
            when
                trailing_stats.high_low_52w_sessions
                >= ceil({{ min_coverage }} * window_sessions.sessions_52w)
                then trailing_stats.adjusted_high_52w_price
        end as adjusted_high_52w_price,
        case
            when
                trailing_stats.high_low_52w_sessions
                >= ceil({{ min_coverage }} * window_sessions.sessions_52w)
                then trailing_stats.adjusted_low_52w_price
        end as adjusted_low_52w_price,
        case
            when
                trailing_stats.volatility_1y_sessions
                >= ceil({{ min_coverage }} * {{ trading_days_per_year }})
                then trailing_stats.daily_log_return_stddev_1y
        end as daily_log_return_stddev_1y,
        case
            when
                trailing_stats.volatility_30d_sessions
                >= ceil({{ min_coverage }} * {{ return_window_sessions }})
                then trailing_stats.daily_log_return_stddev_30d
        end as daily_log_return_stddev_30d,
        case
            when
                trailing_stats.avg_volume_30d_sessions
                >= ceil({{ min_coverage }} * {{ return_window_sessions }})
                then trailing_stats.adjusted_avg_volume_30d
        end as adjusted_avg_volume_30d

    from trailing_stats
    cross join window_sessions

),

final as (

    select
        latest.symbol,
        stocks.company_name,
        stocks.sector,
        latest.as_of_date,
        latest.latest_price_date,
        latest.latest_close_price,
        latest.return_1d_pct,
        round(
            100 * (
                {{
                    decimal_quotient(
                        'latest.latest_adjusted_close_price',
                        'return_window_start.window_start_close_price',
                        12
                    )
                }} - 1
            ),
            4
        ) as return_30d_pct,
        round(
            100 * (
                {{
                    decimal_quotient(
                        'latest.latest_adjusted_close_price',
                        'previous_year_close.previous_year_close_price',
                        12
                    )
                }} - 1
            ),
            4
        ) as return_ytd_pct,
        round(
            covered_stats.adjusted_high_52w_price * as_of_factors.as_of_split_factor, 4
        ) as high_52w_price,
        round(
            covered_stats.adjusted_low_52w_price * as_of_factors.as_of_split_factor, 4
        ) as low_52w_price,
        round(
            cast(
                100 * covered_stats.daily_log_return_stddev_1y
                * sqrt({{ trading_days_per_year }}) as {{ decimal_type(18, 4) }}
            ),
            4
        ) as volatility_1y_pct,
        round(
            cast(
                100 * covered_stats.daily_log_return_stddev_30d
                * sqrt({{ trading_days_per_year }}) as {{ decimal_type(18, 4) }}
            ),
            4
        ) as volatility_30d_pct,
        cast(
            round(
                {{
                    decimal_quotient(
                        'covered_stats.adjusted_avg_volume_30d',
                        'as_of_factors.as_of_split_factor',
                        12
                    )
                }}
            )
            as bigint
        ) as avg_volume_30d,
        latest.total_return_1d_pct,
        round(
            100 * (
                {{
                    decimal_quotient(
                        'latest.latest_total_return_close_price',
                        'return_window_start.window_start_total_return_close_price',
                        12
                    )
                }} - 1
            ),
            4
        ) as total_return_30d_pct,
        round(
            100 * (
                {{
                    decimal_quotient(
                        'latest.latest_total_return_close_price',
                        'previous_year_close.previous_year_total_return_close_price',
                        12
                    )
                }} - 1
            ),
            4
        ) as total_return_ytd_pct,
        covered_stats.volatility_30d_sessions,
        covered_stats.avg_volume_30d_sessions,
        covered_stats.volatility_1y_sessions,
        covered_stats.high_low_52w_sessions

    from latest
    inner join stocks
        on latest.symbol = stocks.symbol
    inner join covered_stats
        on latest.symbol = covered_stats.symbol
    left join return_window_start
        on latest.symbol = return_window_start.symbol
    left join previous_year_close
        on latest.symbol = previous_year_close.symbol
    inner join as_of_factors
        on latest.symbol = as_of_factors.symbol

)

select * from final
