with

source as (

    select * from {{ source('raw', 'stock_splits') }}

),

renamed as (

    select
        symbol,
        effective_date,
        split_factor,
        source as price_source,
        lake_key,
        loaded_at

    from source

)

select * from renamed
