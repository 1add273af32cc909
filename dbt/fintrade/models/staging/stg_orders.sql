with

source as (

    select * from {{ source('raw', 'orders') }}

),

renamed as (

    select
        order_id,
        account_id,
        symbol,
        lower(order_type) as order_type,
        lower(status) as order_status,
        quantity,
        price as order_price,
        cast(quantity * price as {{ decimal_type(18, 2) }}) as order_amount,
        created_at as ordered_at,
        {{ market_date('created_at') }} as order_date,
        loaded_at

    from source

)

select * from renamed
