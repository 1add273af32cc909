-- The summary's deposits, withdrawals and dividends paid are every one dated on or before the
-- as-of date, and its receivable every dividend gone ex by then and paid after it, summed
-- straight from the ledger facts: a flow on an as-of date that is no session (a Saturday) counts
-- on it, not on a session after it. Returns the accounts where any differs.
with

summary as (

    select * from {{ ref('mart_account_summary') }}

),

cash_movements as (

    select * from {{ ref('fct_cash_movements') }}

),

dividend_payments as (

    select * from {{ ref('fct_dividend_payments') }}

),

movements_to_date as (

    select
        cash_movements.account_id,
        sum(
            case when cash_movements.movement_type = 'deposit' then cash_movements.amount end
        ) as deposit_amount,
        sum(
            case when cash_movements.movement_type = 'withdrawal' then cash_movements.amount end
        ) as withdrawal_amount

    from cash_movements
    inner join summary
        on cash_movements.account_id = summary.account_id
    where cash_movements.movement_date <= summary.as_of_date
    group by cash_movements.account_id

),

dividends_to_date as (

    select
        dividend_payments.account_id,
        sum(
            case
                when dividend_payments.paid_date <= summary.as_of_date
                    then dividend_payments.paid_amount
            end
        ) as dividend_income,
        sum(
            case
                when dividend_payments.paid_date > summary.as_of_date
                    then dividend_payments.paid_amount
            end
        ) as dividend_receivable

    from dividend_payments
    inner join summary
        on dividend_payments.account_id = summary.account_id
    where dividend_payments.ex_dividend_date <= summary.as_of_date
    group by dividend_payments.account_id

),

compared as (

    select
        summary.account_id,
        summary.as_of_date,
        summary.deposit_amount,
        coalesce(movements_to_date.deposit_amount, 0) as expected_deposit_amount,
        summary.withdrawal_amount,
        coalesce(movements_to_date.withdrawal_amount, 0) as expected_withdrawal_amount,
        summary.dividend_income,
        coalesce(dividends_to_date.dividend_income, 0) as expected_dividend_income,
        summary.dividend_receivable,
        coalesce(dividends_to_date.dividend_receivable, 0) as expected_dividend_receivable

    from summary
    left join movements_to_date
        on summary.account_id = movements_to_date.account_id
    left join dividends_to_date
        on summary.account_id = dividends_to_date.account_id

)

select * from compared
where
    deposit_amount <> expected_deposit_amount
    or withdrawal_amount <> expected_withdrawal_amount
    or dividend_income <> expected_dividend_income
    or dividend_receivable <> expected_dividend_receivable
