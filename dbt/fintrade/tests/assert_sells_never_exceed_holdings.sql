-- No short selling: replaying each account's trades of a symbol in execution order, the shares
-- held (counted after every split) never drop below zero; returns the trades that would.
with

trades as (

    select * from {{ ref('fct_trades') }}

),

stock_splits as (

    select * from {{ ref('stg_stock_splits') }}

),

signed_trades as (

    select
        trades.trade_id,
        trades.account_id,
        trades.symbol,
        trades.traded_at,
        (case when trades.trade_type = 'buy' then 1 else -1 end)
        * trades.quantity
        * coalesce({{ factor_product('stock_splits.split_factor') }}, 1) as adjusted_quantity

    from trades
    left join stock_splits
        on
            trades.symbol = stock_splits.symbol
            and trades.trade_date < stock_splits.effective_date
    group by
        trades.trade_id,
        trades.account_id,
        trades.symbol,
        trades.traded_at,
        trades.trade_type,
        trades.quantity

),

running_holdings as (

    select
        *,
        sum(adjusted_quantity) over (
            partition by account_id, symbol
            order by traded_at asc, trade_id asc
        ) as held_after

    from signed_trades

)

select * from running_holdings
where held_after < 0
