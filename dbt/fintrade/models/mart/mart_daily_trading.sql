{# The dashboard reads one symbol's bars at a time: the index keeps that a lookup. #}
{{
    config(
        indexes=[{'columns': ['symbol', 'trading_date'], 'unique': true}]
    )
}}

with

daily_prices as (

    select * from {{ ref('fct_daily_prices') }}

),

trades as (

    select * from {{ ref('fct_trades') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

as_of as (

    select coalesce({{ as_of_date() }}, max(price_date)) as as_of_date
    from daily_prices

),

daily_trades as (

    select
        trade_date,
        symbol,
        count(*) as trade_count,
        count(distinct account_id) as trading_account_count,
        sum(quantity) filter (where trade_type = 'buy') as bought_quantity,
        sum(quantity) filter (where trade_type = 'sell') as sold_quantity,
        sum(quantity) as traded_quantity,
        sum(traded_amount) as traded_amount

    from trades
    group by trade_date, symbol

),

daily_orders as (

    select
        order_date,
        symbol,
        count(*) as order_count,
        count(*) filter (where order_status = 'cancelled') as cancelled_order_count

    from orders
    group by order_date, symbol

),

final as (

    select
        daily_prices.price_date as trading_date,
        daily_prices.symbol,
        daily_prices.open_price,
        daily_prices.high_price,
        daily_prices.low_price,
        daily_prices.close_price,
        daily_prices.price_change_pct,
        daily_prices.volume as market_volume,
        coalesce(daily_orders.order_count, 0) as order_count,
        coalesce(daily_orders.cancelled_order_count, 0) as cancelled_order_count,
        coalesce(daily_trades.trade_count, 0) as trade_count,
        coalesce(daily_trades.trading_account_count, 0) as trading_account_count,
        coalesce(daily_trades.bought_quantity, 0) as bought_quantity,
        coalesce(daily_trades.sold_quantity, 0) as sold_quantity,
        coalesce(daily_trades.traded_quantity, 0) as traded_quantity,
        coalesce(daily_trades.traded_amount, 0) as traded_amount,
        round(
            daily_trades.traded_amount / nullif(daily_trades.traded_quantity, 0),
            4
        ) as volume_weighted_price

    from daily_prices
    cross join as_of
    left join daily_trades
        on
            daily_prices.price_date = daily_trades.trade_date
            and daily_prices.symbol = daily_trades.symbol
    left join daily_orders
        on
            daily_prices.price_date = daily_orders.order_date
            and daily_prices.symbol = daily_orders.symbol
    where daily_prices.price_date <= as_of.as_of_date

)

select * from final
