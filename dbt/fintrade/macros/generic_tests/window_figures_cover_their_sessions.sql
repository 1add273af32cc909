{#
    Fails on stock rows whose trailing-window figures break the coverage rule: a figure shown
    although the sessions it used cover less than `min_coverage` of the exchange sessions its
    window names, or a session count that is not the symbol's bars in that window of the
    exchange calendar (a count of the symbol's own last bars would stretch the window over a
    gap). Counted here from fct_daily_prices and the calendar seed, independently of the mart.
#}
{% test window_figures_cover_their_sessions(
    model, min_coverage, short_window_sessions=30, year_sessions=252
) %}

with

performance as (

    select * from {{ model }}

),

daily_prices as (

    select * from {{ ref('fct_daily_prices') }}

),

exchange_sessions as (

    select * from {{ ref('dim_exchange_sessions') }}

),

numbered_sessions as (

    select
        performance.symbol,
        exchange_sessions.session_date,
        row_number() over (
            partition by performance.symbol
            order by exchange_sessions.session_date desc
        ) as session_number,
        exchange_sessions.session_date > {{ dbt.dateadd('week', -52, 'performance.as_of_date') }}
        as in_52_weeks

    from performance
    inner join exchange_sessions
        on
            exchange_sessions.session_date <= performance.as_of_date
            and exchange_sessions.session_date
            > {{ dbt.dateadd('month', -13, 'performance.as_of_date') }}

),

observed as (

    select
        numbered_sessions.symbol,
        count(case when numbered_sessions.in_52_weeks then 1 end) as sessions_52w,
        count(
            case when numbered_sessions.in_52_weeks then daily_prices.price_date end
        ) as bars_52w,
        count(
            case
                when numbered_sessions.session_number <= {{ short_window_sessions }}
                    then daily_prices.price_date
            end
        ) as bars_short_window

    from numbered_sessions
    left join daily_prices
        on
            numbered_sessions.symbol = daily_prices.symbol
            and numbered_sessions.session_date = daily_prices.price_date
    group by numbered_sessions.symbol

)

select
    performance.*,
    observed.sessions_52w,
    observed.bars_52w,
    observed.bars_short_window

from performance
left join observed
    on performance.symbol = observed.symbol
where
    performance.avg_volume_30d_sessions is distinct from observed.bars_short_window
    or performance.high_low_52w_sessions is distinct from observed.bars_52w
    or performance.volatility_30d_sessions > performance.avg_volume_30d_sessions
    or performance.volatility_1y_sessions > {{ year_sessions }}
    or (
        performance.avg_volume_30d is not null
        and performance.avg_volume_30d_sessions
        < ceil({{ min_coverage }} * {{ short_window_sessions }})
    )
    or (
        performance.volatility_30d_pct is not null
        and performance.volatility_30d_sessions
        < ceil({{ min_coverage }} * {{ short_window_sessions }})
    )
    or (
        performance.volatility_1y_pct is not null
        and performance.volatility_1y_sessions < ceil({{ min_coverage }} * {{ year_sessions }})
    )
    or (
        performance.high_52w_price is not null
        and performance.high_low_52w_sessions < ceil({{ min_coverage }} * observed.sessions_52w)
    )

{% endtest %}
