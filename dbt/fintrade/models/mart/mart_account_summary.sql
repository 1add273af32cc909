with

accounts as (

    select * from {{ ref('dim_accounts') }}

),

trades as (

    select * from {{ ref('fct_trades') }}

),

daily_prices as (

    select * from {{ ref('fct_daily_prices') }}

),

as_of as (

    select coalesce({{ as_of_date() }}, max(price_date)) as as_of_date
    from daily_prices

),

trades_to_date as (

    select trades.*
    from trades
    cross join as_of
    where trades.trade_date <= as_of.as_of_date

),

latest_closes as (

    select distinct on (daily_prices.symbol)
        daily_prices.symbol,
        daily_prices.close_price as latest_close_price

    from daily_prices
    cross join as_of
    where daily_prices.price_date <= as_of.as_of_date
    order by daily_prices.symbol asc, daily_prices.price_date desc

),

positions as (

    select
        account_id,
        symbol,
        sum(
            case when trade_type = 'buy' then quantity else -quantity end
        ) as net_quantity

    from trades_to_date
    group by account_id, symbol

),

position_values as (

    select
        positions.account_id,
        sum(
            positions.net_quantity * latest_closes.latest_close_price
        ) as open_position_value

    from positions
    inner join latest_closes
        on positions.symbol = latest_closes.symbol
    group by positions.account_id

),

account_trades as (

    select
        account_id,
        count(*) as trade_count,
        count(*) filter (where trade_type = 'buy') as buy_trade_count,
        count(*) filter (where trade_type = 'sell') as sell_trade_count,
        sum(traded_amount) as traded_amount,
        min(traded_at) as first_traded_at,
        max(traded_at) as last_traded_at

    from trades_to_date
    group by account_id

),

final as (

    select
        accounts.account_id,
        accounts.account_type,
        accounts.balance,
        as_of.as_of_date,
        coalesce(account_trades.trade_count, 0) as trade_count,
        coalesce(account_trades.buy_trade_count, 0) as buy_trade_count,
        coalesce(account_trades.sell_trade_count, 0) as sell_trade_count,
        coalesce(account_trades.traded_amount, 0) as traded_amount,
        account_trades.first_traded_at,
        account_trades.last_traded_at,
        cast(
            coalesce(position_values.open_position_value, 0) as numeric(18, 2)
        ) as open_position_value

    from accounts
    cross join as_of
    left join account_trades
        on accounts.account_id = account_trades.account_id
    left join position_values
        on accounts.account_id = position_values.account_id

)

select * from final
