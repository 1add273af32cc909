with

orders as (

    select * from {{ ref('stg_orders') }}

),

trades as (

    select * from {{ ref('stg_trades') }}

),

order_fills as (

    select
        order_id,
        count(*) as trade_count,
        sum(quantity) as filled_quantity,
        sum(traded_amount) as filled_amount

    from trades
    group by order_id

),

final as (

    select
        orders.order_id,
        orders.account_id,
        orders.symbol,
        orders.order_type,
        orders.order_status,
        orders.quantity,
        orders.order_price,
        orders.order_amount,
        cast(coalesce(order_fills.trade_count, 0) as integer) as trade_count,
        cast(coalesce(order_fills.filled_quantity, 0) as integer) as filled_quantity,
        cast(
            coalesce(order_fills.filled_amount, 0) as {{ decimal_type(18, 2) }}
        ) as filled_amount,
        orders.ordered_at,
        orders.order_date

    from orders
    left join order_fills
        on orders.order_id = order_fills.order_id

)

select * from final
