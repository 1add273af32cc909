-- A dividend ex-dated before a symbol's first stored bar went ex outside the history: it counts
-- on no bar. The first bar's dividend_amount (in fct_daily_prices and mart_daily_trading) is
-- only what goes ex on that very day; returns the first bars that carry anything more.
with

dividends as (

    select * from {{ ref('stg_dividends') }}

),

daily_prices as {{ not_materialized() }} (

    select * from {{ ref('fct_daily_prices') }}

),

daily_trading as {{ not_materialized() }} (

    select * from {{ ref('mart_daily_trading') }}

),

-- The dividends with no bar on or before their ex-date (one index probe each).
before_history as (

    select
        dividends.symbol,
        dividends.ex_dividend_date

    from dividends
    where not exists (
        select 1
        from daily_prices
        where
            daily_prices.symbol = dividends.symbol
            and daily_prices.price_date <= dividends.ex_dividend_date
    )

),

-- The symbol's first bar, the next one after each such dividend.
first_bars as (

    select distinct
        first_bar.symbol,
        first_bar.price_date,
        first_bar.dividend_amount

    from before_history
    {{
        nearest_bar(
            'daily_prices',
            'before_history.symbol',
            '>=',
            'before_history.ex_dividend_date',
            'first_bar',
            columns=['symbol', 'price_date', 'dividend_amount']
        )
    }}

),

going_ex_that_day as (

    select
        first_bars.symbol,
        first_bars.price_date,
        first_bars.dividend_amount,
        coalesce(sum(dividends.dividend_amount), 0) as expected_dividend_amount

    from first_bars
    left join dividends
        on
            first_bars.symbol = dividends.symbol
            and first_bars.price_date = dividends.ex_dividend_date
    group by first_bars.symbol, first_bars.price_date, first_bars.dividend_amount

),

compared as (

    select
        going_ex_that_day.symbol,
        going_ex_that_day.price_date,
        going_ex_that_day.expected_dividend_amount,
        going_ex_that_day.dividend_amount as fct_dividend_amount,
        daily_trading.dividend_amount as mart_dividend_amount

    from going_ex_that_day
    left join daily_trading
        on
            going_ex_that_day.symbol = daily_trading.symbol
            and going_ex_that_day.price_date = daily_trading.trading_date

)

select * from compared
where
    fct_dividend_amount <> expected_dividend_amount
    -- A first bar after the as-of date has no mart_daily_trading row.
    or mart_dividend_amount <> expected_dividend_amount
