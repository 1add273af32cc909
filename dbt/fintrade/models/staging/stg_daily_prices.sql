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

),

with_previous_close as (

    select
        *,
        lag(close_price) over (
            partition by symbol
            order by price_date
        ) as previous_close_price,
        lag(price_date) over (
            partition by symbol
            order by price_date
        ) as previous_price_date

    from renamed

),

with_change as (

    select
        *,
        close_price - previous_close_price as price_change,
        round(
            100 * (close_price - previous_close_price)
            / nullif(previous_close_price, 0),
            4
        ) as price_change_pct

    from with_previous_close

)

select * from with_change
