with

trades as (

    select * from {{ ref('stg_trades') }}

),

final as (

    select
        trade_id,
        order_id,
        account_id,
        symbol,
        trade_type,
        quantity,
        trade_price,
        traded_amount,
        fee_amount,
        traded_at,
        trade_date

    from trades

)

select * from final
