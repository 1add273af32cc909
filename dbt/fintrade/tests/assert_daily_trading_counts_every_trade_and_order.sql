-- mart_daily_trading keeps every trade and order up to the as-of date, a day without a bar for
-- the symbol included: returns the (symbol, day)s of fct_trades and fct_orders whose counts the
-- mart's row does not show, or that have no row.
with

trades as (

    select * from {{ ref('fct_trades') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

daily_trading as (

    select * from {{ ref('mart_daily_trading') }}

),

as_of as (

    select max(trading_date) as as_of_date
    from daily_trading

),

activity as (

    select
        symbol,
        trade_date as trading_date,
        1 as trade_count,
        0 as order_count

    from trades

    union all

    select
        symbol,
        order_date as trading_date,
        0 as trade_count,
        1 as order_count

    from orders

),

daily_activity as (

    select
        activity.symbol,
        activity.trading_date,
        sum(activity.trade_count) as trade_count,
        sum(activity.order_count) as order_count

    from activity
    cross join as_of
    where activity.trading_date <= as_of.as_of_date
    group by activity.symbol, activity.trading_date

),

missing as (

    select
        daily_activity.*,
        daily_trading.trade_count as mart_trade_count,
        daily_trading.order_count as mart_order_count

    from daily_activity
    left join daily_trading
        on
            daily_activity.symbol = daily_trading.symbol
            and daily_activity.trading_date = daily_trading.trading_date
    where
        daily_trading.trade_count is distinct from daily_activity.trade_count
        or daily_trading.order_count is distinct from daily_activity.order_count

)

select * from missing
