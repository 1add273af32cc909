-- A dividend counts in the total return of the bar it goes ex on, or of the next bar when its
-- ex-date has none: that bar's total return over its price return is 1 + amount / close.
-- Returns the dividends (with a bar on or after the ex-date) whose bar shows anything else.
with

dividends as (

    select * from {{ ref('stg_dividends') }}

),

daily_prices as {{ not_materialized() }} (

    select * from {{ ref('fct_daily_prices') }}

),

dividend_bars as (

    select
        dividends.symbol,
        dividends.ex_dividend_date,
        dividends.dividend_amount,
        first_bars.price_date,
        first_bars.close_price,
        first_bars.price_change_pct,
        first_bars.total_return_pct

    from dividends
    {{
        nearest_bar(
            'daily_prices',
            'dividends.symbol',
            '>=',
            'dividends.ex_dividend_date',
            'first_bars',
            columns=['price_date', 'close_price', 'price_change_pct', 'total_return_pct']
        )
    }}

)

select * from dividend_bars
where
    -- A symbol's first bar has no previous close and so no return to count it in.
    total_return_pct is not null
    and abs(
        (1 + total_return_pct / 100) / (1 + price_change_pct / 100)
        - (1 + dividend_amount / close_price)
    ) > 0.0001
