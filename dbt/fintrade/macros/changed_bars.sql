{#- What arrived since an incremental model of bars was last built: the (symbol, price_date) keys
    of `bars` (a relation or CTE of bars carrying raw's `lake_key` and `loaded_at`) that are new,
    restated or withdrawn against `stored` (the model's own rows that hold a bar, by the same
    column names). Whatever the date of the bar: a stock's whole history the first time
    it arrives, a late bar, a restatement years back. The model adds what depends on a changed
    bar (the next bar's previous close, a symbol whose factors changed) itself.

    PostgreSQL: a change watermark. The loaders' upsert stamps `loaded_at` on every row it
    inserts or changes, so what changed is what was stamped after the newest stamp already built
    (an index range scan of raw.daily_prices' loaded_at). A load in flight cannot be missed:
    the model reads raw only once every load that began before has committed (its pre-hook,
    `wait_for_bar_loads`), and a load that begins later stamps later. The small
    `change_watermark_margin_seconds` covers the instant between a load's first statement,
    which fixes its stamp, and its lock. Replay's deletions leave a stamped tombstone in
    raw.withdrawn_prices. The cost follows what arrived,
    not the history.
    Other engines (DuckDB): raw is rebuilt from the lake on every build and its `loaded_at` is
    the date of the snapshot that gave the values, which a backfill of an earlier night makes
    older than what is built: the stored bars are compared with raw by their provenance (the
    snapshot key and its date) instead, one hash join of two columns, which a columnar engine
    reads in a scan. -#}
{% macro changed_bars(bars, stored) %}
    {%- if execute and var('compile_time_lookback', true) -%}
        {%- set stored_columns = adapter.get_columns_in_relation(this)
            | map(attribute='name') | map('lower') | list -%}
        {%- if 'loaded_at' not in stored_columns or 'lake_key' not in stored_columns -%}
            {{ exceptions.raise_compiler_error(
                this ~ " was built before it kept raw's lake_key and loaded_at: rebuild it once"
                ~ " with `dbt build --full-refresh --select " ~ this.identifier ~ "`"
            ) }}
        {%- endif -%}
    {%- endif -%}
    {{- return(adapter.dispatch('changed_bars', 'fintrade')(bars, stored)) -}}
{% endmacro %}

{% macro default__changed_bars(bars, stored) -%}
    select {{ bars }}.symbol, {{ bars }}.price_date
    from {{ bars }}
    left join {{ stored }}
        on
            {{ bars }}.symbol = {{ stored }}.symbol
            and {{ bars }}.price_date = {{ stored }}.price_date
    where
        {{ stored }}.symbol is null
        or {{ stored }}.lake_key is distinct from {{ bars }}.lake_key
        or {{ stored }}.loaded_at is distinct from {{ bars }}.loaded_at

    union

    select {{ stored }}.symbol, {{ stored }}.price_date
    from {{ stored }}
    where not exists (
        select 1
        from {{ bars }}
        where
            {{ bars }}.symbol = {{ stored }}.symbol
            and {{ bars }}.price_date = {{ stored }}.price_date
    )
{%- endmacro %}

{% macro postgres__changed_bars(bars, stored) -%}
    {%- set watermark = change_watermark(this) -%}
    select {{ bars }}.symbol, {{ bars }}.price_date
    from {{ bars }}
    where {{ bars }}.loaded_at > {{ watermark }}

    union

    select withdrawn_prices.symbol, withdrawn_prices.price_date
    from {{ source('raw', 'withdrawn_prices') }} as withdrawn_prices
    where withdrawn_prices.withdrawn_at > {{ watermark }}
{%- endmacro %}

{#- The newest raw stamp `relation` holds, less the margin, as a timestamp literal read when the
    model compiles (so the planner sees the real boundary and reads the loaded_at index, as
    lookback_start explains); unit tests, whose `this` is a fixture, get it as a subquery. -#}
{% macro change_watermark(relation) -%}
    {%- set margin = var('change_watermark_margin_seconds') -%}
    {%- set newest -%}
        select coalesce(max(loaded_at), cast('0001-01-01 00:00:00+00' as timestamptz))
            - interval '{{ margin }} seconds'
        from {{ relation }}
    {%- endset -%}
    {%- if execute and var('compile_time_lookback', true) -%}
        cast('{{ run_query(newest).columns[0].values()[0].isoformat() }}' as timestamptz)
    {%- else -%}
        ({{ newest }})
    {%- endif -%}
{%- endmacro %}

{#- Removes the bars of `relation` that raw no longer holds (a post-hook: a delete+insert only
    replaces keys it inserts). `bars` is where the model's bars come from. On PostgreSQL only the
    tombstoned keys are looked at; elsewhere every stored bar, in one anti-join. -#}
{% macro delete_withdrawn_bars(relation, bars, date_column, priced_column) %}
    {{- return(adapter.dispatch('delete_withdrawn_bars', 'fintrade')(
        relation, bars, date_column, priced_column
    )) -}}
{% endmacro %}

{% macro default__delete_withdrawn_bars(relation, bars, date_column, priced_column) -%}
    delete from {{ relation }}
    where
        {{ priced_column }} is not null
        and not exists (
            select 1
            from {{ bars }} as bars
            where
                bars.symbol = {{ relation }}.symbol
                and bars.price_date = {{ relation }}.{{ date_column }}
        )
{%- endmacro %}

{% macro postgres__delete_withdrawn_bars(relation, bars, date_column, priced_column) -%}
    delete from {{ relation }} as stored
    using {{ source('raw', 'withdrawn_prices') }} as withdrawn_prices
    where
        stored.symbol = withdrawn_prices.symbol
        and stored.{{ date_column }} = withdrawn_prices.price_date
        and stored.{{ priced_column }} is not null
        and not exists (
            select 1
            from {{ bars }} as bars
            where
                bars.symbol = stored.symbol
                and bars.price_date = stored.{{ date_column }}
        )
{%- endmacro %}

{#- A pre-hook of a model whose changed_bars read raw (inside its transaction): waits for the
    loads in flight and holds new ones off until the model commits (raw.lock_bars_for_build,
    sql/init.sql). Nothing elsewhere: DuckDB's raw is the lake read by this very build. -#}
{% macro wait_for_bar_loads() %}
    {{- return(adapter.dispatch('wait_for_bar_loads', 'fintrade')()) -}}
{% endmacro %}

{% macro default__wait_for_bar_loads() %}{% endmacro %}

{% macro postgres__wait_for_bar_loads() -%}
    select raw.lock_bars_for_build()
{%- endmacro %}
