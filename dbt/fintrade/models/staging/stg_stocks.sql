with

source as (

    select * from {{ source('raw', 'stocks') }}

),

renamed as (

    select
        symbol,
        company_name,
        sector,
        exchange,
        currency,
        is_active,
        loaded_at

    from source

)

select * from renamed
