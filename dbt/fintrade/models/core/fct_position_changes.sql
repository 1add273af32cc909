with

trades as (

    select * from {{ ref('fct_trades') }}

),

stock_splits as (

    select * from {{ ref('stg_stock_splits') }}

),

-- The product of the factors of every split after the trade date (exp of a sum of logs, rounded
-- back to the factors' precision), so every share is counted in today's post-split shares.
later_split_factors as (

    select
        trades.trade_id,
        coalesce(
            round(exp(sum(ln(stock_splits.split_factor))), 9), 1
        ) as later_split_factor

    from trades
    left join stock_splits
        on
            trades.symbol = stock_splits.symbol
            and trades.trade_date < stock_splits.effective_date
    group by trades.trade_id

),

adjusted_trades as (

    select
        trades.trade_id,
        trades.account_id,
        trades.symbol,
        trades.trade_type,
        trades.trade_date,
        trades.traded_at,
        trades.traded_amount,
        trades.quantity * later_split_factors.later_split_factor as adjusted_quantity

    from trades
    inner join later_split_factors
        on trades.trade_id = later_split_factors.trade_id

),

-- Each side's shares numbered consecutively in trade order: a trade covers the units
-- (range_start, range_end], and FIFO matches sold unit n with bought unit n.
trade_ranges as (

    select
        *,
        sum(adjusted_quantity) over (
            partition by account_id, symbol, trade_type
            order by traded_at asc, trade_id asc
        ) as range_end

    from adjusted_trades

),

buys as (

    select
        *,
        range_end - adjusted_quantity as range_start,
        traded_amount / adjusted_quantity as unit_cost

    from trade_ranges
    where trade_type = 'buy'

),

sells as (

    select
        *,
        range_end - adjusted_quantity as range_start

    from trade_ranges
    where trade_type = 'sell'

),

sell_costs as (

    select
        sells.trade_id,
        sum(
            (
                least(sells.range_end, buys.range_end)
                - greatest(sells.range_start, buys.range_start)
            ) * buys.unit_cost
        ) as cost_amount

    from sells
    inner join buys
        on
            sells.account_id = buys.account_id
            and sells.symbol = buys.symbol
            and sells.range_end > buys.range_start
            and sells.range_start < buys.range_end
    group by sells.trade_id

),

trade_pnl as (

    select
        adjusted_trades.*,
        case
            when adjusted_trades.trade_type = 'sell'
                then adjusted_trades.traded_amount - coalesce(sell_costs.cost_amount, 0)
            else 0
        end as realised_pnl

    from adjusted_trades
    left join sell_costs
        on adjusted_trades.trade_id = sell_costs.trade_id

),

trading_days as (

    select
        account_id,
        symbol,
        trade_date,
        sum(adjusted_quantity) filter (where trade_type = 'buy') as bought_quantity,
        sum(adjusted_quantity) filter (where trade_type = 'sell') as sold_quantity,
        sum(realised_pnl) as realised_pnl

    from trade_pnl
    group by account_id, symbol, trade_date

),

cumulative as (

    select
        account_id,
        symbol,
        trade_date as change_date,
        lead(trade_date) over account_symbol as next_change_date,
        sum(coalesce(bought_quantity, 0)) over account_symbol as bought_quantity,
        sum(coalesce(sold_quantity, 0)) over account_symbol as sold_quantity,
        sum(realised_pnl) over account_symbol as realised_pnl

    from trading_days
    window account_symbol as (partition by account_id, symbol order by trade_date)

),

-- What is left of each buy once `sold_quantity` units are gone, at the buy's own unit cost.
open_costs as (

    select
        cumulative.account_id,
        cumulative.symbol,
        cumulative.change_date,
        sum(
            greatest(
                0, buys.range_end - greatest(buys.range_start, cumulative.sold_quantity)
            ) * buys.unit_cost
        ) as cost_basis

    from cumulative
    inner join buys
        on
            cumulative.account_id = buys.account_id
            and cumulative.symbol = buys.symbol
            and cumulative.change_date >= buys.trade_date
    group by cumulative.account_id, cumulative.symbol, cumulative.change_date

),

final as (

    select
        cumulative.account_id,
        cumulative.symbol,
        cumulative.change_date,
        cumulative.next_change_date,
        cast(cumulative.bought_quantity as {{ decimal_type(28, 9) }}) as bought_quantity,
        cast(cumulative.sold_quantity as {{ decimal_type(28, 9) }}) as sold_quantity,
        cast(
            cumulative.bought_quantity - cumulative.sold_quantity as {{ decimal_type(28, 9) }}
        ) as held_quantity,
        cast(coalesce(open_costs.cost_basis, 0) as {{ decimal_type(28, 10) }}) as cost_basis,
        cast(cumulative.realised_pnl as {{ decimal_type(28, 10) }}) as realised_pnl

    from cumulative
    left join open_costs
        on
            cumulative.account_id = open_costs.account_id
            and cumulative.symbol = open_costs.symbol
            and cumulative.change_date = open_costs.change_date

)

select * from final
