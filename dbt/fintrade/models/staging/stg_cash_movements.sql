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
        {{ market_date('moved_at') }} as movement_date,
        loaded_at

    from source

)

select * from renamed
