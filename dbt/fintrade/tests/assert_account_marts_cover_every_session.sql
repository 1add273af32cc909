-- mart_account_daily_equity has a row for each account on every exchange session from its
-- first day to the as-of date, and mart_positions one for each position from the account's
-- first trade in the symbol, a session on which no symbol has a bar included (the as-of date
-- counts as a day too when it is no session). Returns the accounts and positions with a day
-- missing.
with

equity as (

    select * from {{ ref('mart_account_daily_equity') }}

),

positions as (

    select * from {{ ref('mart_positions') }}

),

position_changes as (

    select * from {{ ref('fct_position_changes') }}

),

exchange_sessions as (

    select * from {{ ref('dim_exchange_sessions') }}

),

summary as (

    select * from {{ ref('mart_account_summary') }}

),

as_of as (

    select max(as_of_date) as as_of_date
    from summary

),

days as (

    select exchange_sessions.session_date as day_date
    from exchange_sessions
    cross join as_of
    where exchange_sessions.session_date <= as_of.as_of_date

    union

    select as_of_date as day_date
    from as_of

),

account_spans as (

    select
        'account' as kind,
        account_id,
        cast(null as {{ dbt.type_string() }}) as symbol,
        min(equity_date) as first_date,
        count(*) as day_count

    from equity
    group by account_id

),

position_days as (

    select
        account_id,
        symbol,
        count(*) as day_count

    from positions
    group by account_id, symbol

),

position_spans as (

    select
        'position' as kind,
        position_changes.account_id,
        position_changes.symbol,
        min(position_changes.change_date) as first_date,
        coalesce(max(position_days.day_count), 0) as day_count

    from position_changes
    left join position_days
        on
            position_changes.account_id = position_days.account_id
            and position_changes.symbol = position_days.symbol
    group by position_changes.account_id, position_changes.symbol

),

spans as (

    select * from account_spans
    union all
    select * from position_spans

),

expected as (

    select
        spans.kind,
        spans.account_id,
        spans.symbol,
        spans.first_date,
        spans.day_count,
        count(days.day_date) as expected_day_count

    from spans
    left join days
        on spans.first_date <= days.day_date
    group by spans.kind, spans.account_id, spans.symbol, spans.first_date, spans.day_count

)

select * from expected
where day_count <> expected_day_count
