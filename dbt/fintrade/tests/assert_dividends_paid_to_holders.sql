-- Every account is paid the dividends it was owed: Σ over dividends paid by the as-of date of
-- the shares it held at the close before the ex-date (its trades before the ex-date × the splits
-- after each trade and on or before the ex-date) × the amount, to the cent, summed straight from
-- the trades, is the summary's dividend_income; returns the accounts where it is not.
with

trades as (

    select * from {{ ref('fct_trades') }}

),

dividends as (

    select * from {{ ref('stg_dividends') }}

),

stock_splits as (

    select * from {{ ref('stg_stock_splits') }}

),

summary as (

    select * from {{ ref('mart_account_summary') }}

),

trade_shares as (

    select
        trades.account_id,
        dividends.symbol,
        dividends.ex_dividend_date,
        coalesce(dividends.payment_date, dividends.ex_dividend_date) as paid_date,
        dividends.dividend_amount,
        trades.trade_id,
        (case when trades.trade_type = 'buy' then 1 else -1 end)
        * trades.quantity
        * coalesce({{ factor_product('stock_splits.split_factor') }}, 1) as ex_date_quantity

    from dividends
    inner join trades
        on
            dividends.symbol = trades.symbol
            and dividends.ex_dividend_date > trades.trade_date
    left join stock_splits
        on
            trades.symbol = stock_splits.symbol
            and trades.trade_date < stock_splits.effective_date
            and dividends.ex_dividend_date >= stock_splits.effective_date
    group by
        trades.account_id,
        dividends.symbol,
        dividends.ex_dividend_date,
        dividends.payment_date,
        dividends.dividend_amount,
        trades.trade_id,
        trades.trade_type,
        trades.quantity

),

owed as (

    select
        account_id,
        paid_date,
        round(sum(ex_date_quantity) * dividend_amount, 2) as owed_amount

    from trade_shares
    group by account_id, symbol, ex_dividend_date, paid_date, dividend_amount

),

owed_to_date as (

    select
        owed.account_id,
        sum(owed.owed_amount) as owed_amount

    from owed
    inner join summary
        on owed.account_id = summary.account_id
    where owed.paid_date <= summary.as_of_date
    group by owed.account_id

),

unpaid as (

    select
        summary.account_id,
        summary.dividend_income,
        coalesce(owed_to_date.owed_amount, 0) as owed_amount

    from summary
    left join owed_to_date
        on summary.account_id = owed_to_date.account_id

)

select * from unpaid
where dividend_income is distinct from owed_amount
