-- A plain view over the raw bars: no window here, so a date filter downstream reaches the raw
-- table's index (the change against the previous session is computed in fct_daily_prices, over
-- only the days a build needs).
with

source as (

    select * from {{ source('raw', 'daily_prices') }}

),

renamed as (

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

    from source

)

select * from renamed
