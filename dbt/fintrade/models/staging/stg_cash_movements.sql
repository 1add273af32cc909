with

source as (

    select * from {{ source('raw', 'cash_movements') }}

),

renamed as (

    select
        movement_id,
        account_id,
        lower(movement_type) as movement_type,
        amount,
        moved_at,
        cast(
            moved_at at time zone '{{ var("market_timezone") }}' as date
        ) as movement_date,
        loaded_at

    from source

)

select * from renamed
