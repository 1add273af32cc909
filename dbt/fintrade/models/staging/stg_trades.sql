with

source as (

    select * from {{ source('raw', 'trades') }}

),

renamed as (

    select
        trade_id,
        order_id,
        account_id,
        symbol,
        lower(trade_type) as trade_type,
        quantity,
        price as trade_price,
        total_amount as traded_amount,
        fee_amount,
        traded_at,
        {{ market_date('traded_at') }} as trade_date,
        loaded_at

    from source

)

select * from renamed
