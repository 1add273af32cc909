-- For every account: opening cash + deposits − withdrawals − buys + sells − fees + dividends
-- paid to the as-of date, summed straight from the ledger facts, is the summary's cash;
-- returns the accounts where it is not.
with

accounts as (

    select * from {{ ref('dim_accounts') }}

),

trades as (

    select * from {{ ref('fct_trades') }}

),

cash_movements as (

    select * from {{ ref('fct_cash_movements') }}

),

dividend_payments as (

    select * from {{ ref('fct_dividend_payments') }}

),

summary as (

    select * from {{ ref('mart_account_summary') }}

),

trade_cash as (

    select
        trades.account_id,
        sum(
            case
                when trades.trade_type = 'buy' then -trades.traded_amount
                else trades.traded_amount
            end
            - trades.fee_amount
        ) as cash_change

    from trades
    inner join summary
        on trades.account_id = summary.account_id
    where trades.trade_date <= summary.as_of_date
    group by trades.account_id

),

movement_cash as (

    select
        cash_movements.account_id,
        sum(cash_movements.cash_change) as cash_change

    from cash_movements
    inner join summary
        on cash_movements.account_id = summary.account_id
    where cash_movements.movement_date <= summary.as_of_date
    group by cash_movements.account_id

),

dividend_cash as (

    select
        dividend_payments.account_id,
        sum(dividend_payments.paid_amount) as cash_change

    from dividend_payments
    inner join summary
        on dividend_payments.account_id = summary.account_id
    where dividend_payments.paid_date <= summary.as_of_date
    group by dividend_payments.account_id

),

reconciled as (

    select
        summary.account_id,
        summary.cash_balance,
        accounts.balance
        + coalesce(movement_cash.cash_change, 0)
        + coalesce(trade_cash.cash_change, 0)
        + coalesce(dividend_cash.cash_change, 0) as ledger_cash

    from summary
    inner join accounts
        on summary.account_id = accounts.account_id
    left join trade_cash
        on summary.account_id = trade_cash.account_id
    left join movement_cash
        on summary.account_id = movement_cash.account_id
    left join dividend_cash
        on summary.account_id = dividend_cash.account_id

)

select * from reconciled
where cash_balance is distinct from ledger_cash
