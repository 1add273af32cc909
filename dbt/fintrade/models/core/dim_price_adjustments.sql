-- Piecewise-constant adjustment factors: one row per symbol and stretch of days between two
-- corporate-action dates. A bar on price_date takes the row whose [valid_from_date,
-- valid_to_date) holds it; dividing it by cumulative_split_factor puts it in today's shares, and
-- dividing that by total_return_factor reinvests every later dividend.
-- Factors are products over the actions after the stretch, taken as exp(sum(ln)): in numeric on
-- PostgreSQL; DuckDB has ln and exp in double only, so a factor there can differ from
-- PostgreSQL's in its last (12th) decimal.

with

splits as (

    select * from {{ ref('stg_stock_splits') }}

),

dividends as (

    select * from {{ ref('stg_dividends') }}

),

daily_prices as (

    select * from {{ ref('stg_daily_prices') }}

),

-- A dividend reinvested at the ex-date close grows the holding by amount / close. When the
-- ex-date has no bar it is reinvested at the next bar's close, so it still counts from the next
-- bar; one after the latest bar waits for it. One key lookup per dividend on PostgreSQL (a join
-- would read every bar of the history to price a few thousand dividends), an ASOF join on
-- DuckDB: macros/portable/nearest_bar.sql.
dividend_growth as (

    select
        dividends.symbol,
        dividends.ex_dividend_date as event_date,
        ln(1 + dividends.dividend_amount / ex_date_bars.close_price) as log_dividend_growth

    from dividends
    {{
        nearest_bar(
            'daily_prices',
            'dividends.symbol',
            '>=',
            'dividends.ex_dividend_date',
            'ex_date_bars',
            columns=['close_price']
        )
    }}

),

events as (

    select
        symbol,
        effective_date as event_date,
        ln(split_factor) as log_split_factor,
        cast(0 as numeric) as log_dividend_growth

    from splits

    union all

    select
        symbol,
        event_date,
        cast(0 as numeric) as log_split_factor,
        log_dividend_growth

    from dividend_growth

),

event_dates as (

    select
        symbol,
        event_date,
        sum(log_split_factor) as log_split_factor,
        sum(log_dividend_growth) as log_dividend_growth

    from events
    group by symbol, event_date

),

with_later_events as (

    select
        symbol,
        event_date,
        lead(event_date) over symbol_events as next_event_date,
        row_number() over symbol_events as event_number,
        coalesce(
            sum(log_split_factor) over later_events, 0
        ) as log_split_factor_after,
        coalesce(
            sum(log_dividend_growth) over later_events, 0
        ) as log_dividend_growth_after,
        sum(log_split_factor) over every_event as log_split_factor_total,
        sum(log_dividend_growth) over every_event as log_dividend_growth_total

    from event_dates
    window
        symbol_events as (partition by symbol order by event_date),
        later_events as (
            partition by symbol
            order by event_date
            rows between 1 following and unbounded following
        ),
        every_event as (partition by symbol)

),

stretches as (

    -- Before a symbol's first action every action is still to come.
    select
        symbol,
        cast('0001-01-01' as date) as valid_from_date,
        event_date as valid_to_date,
        log_split_factor_total as log_split_factor,
        log_dividend_growth_total as log_dividend_growth

    from with_later_events
    where event_number = 1

    union all

    select
        symbol,
        event_date as valid_from_date,
        coalesce(next_event_date, cast('9999-12-31' as date)) as valid_to_date,
        log_split_factor_after as log_split_factor,
        log_dividend_growth_after as log_dividend_growth

    from with_later_events

),

final as (

    select
        symbol,
        valid_from_date,
        valid_to_date,
        cast(
            round(exp(log_split_factor), 6) as {{ decimal_type(24, 6) }}
        ) as cumulative_split_factor,
        cast(
            round(exp(log_dividend_growth), 12) as {{ decimal_type(24, 12) }}
        ) as total_return_factor

    from stretches

)

select * from final
