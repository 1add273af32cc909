-- One row per account and dividend it is owed: the shares held at the close before the ex-date
-- (split-aware, in the ex-date's shares) times the amount per share, paid into cash on the
-- payment date, or on the ex-date when the vendor gives none.

with

position_changes as (

    select * from {{ ref('fct_position_changes') }}

),

dividends as (

    select * from {{ ref('stg_dividends') }}

),

stock_splits as (

    select * from {{ ref('stg_stock_splits') }}

),

-- The position in force at the close before the ex-date: its last change is before the ex-date
-- and the next one (if any) on or after it. Held quantities are in shares after every split.
holdings as (

    select
        position_changes.account_id,
        dividends.symbol,
        dividends.ex_dividend_date,
        coalesce(dividends.payment_date, dividends.ex_dividend_date) as paid_date,
        dividends.dividend_amount,
        position_changes.held_quantity

    from dividends
    inner join position_changes
        on
            dividends.symbol = position_changes.symbol
            and dividends.ex_dividend_date > position_changes.change_date
            and (
                position_changes.next_change_date is null
                or dividends.ex_dividend_date <= position_changes.next_change_date
            )
    where position_changes.held_quantity > 0

),

-- Shares after every split become the ex-date's shares by undoing the splits after it.
later_split_factors as (

    select
        holdings.account_id,
        holdings.symbol,
        holdings.ex_dividend_date,
        round(exp(sum(ln(stock_splits.split_factor))), 9) as later_split_factor

    from holdings
    inner join stock_splits
        on
            holdings.symbol = stock_splits.symbol
            and holdings.ex_dividend_date < stock_splits.effective_date
    group by holdings.account_id, holdings.symbol, holdings.ex_dividend_date

),

final as (

    select
        holdings.account_id,
        holdings.symbol,
        holdings.ex_dividend_date,
        holdings.paid_date,
        cast(
            holdings.held_quantity / coalesce(later_split_factors.later_split_factor, 1)
            as {{ decimal_type(28, 9) }}
        ) as held_quantity,
        holdings.dividend_amount,
        cast(
            round(
                holdings.held_quantity
                / coalesce(later_split_factors.later_split_factor, 1)
                * holdings.dividend_amount,
                2
            ) as {{ decimal_type(18, 2) }}
        ) as paid_amount

    from holdings
    left join later_split_factors
        on
            holdings.account_id = later_split_factors.account_id
            and holdings.symbol = later_split_factors.symbol
            and holdings.ex_dividend_date = later_split_factors.ex_dividend_date

)

select * from final
