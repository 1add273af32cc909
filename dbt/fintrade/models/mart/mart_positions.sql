with

position_changes as (

    select * from {{ ref('fct_position_changes') }}

),

-- Not materialized: used more than once, and each use must reach the table's indexes (a
-- materialized CTE is a full copy of every bar, scanned again by each use).
daily_prices as {{ not_materialized() }} (

    select * from {{ ref('fct_daily_prices') }}

),

stock_splits as (

    select * from {{ ref('stg_stock_splits') }}

),

exchange_sessions as (

    select * from {{ ref('dim_exchange_sessions') }}

),

as_of as (

    select coalesce({{ as_of_date() }}, max(price_date)) as as_of_date
    from daily_prices

),

-- From the first position change on: the days before it hold no position.
first_change as (

    select min(change_date) as first_change_date
    from position_changes

),

-- The days are the exchange's sessions, not the dates that have bars: a session on which no
-- symbol has one keeps its positions, valued at the last close. The as-of date is a day too
-- when it is no session (a Saturday), so the as-of figures are on it, in its shares.
trading_days as (

    select exchange_sessions.session_date as trading_date
    from exchange_sessions
    cross join as_of
    cross join first_change
    where
        exchange_sessions.session_date >= first_change.first_change_date
        and exchange_sessions.session_date <= as_of.as_of_date

    union

    select as_of.as_of_date as trading_date
    from as_of
    cross join first_change
    where as_of.as_of_date >= first_change.first_change_date

),

-- Only symbols someone has held reach the rows below (every join to them is inner), so only
-- their bars are read: a few symbols' history, not the whole universe's.
symbols as (

    select distinct symbol
    from position_changes

),

-- On PostgreSQL `= any(array(...))` rather than `in (select ...)` (macros/portable/value_in.sql):
-- the planner then reads the held symbols' bars by the primary key instead of hashing the whole
-- history against a dozen symbols.
held_prices as (

    select daily_prices.*
    from daily_prices
    where {{ value_in('daily_prices.symbol', 'select symbols.symbol from symbols') }}

),

-- Each position carried over every trading day until the account next trades the symbol.
position_days as (

    select
        position_changes.*,
        trading_days.trading_date

    from position_changes
    inner join trading_days
        on
            position_changes.change_date <= trading_days.trading_date
            and (
                position_changes.next_change_date is null
                or position_changes.next_change_date > trading_days.trading_date
            )

),

-- Every symbol on every trading day, with its latest price date on or before it: the day's own
-- bar, or the last one before when the symbol has none that day.
symbol_days as (

    select
        symbols.symbol,
        trading_days.trading_date,
        max(daily_prices.price_date) over (
            partition by symbols.symbol
            order by trading_days.trading_date
        ) as close_price_date

    from symbols
    cross join trading_days
    left join held_prices as daily_prices
        on
            symbols.symbol = daily_prices.symbol
            and trading_days.trading_date = daily_prices.price_date

),

-- Split-adjusted shares become the day's shares by dividing by the splits still to come.
later_split_factors as (

    select
        symbol_days.symbol,
        symbol_days.trading_date,
        {{ factor_product('stock_splits.split_factor') }} as later_split_factor

    from symbol_days
    inner join stock_splits
        on
            symbol_days.symbol = stock_splits.symbol
            and symbol_days.trading_date < stock_splits.effective_date
    group by symbol_days.symbol, symbol_days.trading_date

),

-- A close carried forward over a split day without a bar is in pre-split shares: divided by
-- the splits effective after its date and on or before the day, it is in the day's shares.
carried_split_factors as (

    select
        symbol_days.symbol,
        symbol_days.trading_date,
        {{ factor_product('stock_splits.split_factor') }} as carried_split_factor

    from symbol_days
    inner join stock_splits
        on
            symbol_days.symbol = stock_splits.symbol
            and symbol_days.close_price_date < stock_splits.effective_date
            and symbol_days.trading_date >= stock_splits.effective_date
    group by symbol_days.symbol, symbol_days.trading_date

),

day_positions as (

    select
        position_days.account_id,
        position_days.symbol,
        position_days.trading_date as as_of_date,
        {{
            decimal_quotient(
                'position_days.held_quantity',
                'coalesce(later_split_factors.later_split_factor, 1)',
                12
            )
        }} as quantity,
        position_days.cost_basis,
        position_days.realised_pnl,
        symbol_days.close_price_date,
        {{
            decimal_quotient(
                'daily_prices.close_price',
                'coalesce(carried_split_factors.carried_split_factor, 1)',
                12
            )
        }} as close_price

    from position_days
    inner join symbol_days
        on
            position_days.symbol = symbol_days.symbol
            and position_days.trading_date = symbol_days.trading_date
    inner join held_prices as daily_prices
        on
            symbol_days.symbol = daily_prices.symbol
            and symbol_days.close_price_date = daily_prices.price_date
    left join later_split_factors
        on
            position_days.symbol = later_split_factors.symbol
            and position_days.trading_date = later_split_factors.trading_date
    left join carried_split_factors
        on
            position_days.symbol = carried_split_factors.symbol
            and position_days.trading_date = carried_split_factors.trading_date

),

final as (

    select
        account_id,
        symbol,
        as_of_date,
        cast(quantity as {{ decimal_type(18, 6) }}) as quantity,
        cast(
            {{ decimal_quotient('cost_basis', 'nullif(quantity, 0)', 4) }}
            as {{ decimal_type(18, 4) }}
        ) as average_cost,
        cast(cost_basis as {{ decimal_type(18, 2) }}) as cost_basis,
        close_price_date,
        cast(close_price as {{ decimal_type(18, 4) }}) as close_price,
        cast(quantity * close_price as {{ decimal_type(18, 2) }}) as market_value,
        cast(
            cast(quantity * close_price as {{ decimal_type(18, 2) }})
            - cast(cost_basis as {{ decimal_type(18, 2) }})
            as {{ decimal_type(18, 2) }}
        ) as unrealised_pnl,
        cast(realised_pnl as {{ decimal_type(18, 2) }}) as realised_pnl

    from day_positions

)

select * from final
