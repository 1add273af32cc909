{#
    Incremental by what arrived, not by a date window (macros/changed_bars.sql): a build
    rewrites the bars raw stamped since the last one (a stock's first history, late bars,
    restatements of any age), the bar after each of them, and every bar of a symbol whose
    adjustment factors changed; a bar raw withdrew is deleted by the post-hook. DuckDB merges
    the rows instead of deleting and inserting them (macros/portable/rebuild_strategy.sql).
    `loaded_at` is raw's stamp of the bar, the watermark the next build starts from. The unique
    index serves the delete+insert and the per-bar probes, the one on loaded_at the watermark.
    The totals the completeness tests compare are kept beside it (macros/bar_totals.sql).
#}
{{
    config(
        materialized='incremental',
        unique_key=['symbol', 'price_date'],
        incremental_strategy=rebuild_strategy(),
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['symbol', 'price_date'], 'unique': true},
            {'columns': ['price_date']},
            {'columns': ['loaded_at']}
        ],
        pre_hook=["{{ wait_for_bar_loads() }}"],
        post_hook=[
            "{{ delete_withdrawn_bars(this, ref('stg_daily_prices'), 'price_date', 'lake_key') }}",
            "{{ keep_bar_totals('bar_totals', bar_checksum()) }}",
            "{{ keep_bar_totals('figure_totals', figure_checksum('price_date', 'adjusted_volume')) }}"
        ]
    )
}}

-- depends_on: {{ source('raw', 'withdrawn_prices') }}

with

-- Not materialized: used more than once, and each use must reach the table's indexes (a
-- materialized CTE is a full copy of every bar, scanned again by each use).
daily_prices as {{ not_materialized() }} (

    select * from {{ ref('stg_daily_prices') }}

),

price_adjustments as (

    select * from {{ ref('dim_price_adjustments') }}

),

dividends as (

    select * from {{ ref('stg_dividends') }}

),

stocks as (

    select * from {{ ref('stg_stocks') }}

),

-- Each dividend on the bar it counts from: its ex-date's, or the next one when the ex-date has
-- no bar (one index probe per dividend), so a missing bar never drops it from the returns. A
-- dividend ex-dated before the symbol's first stored bar went ex outside the history: it counts
-- on no bar, rather than all of them summed onto the first (a second probe, for a bar on or
-- before the ex-date).
dividend_first_bars as (

    select
        dividends.symbol,
        dividends.dividend_amount,
        (
            select min(daily_prices.price_date)
            from daily_prices
            where
                daily_prices.symbol = dividends.symbol
                and daily_prices.price_date >= dividends.ex_dividend_date
        ) as price_date

    from dividends
    where exists (
        select 1
        from daily_prices as history_bars
        where
            history_bars.symbol = dividends.symbol
            and history_bars.price_date <= dividends.ex_dividend_date
    )

),

dividend_bars as (

    select
        symbol,
        price_date,
        sum(dividend_amount) as dividend_amount

    from dividend_first_bars
    where price_date is not null
    group by symbol, price_date

),

-- A fingerprint of every factor in force per symbol; 'none' for a symbol without actions. On
-- PostgreSQL the string hashed is the one concat_ws(':', ...) gave before DuckDB was an engine,
-- so a warehouse built then does not rebuild every symbol.
adjustment_versions as (

    select
        symbol,
        {{
            dbt.hash(
                dbt.listagg(
                    dbt.concat([
                        'cast(valid_from_date as ' ~ dbt.type_string() ~ ')',
                        "':'",
                        'cast(cumulative_split_factor as ' ~ dbt.type_string() ~ ')',
                        "':'",
                        'cast(total_return_factor as ' ~ dbt.type_string() ~ ')'
                    ]),
                    "'|'",
                    'order by valid_from_date'
                )
            )
        }} as adjustment_version

    from price_adjustments
    group by symbol

),

{% if is_incremental() %}

stored_bars as {{ not_materialized() }} (

    select * from {{ this }}

),

-- Each stock with a date after any bar: the latest bar is the nearest one on or before it (an
-- ASOF join needs the bound as a column).
stock_horizons as (

    select
        symbol,
        cast('9999-12-31' as date) as horizon_date

    from stocks

),

-- What arrived since the last build, at any date (macros/changed_bars.sql).
changed_keys as (

    {{ changed_bars('daily_prices', 'stored_bars') }}

),

-- The bar after each changed one: its previous close is the changed bar (and a dividend
-- ex-dated between them now counts on the changed bar), one index probe per changed bar.
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

-- Every bar of a symbol is built with the same fingerprint, so its latest stored bar says
-- which factors the stored history has (one probe per stock).
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

-- A new, corrected or withdrawn split or dividend changes the factors of every earlier day,
-- however old: such a symbol's whole history is rebuilt.
readjusted_symbols as (

    select stored_versions.symbol

    from stored_versions
    left join adjustment_versions
        on stored_versions.symbol = adjustment_versions.symbol
    where
        stored_versions.adjustment_version
        is distinct from coalesce(adjustment_versions.adjustment_version, 'none')

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

    union

    select
        daily_prices.symbol,
        daily_prices.price_date
    from daily_prices
    where
        {{ value_in('daily_prices.symbol', 'select symbol from readjusted_symbols') }}

),

{% endif %}

window_bars as (

    select
        daily_prices.*,
        true as in_window

    from daily_prices
    {% if is_incremental() %}
    inner join rebuilt_keys
        on
            daily_prices.symbol = rebuilt_keys.symbol
            and daily_prices.price_date = rebuilt_keys.price_date
    {% endif %}

),

{% if is_incremental() %}

-- The bar just before each rebuilt one that is not rebuilt itself (an index lookup on
-- PostgreSQL, an ASOF join on DuckDB): with it in the set, every rebuilt bar's lag below is its
-- true previous bar, and no build computes the change over the whole history.
prior_bars as (

    select
        prior_bar.*,
        false as in_window

    from rebuilt_keys
    {{
        nearest_bar(
            'daily_prices',
            'rebuilt_keys.symbol',
            '<',
            'rebuilt_keys.price_date',
            'prior_bar'
        )
    }}
    where not exists (
        select 1
        from rebuilt_keys as rebuilt
        where
            rebuilt.symbol = prior_bar.symbol
            and rebuilt.price_date = prior_bar.price_date
    )

),

{% endif %}

with_previous_close as (

    select
        *,
        lag(close_price) over (partition by symbol order by price_date) as previous_close_price,
        lag(price_date) over (partition by symbol order by price_date) as previous_price_date

    from (
        select * from window_bars
        {% if is_incremental() %}
        union all
        select * from prior_bars
        {% endif %}
    ) as bars

),

window_prices as (

    select
        symbol,
        price_date,
        open_price,
        high_price,
        low_price,
        close_price,
        volume,
        price_source,
        lake_key,
        loaded_at,
        previous_close_price,
        previous_price_date,
        close_price - previous_close_price as price_change

    from with_previous_close
    where in_window

),

with_factors as (

    select
        window_prices.*,
        coalesce(day_factors.cumulative_split_factor, 1) as cumulative_split_factor,
        coalesce(day_factors.total_return_factor, 1) as total_return_factor,
        -- A symbol's first bar has no previous day: its own factors make a neutral ratio.
        coalesce(
            previous_day_factors.cumulative_split_factor,
            day_factors.cumulative_split_factor,
            1
        ) as previous_cumulative_split_factor,
        coalesce(
            previous_day_factors.total_return_factor, day_factors.total_return_factor, 1
        ) as previous_total_return_factor,
        coalesce(dividend_bars.dividend_amount, 0) as dividend_amount,
        coalesce(adjustment_versions.adjustment_version, 'none') as adjustment_version

    from window_prices
    left join price_adjustments as day_factors
        on
            window_prices.symbol = day_factors.symbol
            and window_prices.price_date >= day_factors.valid_from_date
            and window_prices.price_date < day_factors.valid_to_date
    left join price_adjustments as previous_day_factors
        on
            window_prices.symbol = previous_day_factors.symbol
            and window_prices.previous_price_date >= previous_day_factors.valid_from_date
            and window_prices.previous_price_date < previous_day_factors.valid_to_date
    left join dividend_bars
        on
            window_prices.symbol = dividend_bars.symbol
            and window_prices.price_date = dividend_bars.price_date
    left join adjustment_versions
        on window_prices.symbol = adjustment_versions.symbol

),

-- The day's return compares the close with the previous close in the same shares: a split
-- between the two days is undone (previous close / its factor against close / today's).
day_ratios as (

    select
        *,
        (close_price / cumulative_split_factor)
        / nullif(previous_close_price / previous_cumulative_split_factor, 0) as price_ratio,
        (close_price / cumulative_split_factor / total_return_factor)
        / nullif(
            previous_close_price
            / previous_cumulative_split_factor
            / previous_total_return_factor,
            0
        ) as total_return_ratio

    from with_factors

),

final as (

    select
        symbol,
        price_date,
        open_price,
        high_price,
        low_price,
        close_price,
        volume,
        previous_close_price,
        price_change,
        cast(round(100 * (price_ratio - 1), 4) as {{ decimal_type(18, 4) }}) as price_change_pct,
        cast(ln(price_ratio) as double precision) as log_return,
        price_source,
        lake_key,
        loaded_at,
        cast(
            round(previous_cumulative_split_factor / cumulative_split_factor, 6)
            as {{ decimal_type(24, 6) }}
        ) as split_factor,
        cast(dividend_amount as {{ decimal_type(18, 6) }}) as dividend_amount,
        cumulative_split_factor,
        total_return_factor,
        cast(round(open_price / cumulative_split_factor, 6) as {{ decimal_type(24, 6) }})
            as adjusted_open_price,
        cast(round(high_price / cumulative_split_factor, 6) as {{ decimal_type(24, 6) }})
            as adjusted_high_price,
        cast(round(low_price / cumulative_split_factor, 6) as {{ decimal_type(24, 6) }})
            as adjusted_low_price,
        cast(round(close_price / cumulative_split_factor, 6) as {{ decimal_type(24, 6) }})
            as adjusted_close_price,
        cast(round(volume * cumulative_split_factor) as bigint) as adjusted_volume,
        cast(
            round(close_price / cumulative_split_factor / total_return_factor, 6)
            as {{ decimal_type(24, 6) }}
        ) as total_return_close_price,
        cast(
            round(100 * (total_return_ratio - 1), 4) as {{ decimal_type(18, 4) }}
        ) as total_return_pct,
        adjustment_version

    from day_ratios

)

select * from final
