{#- Bounded-cost completeness: per symbol, how many bars a table holds and an order-free checksum
    of them (the sum of a hash per bar), so the dbt tests can compare two tables' whole histories
    by one row per symbol.

    PostgreSQL keeps those totals beside each table as it is written, by statement triggers on
    the table (raw.keep_bar_totals in sql/init.sql): raw.daily_price_totals for raw's bars, and
    `<model>_<name>` beside an incremental model (in its schema), set up by `keep_bar_totals` as
    its post-hook.
    A night's cost follows the rows it wrote, not the history, and no build's idea of what
    changed can fool the totals: a write updates them, whoever makes it. Other engines (DuckDB)
    read their raw bars from the lake on every build anyway: there the totals are an aggregate
    of the table, one columnar scan. -#}

{#- A bar's raw facts (dates, stamp, provenance and as-traded values), as the checksum both raw
    and the fact hash them with. -#}
{% macro bar_checksum() %}
    {{- return(adapter.dispatch('bar_checksum', 'fintrade')()) -}}
{% endmacro %}

{% macro default__bar_checksum() -%}
    {{ row_checksum(['price_date', 'loaded_at', 'lake_key', 'open_price', 'high_price',
        'low_price', 'close_price', 'volume']) }}
{%- endmacro %}

{% macro postgres__bar_checksum() -%}
    raw.bar_checksum(
        price_date, loaded_at, lake_key, open_price, high_price, low_price, close_price, volume
    )
{%- endmacro %}

{#- A bar's figures as fct_daily_prices computes them and mart_daily_trading repeats them, under
    each model's names for its date and adjusted volume. The stamp as epoch seconds, which read
    the same in every session's time zone: a trigger fires in whichever session writes. -#}
{% macro figure_checksum(date_column, volume_column) -%}
    {{ row_checksum([date_column, 'extract(epoch from loaded_at)', 'close_price', 'adjusted_close_price',
        'price_change_pct', 'total_return_pct', 'dividend_amount', volume_column,
        'adjustment_version']) }}
{%- endmacro %}

{#- A post-hook: keeps the totals `name` of `this` (rows where `counted` holds, hashed by
    `checksum`). A full build (the first, or --full-refresh, which makes a new table) counts
    them once and puts the triggers on the new table; an incremental build leaves it to them. -#}
{% macro keep_bar_totals(name, checksum, counted='true') %}
    {{- return(adapter.dispatch('keep_bar_totals', 'fintrade')(name, checksum, counted)) -}}
{% endmacro %}

{% macro default__keep_bar_totals(name, checksum, counted) %}{% endmacro %}

{% macro postgres__keep_bar_totals(name, checksum, counted) -%}
    {%- set totals = this.incorporate(path={'identifier': this.identifier ~ '_' ~ name}) -%}
    {%- set kept = adapter.get_relation(totals.database, totals.schema, totals.identifier) -%}
    {%- if not is_incremental() or kept is none -%}
        create table if not exists {{ totals }} (
            symbol text primary key,
            bar_count bigint not null,
            bar_checksum numeric not null
        );
        truncate {{ totals }};
        insert into {{ totals }} (symbol, bar_count, bar_checksum)
        select symbol, count(*), sum({{ checksum }})
        from {{ this }}
        where {{ counted }}
        group by symbol;
        {%- for event, tables in [
            ('insert', 'new table as new_rows'),
            ('update', 'old table as old_rows new table as new_rows'),
            ('delete', 'old table as old_rows')
        ] %}
        create or replace trigger {{ this.identifier ~ '_' ~ name ~ '_' ~ event }}
        after {{ event }} on {{ this }} referencing {{ tables }}
        for each statement execute function raw.keep_bar_totals(
            '{{ totals.include(database=false) }}', $checksum${{ checksum }}$checksum$, $counted${{ counted }}$counted$
        );
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}

{#- The totals `name` of `relation` (symbol, bar_count, bar_checksum), of its rows where
    `counted` holds and dated at most `through` (a date expression; none for all). On
    PostgreSQL the kept totals, less the rows after `through` (an index range of the dates
    after it); elsewhere one aggregate. -#}
{% macro bar_totals(relation, name, checksum, date_column, counted='true', through=none) %}
    {{- return(adapter.dispatch('bar_totals', 'fintrade')(
        relation, name, checksum, date_column, counted, through
    )) -}}
{% endmacro %}

{% macro default__bar_totals(relation, name, checksum, date_column, counted, through) -%}
    select symbol, count(*) as bar_count, sum({{ checksum }}) as bar_checksum
    from {{ relation }}
    where
        {{ counted }}
        {%- if through is not none %}
            and {{ date_column }} <= {{ through }}
        {%- endif %}
    group by symbol
{%- endmacro %}

{% macro postgres__bar_totals(relation, name, checksum, date_column, counted, through) -%}
    {%- set identifier = relation.identifier ~ '_' ~ name -%}
    {%- set totals = relation.incorporate(path={'identifier': identifier}) -%}
    {%- if through is none -%}
        select symbol, bar_count, bar_checksum
        from {{ totals }}
        where bar_count <> 0
    {%- else -%}
        select
            kept.symbol,
            kept.bar_count - coalesce(later.bar_count, 0) as bar_count,
            kept.bar_checksum - coalesce(later.bar_checksum, 0) as bar_checksum
        from {{ totals }} as kept
        left join (
            select symbol, count(*) as bar_count, sum({{ checksum }}) as bar_checksum
            from {{ relation }}
            where {{ counted }} and {{ date_column }} > {{ through }}
            group by symbol
        ) as later
            on kept.symbol = later.symbol
        where kept.bar_count - coalesce(later.bar_count, 0) <> 0
    {%- endif -%}
{%- endmacro %}

{#- raw's totals: the loaders' triggers keep them on PostgreSQL (raw.daily_price_totals). -#}
{% macro raw_bar_totals() %}
    {{- return(adapter.dispatch('raw_bar_totals', 'fintrade')()) -}}
{% endmacro %}

{% macro default__raw_bar_totals() -%}
    {{ bar_totals(ref('stg_daily_prices'), 'bar_totals', bar_checksum(), 'price_date') }}
{%- endmacro %}

{% macro postgres__raw_bar_totals() -%}
    select symbol, bar_count, bar_checksum
    from {{ source('raw', 'daily_price_totals') }}
    where bar_count <> 0
{%- endmacro %}
