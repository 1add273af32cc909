{{
    config(
        materialized='incremental',
        unique_key=['symbol', 'price_date'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns'
    )
}}

with

daily_prices as (

    select * from {{ ref('stg_daily_prices') }}

),

{% if is_incremental() %}

-- Re-read the last `price_lookback_days` trading days already in the table and everything
-- after them: a vendor restatement or a late bar inside that window replaces the stored row.
recent_trading_days as (

    select distinct price_date
    from {{ this }}
    order by price_date desc
    limit {{ var('price_lookback_days') }}

),

lookback as (

    select coalesce(min(price_date), cast('0001-01-01' as date)) as first_price_date
    from recent_trading_days

),

{% endif %}

window_prices as (

    select daily_prices.*
    from daily_prices
    {% if is_incremental() %}
    inner join lookback
        on daily_prices.price_date >= lookback.first_price_date
    {% endif %}

),

final as (

    select
        symbol,
        price_date,
        open_price,
        high_price,
        low_price,
        close_price,
        volume,
        previous_close_price,
        price_change,
        price_change_pct,
        cast(
            ln(close_price / nullif(previous_close_price, 0)) as double precision
        ) as log_return,
        price_source,
        lake_key

    from window_prices

)

select * from final
