with

accounts as (

    select * from {{ ref('dim_accounts') }}

),

trades as (

    select * from {{ ref('fct_trades') }}

),

-- Not materialized: used more than once, and each use must reach the table's indexes (a
-- materialized CTE is a full copy of every bar, scanned again by each use).
daily_prices as {{ not_materialized() }} (

    select * from {{ ref('fct_daily_prices') }}

),

daily_equity as (

    select * from {{ ref('mart_account_daily_equity') }}

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

-- The account's day on the as-of date: cash, positions and P&L (last trading day on or before it).
latest_equity as (

    {{ first_row_per('daily_equity', ['account_id'], ['equity_date desc']) }}

),

account_trades as (

    select
        account_id,
        count(*) as trade_count,
        count(case when trade_type = 'buy' then 1 end) as buy_trade_count,
        count(case when trade_type = 'sell' then 1 end) as sell_trade_count,
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
        -- The opening cash, kept under its original name for what reads it.
        accounts.balance,
        accounts.balance as opening_cash,
        as_of.as_of_date,
        coalesce(account_trades.trade_count, 0) as trade_count,
        coalesce(account_trades.buy_trade_count, 0) as buy_trade_count,
        coalesce(account_trades.sell_trade_count, 0) as sell_trade_count,
        coalesce(account_trades.traded_amount, 0) as traded_amount,
        account_trades.first_traded_at,
        account_trades.last_traded_at,
        coalesce(latest_equity.market_value, 0) as open_position_value,
        coalesce(latest_equity.cash_balance, accounts.balance) as cash_balance,
        coalesce(latest_equity.market_value, 0) as market_value,
        coalesce(latest_equity.cost_basis, 0) as cost_basis,
        coalesce(latest_equity.realised_pnl, 0) as realised_pnl,
        coalesce(latest_equity.unrealised_pnl, 0) as unrealised_pnl,
        coalesce(latest_equity.deposit_amount, 0) as deposit_amount,
        coalesce(latest_equity.withdrawal_amount, 0) as withdrawal_amount,
        coalesce(latest_equity.fee_amount, 0) as fee_amount,
        coalesce(latest_equity.dividend_income, 0) as dividend_income,
        coalesce(latest_equity.dividend_receivable, 0) as dividend_receivable,
        coalesce(latest_equity.total_equity, accounts.balance) as total_equity

    from accounts
    cross join as_of
    left join account_trades
        on accounts.account_id = account_trades.account_id
    left join latest_equity
        on accounts.account_id = latest_equity.account_id

)

select * from final
