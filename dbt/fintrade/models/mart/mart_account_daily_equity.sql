{%- set money = decimal_type(18, 2) -%}
{#- Each account's running totals, day by day. -#}
{%- set to_date = 'partition by account_days.account_id order by account_days.trading_date' -%}

with

accounts as (

    select * from {{ ref('dim_accounts') }}

),

-- An account's days start at the session of the New York date it was opened.
account_openings as (

    select
        account_id,
        balance as opening_cash,
        {{ market_date('created_at') }} as opened_date

    from accounts

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

positions as (

    select * from {{ ref('mart_positions') }}

),

exchange_sessions as (

    select * from {{ ref('dim_exchange_sessions') }}

),

-- Not materialized: used more than once, and each use must reach the table's indexes (a
-- materialized CTE is a full copy of every bar, scanned again by each use).
daily_prices as {{ not_materialized() }} (

    select * from {{ ref('fct_daily_prices') }}

),

as_of as (

    select coalesce({{ as_of_date() }}, max(price_date)) as as_of_date
    from daily_prices

),

-- From the first account's opening day on (no account has a day before it), and no earlier than
-- the first stored bar, where the price history starts.
first_day as (

    select
        greatest(
            (select min(account_openings.opened_date) from account_openings),
            min(daily_prices.price_date)
        ) as first_date

    from daily_prices

),

-- The days are the exchange's sessions, not the dates that have bars (a session on which no
-- symbol has one keeps its row), and the as-of date when it is none (a Saturday): the flows
-- dated after the last session and by the as-of date count on it, not on a session after it.
distinct_trading_days as (

    select exchange_sessions.session_date as trading_date
    from exchange_sessions
    cross join as_of
    cross join first_day
    where
        exchange_sessions.session_date >= first_day.first_date
        and exchange_sessions.session_date <= as_of.as_of_date

    union

    select as_of.as_of_date as trading_date
    from as_of
    cross join first_day
    where as_of.as_of_date >= first_day.first_date

),

trading_days as (

    select
        trading_date,
        lag(trading_date) over (order by trading_date) as previous_trading_date

    from distinct_trading_days

),

cash_flows as (

    select
        account_id,
        trade_date as flow_date,
        0 as deposit_amount,
        0 as withdrawal_amount,
        case when trade_type = 'buy' then traded_amount else 0 end as bought_amount,
        case when trade_type = 'sell' then traded_amount else 0 end as sold_amount,
        fee_amount,
        0 as dividend_income

    from trades

    union all

    select
        account_id,
        movement_date as flow_date,
        case when movement_type = 'deposit' then amount else 0 end as deposit_amount,
        case when movement_type = 'withdrawal' then amount else 0 end as withdrawal_amount,
        0 as bought_amount,
        0 as sold_amount,
        0 as fee_amount,
        0 as dividend_income

    from cash_movements

    union all

    -- A dividend is cash on its payment date; one paid after the as-of date is not yet.
    select
        account_id,
        paid_date as flow_date,
        0 as deposit_amount,
        0 as withdrawal_amount,
        0 as bought_amount,
        0 as sold_amount,
        0 as fee_amount,
        paid_amount as dividend_income

    from dividend_payments

),

-- Each flow counts on the first day on or after it (a session, or the as-of date).
daily_flows as (

    select
        cash_flows.account_id,
        trading_days.trading_date,
        sum(cash_flows.deposit_amount) as deposit_amount,
        sum(cash_flows.withdrawal_amount) as withdrawal_amount,
        sum(cash_flows.bought_amount) as bought_amount,
        sum(cash_flows.sold_amount) as sold_amount,
        sum(cash_flows.fee_amount) as fee_amount,
        sum(cash_flows.dividend_income) as dividend_income

    from cash_flows
    inner join trading_days
        on
            cash_flows.flow_date <= trading_days.trading_date
            and (
                trading_days.previous_trading_date is null
                or cash_flows.flow_date > trading_days.previous_trading_date
            )
    group by cash_flows.account_id, trading_days.trading_date

),

account_days as (

    select
        account_openings.account_id,
        account_openings.opening_cash,
        trading_days.trading_date

    from account_openings
    cross join trading_days
    where trading_days.trading_date >= account_openings.opened_date

),

cumulative_flows as (

    select
        account_days.account_id,
        account_days.trading_date,
        account_days.opening_cash,
        sum(coalesce(daily_flows.deposit_amount, 0)) over ({{ to_date }}) as deposit_amount,
        sum(coalesce(daily_flows.withdrawal_amount, 0)) over ({{ to_date }}) as withdrawal_amount,
        sum(coalesce(daily_flows.bought_amount, 0)) over ({{ to_date }}) as bought_amount,
        sum(coalesce(daily_flows.sold_amount, 0)) over ({{ to_date }}) as sold_amount,
        sum(coalesce(daily_flows.fee_amount, 0)) over ({{ to_date }}) as fee_amount,
        sum(coalesce(daily_flows.dividend_income, 0)) over ({{ to_date }}) as dividend_income

    from account_days
    left join daily_flows
        on
            account_days.account_id = daily_flows.account_id
            and account_days.trading_date = daily_flows.trading_date

),

-- Between its ex-date and its payment a dividend is owed but not yet cash: a receivable, so
-- equity does not dip on the ex-date, when the price drops by about the dividend.
receivables as (

    select
        dividend_payments.account_id,
        trading_days.trading_date,
        sum(dividend_payments.paid_amount) as dividend_receivable

    from dividend_payments
    inner join trading_days
        on
            dividend_payments.ex_dividend_date <= trading_days.trading_date
            and dividend_payments.paid_date > trading_days.trading_date
    group by dividend_payments.account_id, trading_days.trading_date

),

position_totals as (

    select
        account_id,
        as_of_date,
        sum(market_value) as market_value,
        sum(cost_basis) as cost_basis,
        sum(unrealised_pnl) as unrealised_pnl,
        sum(realised_pnl) as realised_pnl

    from positions
    group by account_id, as_of_date

),

equity_parts as (

    select
        cumulative_flows.account_id,
        cumulative_flows.trading_date as equity_date,
        cumulative_flows.opening_cash,
        cast(cumulative_flows.deposit_amount as {{ money }}) as deposit_amount,
        cast(cumulative_flows.withdrawal_amount as {{ money }}) as withdrawal_amount,
        cast(cumulative_flows.bought_amount as {{ money }}) as bought_amount,
        cast(cumulative_flows.sold_amount as {{ money }}) as sold_amount,
        cast(cumulative_flows.fee_amount as {{ money }}) as fee_amount,
        cast(cumulative_flows.dividend_income as {{ money }}) as dividend_income,
        cast(
            cumulative_flows.opening_cash
            + cumulative_flows.deposit_amount
            - cumulative_flows.withdrawal_amount
            - cumulative_flows.bought_amount
            + cumulative_flows.sold_amount
            - cumulative_flows.fee_amount
            + cumulative_flows.dividend_income
            as {{ money }}
        ) as cash_balance,
        cast(coalesce(position_totals.market_value, 0) as {{ money }}) as market_value,
        cast(coalesce(position_totals.cost_basis, 0) as {{ money }}) as cost_basis,
        cast(coalesce(position_totals.unrealised_pnl, 0) as {{ money }}) as unrealised_pnl,
        cast(coalesce(position_totals.realised_pnl, 0) as {{ money }}) as realised_pnl,
        cast(
            coalesce(receivables.dividend_receivable, 0) as {{ money }}
        ) as dividend_receivable

    from cumulative_flows
    left join position_totals
        on
            cumulative_flows.account_id = position_totals.account_id
            and cumulative_flows.trading_date = position_totals.as_of_date
    left join receivables
        on
            cumulative_flows.account_id = receivables.account_id
            and cumulative_flows.trading_date = receivables.trading_date

),

final as (

    select
        *,
        cast(
            cash_balance + market_value + dividend_receivable as {{ money }}
        ) as total_equity

    from equity_parts

)

select * from final
