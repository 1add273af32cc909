-- Each position is what its trades add up to and is valued at that day's close: quantity =
-- Σ signed trade quantities × the splits effective after the trade and on or before the day,
-- and market_value = quantity × the close of the symbol's latest bar on or before the day, in
-- the day's shares (divided by the splits after that bar and on or before the day); returns
-- the positions where any of it fails.
with

positions as (

    select * from {{ ref('mart_positions') }}

),

trades as (

    select * from {{ ref('fct_trades') }}

),

stock_splits as (

    select * from {{ ref('stg_stock_splits') }}

),

-- Not materialized: read twice (a close by key, the later bars by a range of the same key).
daily_prices as {{ not_materialized() }} (

    select * from {{ ref('fct_daily_prices') }}

),

trade_quantities as (

    select
        positions.account_id,
        positions.symbol,
        positions.as_of_date,
        trades.trade_id,
        (case when trades.trade_type = 'buy' then 1 else -1 end)
        * trades.quantity
        * coalesce({{ factor_product('stock_splits.split_factor') }}, 1) as day_quantity

    from positions
    inner join trades
        on
            positions.account_id = trades.account_id
            and positions.symbol = trades.symbol
            and positions.as_of_date >= trades.trade_date
    left join stock_splits
        on
            trades.symbol = stock_splits.symbol
            and trades.trade_date < stock_splits.effective_date
            and positions.as_of_date >= stock_splits.effective_date
    group by
        positions.account_id,
        positions.symbol,
        positions.as_of_date,
        trades.trade_id,
        trades.trade_type,
        trades.quantity

),

traded_positions as (

    select
        account_id,
        symbol,
        as_of_date,
        sum(day_quantity) as traded_quantity

    from trade_quantities
    group by account_id, symbol, as_of_date

),

day_closes as (

    select
        positions.account_id,
        positions.symbol,
        positions.as_of_date,
        {{
            decimal_quotient(
                'daily_prices.close_price',
                'coalesce(' ~ factor_product('stock_splits.split_factor') ~ ', 1)',
                12
            )
        }} as day_close_price

    from positions
    inner join daily_prices
        on
            positions.symbol = daily_prices.symbol
            and positions.close_price_date = daily_prices.price_date
    left join stock_splits
        on
            positions.symbol = stock_splits.symbol
            and positions.close_price_date < stock_splits.effective_date
            and positions.as_of_date >= stock_splits.effective_date
    group by
        positions.account_id,
        positions.symbol,
        positions.as_of_date,
        daily_prices.close_price

),

mismatches as (

    select
        positions.account_id,
        positions.symbol,
        positions.as_of_date,
        positions.quantity,
        traded_positions.traded_quantity,
        positions.market_value,
        day_closes.day_close_price

    from positions
    left join traded_positions
        on
            positions.account_id = traded_positions.account_id
            and positions.symbol = traded_positions.symbol
            and positions.as_of_date = traded_positions.as_of_date
    left join day_closes
        on
            positions.account_id = day_closes.account_id
            and positions.symbol = day_closes.symbol
            and positions.as_of_date = day_closes.as_of_date
    where
        abs(positions.quantity - coalesce(traded_positions.traded_quantity, 0)) > 0.000001
        or day_closes.day_close_price is null
        or positions.market_value
        <> round(positions.quantity * day_closes.day_close_price, 2)
        or exists (
            select 1
            from daily_prices as later_bars
            where
                later_bars.symbol = positions.symbol
                and later_bars.price_date > positions.close_price_date
                and later_bars.price_date <= positions.as_of_date
        )

)

select * from mismatches
