{#
    One row per bar of the whole history, so it is built incrementally like fct_daily_prices,
    by what arrived (macros/changed_bars.sql): a build rewrites the bars fct_daily_prices
    rewrote (read from its `loaded_at` and `lake_key`, the raw provenance both carry), the bars
    after the newest stored day, every bar of a symbol whose adjustment fingerprint changed,
    and the days whose orders or trades changed; the post-hooks delete a bar raw withdrew and
    trim to the as-of date (without an `as_of` var the bound is null and deletes nothing).
    DuckDB merges the rows instead (macros/portable/rebuild_strategy.sql). The dashboard reads
    one symbol's bars at a time, and the delete+insert looks rows up by the same key: the
    unique index keeps both lookups; the one on loaded_at serves the watermark.
#}
{{
    config(
        materialized='incremental',
        unique_key=['symbol', 'trading_date'],
        incremental_strategy=rebuild_strategy(),
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['symbol', 'trading_date'], 'unique': true},
            {'columns': ['trading_date']},
            {'columns': ['loaded_at']}
        ],
        post_hook=[
            "{{ delete_withdrawn_bars(this, ref('fct_daily_prices'), 'trading_date', 'lake_key') }}",
            "delete from {{ this }} where trading_date > {{ as_of_date() }}",
            "{{ keep_bar_totals('figure_totals',
                figure_checksum('trading_date', 'adjusted_market_volume'), 'lake_key is not null') }}"
        ]
    )
}}

-- depends_on: {{ source('raw', 'withdrawn_prices') }}

with

-- Not materialized: used more than once, and each use must reach the table's indexes (a
-- materialized CTE is a full copy of every bar, scanned again by each use).
daily_prices as {{ not_materialized() }} (

    select * from {{ ref('fct_daily_prices') }}

),

trades as (

    select * from {{ ref('fct_trades') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

stocks as (

    select * from {{ ref('stg_stocks') }}

),

as_of as (

    select coalesce({{ as_of_date() }}, max(price_date)) as as_of_date
    from daily_prices

),

daily_trades as (

    select
        trade_date,
        symbol,
        count(*) as trade_count,
        count(distinct account_id) as trading_account_count,
        sum(case when trade_type = 'buy' then quantity end) as bought_quantity,
        sum(case when trade_type = 'sell' then quantity end) as sold_quantity,
        sum(quantity) as traded_quantity,
        sum(traded_amount) as traded_amount

    from trades
    group by trade_date, symbol

),

daily_orders as (

    select
        order_date,
        symbol,
        count(*) as order_count,
        count(case when order_status = 'cancelled' then 1 end) as cancelled_order_count

    from orders
    group by order_date, symbol

),

{% if is_incremental() %}

stored_rows as {{ not_materialized() }} (

    select * from {{ this }}

),

-- The stored rows that carry a bar (a row of activity without one has no provenance), by the
-- names fct_daily_prices gives them.
stored_bars as {{ not_materialized() }} (

    select
        symbol,
        trading_date as price_date,
        lake_key,
        loaded_at,
        adjustment_version

    from stored_rows
    where lake_key is not null

),

-- Each stock with a date after any bar: the latest bar is the nearest one on or before it (an
-- ASOF join needs the bound as a column).
stock_horizons as (

    select
        symbol,
        cast('9999-12-31' as date) as horizon_date

    from stocks

),

-- The same changes fct_daily_prices rebuilt (macros/changed_bars.sql), read from its bars.
changed_keys as (

    {{ changed_bars('daily_prices', 'stored_bars') }}

),

next_keys as (

    select
        next_bar.symbol,
        next_bar.price_date

    from changed_keys
    {{
        nearest_bar(
            'daily_prices',
            'changed_keys.symbol',
            '>',
            'changed_keys.price_date',
            'next_bar',
            ['symbol', 'price_date']
        )
    }}

),

stored_versions as (

    select
        stocks.symbol,
        latest_bar.adjustment_version

    from stock_horizons as stocks
    {{
        nearest_bar(
            'stored_bars',
            'stocks.symbol',
            '<=',
            'stocks.horizon_date',
            'latest_bar',
            ['adjustment_version']
        )
    }}

),

current_versions as (

    select
        stocks.symbol,
        latest_bar.adjustment_version

    from stock_horizons as stocks
    {{
        nearest_bar(
            'daily_prices',
            'stocks.symbol',
            '<=',
            'stocks.horizon_date',
            'latest_bar',
            ['adjustment_version']
        )
    }}

),

readjusted_symbols as (

    select current_versions.symbol

    from current_versions
    left join stored_versions
        on current_versions.symbol = stored_versions.symbol
    where
        current_versions.adjustment_version
        is distinct from stored_versions.adjustment_version

),

rebuilt_keys as (

    select
        symbol,
        price_date
    from changed_keys

    union

    select
        symbol,
        price_date
    from next_keys

),

-- Bars after the newest stored day: those an `as_of` build left out (its post-hook trims them).
latest_stored as (

    select coalesce(max(price_date), cast('0001-01-01' as date)) as trading_date
    from stored_bars

),

-- Orders and trades are only ever added: a day whose totals differ from the stored row's (or
-- that has no row yet) is rebuilt, wherever it falls (a back-filled date).
activity_days as (

    select
        coalesce(daily_trades.symbol, daily_orders.symbol) as symbol,
        coalesce(daily_trades.trade_date, daily_orders.order_date) as trading_date,
        coalesce(daily_orders.order_count, 0) as order_count,
        coalesce(daily_orders.cancelled_order_count, 0) as cancelled_order_count,
        coalesce(daily_trades.trade_count, 0) as trade_count,
        coalesce(daily_trades.traded_quantity, 0) as traded_quantity,
        coalesce(daily_trades.traded_amount, 0) as traded_amount

    from daily_trades
    full outer join daily_orders
        on
            daily_trades.trade_date = daily_orders.order_date
            and daily_trades.symbol = daily_orders.symbol

),

changed_activity_days as (

    select
        activity_days.symbol,
        activity_days.trading_date

    from activity_days
    left join {{ this }} as stored_rows
        on
            activity_days.symbol = stored_rows.symbol
            and activity_days.trading_date = stored_rows.trading_date
    where
        activity_days.order_count is distinct from stored_rows.order_count
        or activity_days.cancelled_order_count is distinct from stored_rows.cancelled_order_count
        or activity_days.trade_count is distinct from stored_rows.trade_count
        or activity_days.traded_quantity is distinct from stored_rows.traded_quantity
        or activity_days.traded_amount is distinct from stored_rows.traded_amount

),

{% endif %}

-- One select per reason, each on an index of fct_daily_prices.
rebuilt_prices as (

    select daily_prices.*
    from daily_prices
    {% if is_incremental() %}
    inner join rebuilt_keys
        on
            daily_prices.symbol = rebuilt_keys.symbol
            and daily_prices.price_date = rebuilt_keys.price_date

    union

    select daily_prices.*
    from daily_prices
    cross join latest_stored
    where daily_prices.price_date > latest_stored.trading_date

    union

    select daily_prices.*
    from daily_prices
    where
        {{ value_in('daily_prices.symbol', 'select symbol from readjusted_symbols') }}

    union

    select daily_prices.*
    from daily_prices
    inner join changed_activity_days
        on
            daily_prices.symbol = changed_activity_days.symbol
            and daily_prices.price_date = changed_activity_days.trading_date
    {% endif %}

),

-- Orders or trades of a symbol on a day it has no bar (a vendor gap): the day still gets its
-- row, price columns null, so every trade and order is counted.
unpriced_activity as (

    select
        coalesce(daily_trades.trade_date, daily_orders.order_date) as trading_date,
        coalesce(daily_trades.symbol, daily_orders.symbol) as symbol

    from daily_trades
    full outer join daily_orders
        on
            daily_trades.trade_date = daily_orders.order_date
            and daily_trades.symbol = daily_orders.symbol

),

-- A daily build looks only at the days in the lookback window or whose activity changed.
rebuilt_activity as (

    select unpriced_activity.*

    from unpriced_activity
    {% if is_incremental() %}
    cross join latest_stored
    where
        unpriced_activity.trading_date > latest_stored.trading_date
        or exists (
            select 1
            from changed_activity_days
            where
                changed_activity_days.symbol = unpriced_activity.symbol
                and changed_activity_days.trading_date = unpriced_activity.trading_date
        )
        -- A withdrawn bar's day keeps its activity, now without a price.
        or exists (
            select 1
            from changed_keys
            where
                changed_keys.symbol = unpriced_activity.symbol
                and changed_keys.price_date = unpriced_activity.trading_date
        )
    {% endif %}

),

unpriced_days as (

    select rebuilt_activity.*

    from rebuilt_activity
    cross join as_of
    where
        rebuilt_activity.trading_date <= as_of.as_of_date
        and not exists (
            select 1
            from daily_prices
            where
                daily_prices.symbol = rebuilt_activity.symbol
                and daily_prices.price_date = rebuilt_activity.trading_date
        )

),

rebuilt_rows as (

    select
        daily_prices.price_date as trading_date,
        daily_prices.symbol,
        daily_prices.open_price,
        daily_prices.high_price,
        daily_prices.low_price,
        daily_prices.close_price,
        daily_prices.adjusted_close_price,
        daily_prices.price_change_pct,
        daily_prices.volume as market_volume,
        daily_prices.adjusted_volume as adjusted_market_volume,
        daily_prices.total_return_pct,
        daily_prices.split_factor,
        daily_prices.dividend_amount,
        daily_prices.adjustment_version,
        daily_prices.lake_key,
        daily_prices.loaded_at

    from rebuilt_prices as daily_prices
    cross join as_of
    where daily_prices.price_date <= as_of.as_of_date

    union all

    select
        trading_date,
        symbol,
        cast(null as {{ decimal_type(18, 4) }}) as open_price,
        cast(null as {{ decimal_type(18, 4) }}) as high_price,
        cast(null as {{ decimal_type(18, 4) }}) as low_price,
        cast(null as {{ decimal_type(18, 4) }}) as close_price,
        cast(null as {{ decimal_type(24, 6) }}) as adjusted_close_price,
        cast(null as {{ decimal_type(18, 4) }}) as price_change_pct,
        cast(null as bigint) as market_volume,
        cast(null as bigint) as adjusted_market_volume,
        cast(null as {{ decimal_type(18, 4) }}) as total_return_pct,
        cast(null as {{ decimal_type(24, 6) }}) as split_factor,
        cast(null as {{ decimal_type(18, 6) }}) as dividend_amount,
        cast(null as text) as adjustment_version,
        cast(null as text) as lake_key,
        cast(null as timestamptz) as loaded_at

    from unpriced_days

),

final as (

    select
        daily_prices.trading_date,
        daily_prices.symbol,
        daily_prices.open_price,
        daily_prices.high_price,
        daily_prices.low_price,
        daily_prices.close_price,
        daily_prices.adjusted_close_price,
        daily_prices.price_change_pct,
        daily_prices.market_volume,
        daily_prices.adjusted_market_volume,
        coalesce(daily_orders.order_count, 0) as order_count,
        coalesce(daily_orders.cancelled_order_count, 0) as cancelled_order_count,
        coalesce(daily_trades.trade_count, 0) as trade_count,
        coalesce(daily_trades.trading_account_count, 0) as trading_account_count,
        coalesce(daily_trades.bought_quantity, 0) as bought_quantity,
        coalesce(daily_trades.sold_quantity, 0) as sold_quantity,
        coalesce(daily_trades.traded_quantity, 0) as traded_quantity,
        coalesce(daily_trades.traded_amount, 0) as traded_amount,
        round(
            {{
                decimal_quotient(
                    'daily_trades.traded_amount', 'nullif(daily_trades.traded_quantity, 0)', 12
                )
            }},
            4
        ) as volume_weighted_price,
        daily_prices.total_return_pct,
        daily_prices.split_factor,
        daily_prices.dividend_amount,
        daily_prices.adjustment_version,
        daily_prices.lake_key,
        daily_prices.loaded_at

    from rebuilt_rows as daily_prices
    left join daily_trades
        on
            daily_prices.trading_date = daily_trades.trade_date
            and daily_prices.symbol = daily_trades.symbol
    left join daily_orders
        on
            daily_prices.trading_date = daily_orders.order_date
            and daily_prices.symbol = daily_orders.symbol

)

select * from final
