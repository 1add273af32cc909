-- A trade executes during its New York session, so its price must lie inside that day's
-- low–high range; returns the trades that do not.
with

trades as (

    select * from {{ ref('fct_trades') }}

),

daily_prices as (

    select * from {{ ref('fct_daily_prices') }}

),

outside_range as (

    select
        trades.trade_id,
        trades.symbol,
        trades.trade_date,
        trades.trade_price,
        daily_prices.low_price,
        daily_prices.high_price

    from trades
    inner join daily_prices
        on
            trades.symbol = daily_prices.symbol
            and trades.trade_date = daily_prices.price_date
    where
        trades.trade_price < daily_prices.low_price
        or trades.trade_price > daily_prices.high_price

)

select * from outside_range
