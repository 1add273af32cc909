with

stock_performance as (

    select * from {{ ref('mart_stock_performance') }}

),

final as (

    select
        sector,
        max(as_of_date) as as_of_date,
        count(*) as stock_count,
        round({{ decimal_average('return_30d_pct', 12) }}, 4) as avg_return_30d_pct,
        round({{ decimal_average('volatility_30d_pct', 12) }}, 4) as avg_volatility_30d_pct,
        -- A sum over the sector's stocks, not an average: kept under its original name for what
        -- reads it, and as total_avg_volume_30d, which says what it is.
        cast(sum(avg_volume_30d) as bigint) as avg_daily_volume_30d,
        cast(sum(avg_volume_30d) as bigint) as total_avg_volume_30d,
        round({{ decimal_average('total_return_30d_pct', 12) }}, 4) as avg_total_return_30d_pct

    from stock_performance
    group by sector

)

select * from final
