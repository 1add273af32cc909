{#- On DuckDB, the raw schema comes from the lake instead of the loaders' PostgreSQL tables
    (docs/engines.md): this on-run-start hook rebuilds every raw table from the lake's Parquet,
    with the columns and types of sql/init.sql (raw_columns), before any model reads it.

    - daily_prices: every price snapshot's bars, the newest snapshot of a (symbol, price_date)
      winning, keyed to the snapshot that first gave its values (the start of their last
      unbroken run), as the loads' upsert and `fintrade replay` key them. A snapshot holds only
      the bars that met the raw contract, so what the loader rejected is not in it.
    - dividends, stock_splits: a snapshot is the symbol's whole list, so the newest snapshot's
      list, each action keyed to the first of the consecutive snapshots listing it unchanged.
    - the OLTP tables: the extracts the newest manifest names (storage/oltp_extracts.py).
    - loaded_at: the date of the snapshot that gave the values (midnight UTC); the extracts
      keep PostgreSQL's own stamps.

    Tables, not views: the lake is read once per build, and every model of the build reads the
    same moment of it. Rows are stored in key order (the extracts are written in it), so a build
    of the same lake reads them in the same order every time. On PostgreSQL the hook is empty. -#}
{% macro raw_from_lake() %}
    {%- if target.type != 'duckdb' or not execute -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set lake = env_var('FINTRADE_DUCKDB_LAKE', 's3://fintrade-raw') -%}
    {%- set statements = ['create schema if not exists raw'] -%}
    {%- do statements.append(_lake_prices(lake)) -%}
    {%- do statements.append(_lake_actions(lake, 'dividends', 'dividends', 'ex_dividend_date',
        ['amount', 'declaration_date', 'record_date', 'payment_date', 'source'])) -%}
    {%- do statements.append(_lake_actions(lake, 'stock_splits', 'splits', 'effective_date',
        ['split_factor', 'source'])) -%}
    {%- for table, key in _lake_extracts(lake).items() -%}
        {%- do statements.append(
            'create or replace table raw.' ~ table ~ ' as select '
            ~ _lake_select_list(table) ~ " from read_parquet('" ~ lake ~ '/' ~ key ~ "')"
        ) -%}
    {%- endfor -%}
    {{- return(statements | join(';\n')) -}}
{% endmacro %}

{#- The raw table's columns, each cast to its type; `expressions` gives a column's value where
    it is not the source column of the same name. -#}
{% macro _lake_select_list(table, expressions={}) %}
    {%- set columns = [] -%}
    {%- for name, type in raw_columns()[table] -%}
        {%- do columns.append(
            'cast(' ~ expressions.get(name, '"' ~ name ~ '"') ~ ' as ' ~ type ~ ') as "' ~ name ~ '"'
        ) -%}
    {%- endfor -%}
    {{- return(columns | join(', ')) -}}
{% endmacro %}

{#- A lake URL (s3://bucket/key) as the key the loaders record, and the date a key ends in. -#}
{% macro _lake_key(url) %}{{ return("regexp_replace(" ~ url ~ ", '^s3://[^/]+/', '')") }}{% endmacro %}

{% macro _lake_key_date(key) %}
    {{- return("cast(regexp_extract(" ~ key ~ ", 'date=([0-9-]+)\\.parquet$', 1) as date)") -}}
{% endmacro %}

{% macro _lake_files(pattern) %}
    {%- set found = run_query("select count(*) from glob('" ~ pattern ~ "')") -%}
    {{- return(found.columns[0].values()[0] > 0) -}}
{% endmacro %}

{% macro _lake_empty(table) %}
    {{- return('create or replace table raw.' ~ table ~ ' as select '
        ~ _lake_select_list(table, _lake_nulls(table)) ~ ' where false') -}}
{% endmacro %}

{% macro _lake_nulls(table) %}
    {%- set nulls = {} -%}
    {%- for name, type in raw_columns()[table] -%}{%- do nulls.update({name: 'null'}) -%}{%- endfor -%}
    {{- return(nulls) -}}
{% endmacro %}

{% macro _lake_prices(lake) %}
    {%- set pattern = lake ~ '/raw/parquet/symbol=*/date=*.parquet' -%}
    {%- if not _lake_files(pattern) -%}{{- return(_lake_empty('daily_prices')) -}}{%- endif -%}
    {%- set values = ['open_price', 'high_price', 'low_price', 'close_price', 'volume', 'source'] -%}
    {%- set changed = [] -%}
    {%- for name in values -%}
        {%- do changed.append('lag(' ~ name ~ ') over bar_snapshots is distinct from ' ~ name) -%}
    {%- endfor -%}
    {{- return(
        "create or replace table raw.daily_prices as
        with snapshot_bars as (
            select *, " ~ _lake_key('filename') ~ " as snapshot_key
            from read_parquet('" ~ pattern ~ "', filename = true, hive_partitioning = false)
        ),

        changes as (
            select *, " ~ (changed | join(' or ')) ~ " as starts_run
            from snapshot_bars
            window bar_snapshots as (partition by symbol, price_date order by snapshot_key)
        ),

        runs as (
            select
                *,
                max(case when starts_run then snapshot_key end) over (
                    partition by symbol, price_date order by snapshot_key
                    rows between unbounded preceding and current row
                ) as run_key,
                row_number() over (
                    partition by symbol, price_date order by snapshot_key desc
                ) as newest_first
            from changes
        )

        select " ~ _lake_select_list('daily_prices', {
            'lake_key': 'run_key', 'loaded_at': _lake_key_date('run_key')}) ~ "
        from runs
        where newest_first = 1
        order by symbol, price_date"
    ) -}}
{% endmacro %}

{% macro _lake_actions(lake, table, dataset, key_column, value_columns) %}
    {%- set pattern = lake ~ '/raw/actions/parquet/' ~ dataset ~ '/symbol=*/date=*.parquet' -%}
    {%- if not _lake_files(pattern) -%}{{- return(_lake_empty(table)) -}}{%- endif -%}
    {%- set changed = ['lag(snapshot_number) over listings is distinct from snapshot_number - 1'] -%}
    {%- for name in value_columns -%}
        {%- do changed.append('lag(' ~ name ~ ') over listings is distinct from ' ~ name) -%}
    {%- endfor -%}
    {{- return(
        "create or replace table raw." ~ table ~ " as
        with snapshots as (
            select
                " ~ _lake_key('file') ~ " as snapshot_key,
                regexp_extract(file, '/symbol=([^/]+)/', 1) as snapshot_symbol
            from glob('" ~ pattern ~ "')
        ),

        numbered_snapshots as (
            select
                snapshot_key,
                row_number() over (
                    partition by snapshot_symbol order by snapshot_key
                ) as snapshot_number,
                count(*) over (partition by snapshot_symbol) as snapshot_count
            from snapshots
        ),

        listed as (
            select actions.*, numbered_snapshots.*
            from read_parquet('" ~ pattern ~ "', filename = true, hive_partitioning = false)
                as actions
            inner join numbered_snapshots
                on " ~ _lake_key('actions.filename') ~ " = numbered_snapshots.snapshot_key
        ),

        changes as (
            select *, " ~ (changed | join(' or ')) ~ " as starts_run
            from listed
            window listings as (partition by symbol, " ~ key_column ~ " order by snapshot_number)
        ),

        runs as (
            select
                *,
                max(case when starts_run then snapshot_key end) over (
                    partition by symbol, " ~ key_column ~ " order by snapshot_number
                    rows between unbounded preceding and current row
                ) as run_key
            from changes
        )

        select " ~ _lake_select_list(table, {
            'lake_key': 'run_key', 'loaded_at': _lake_key_date('run_key')}) ~ "
        from runs
        where snapshot_number = snapshot_count
        order by symbol, " ~ key_column
    ) -}}
{% endmacro %}

{#- {table: key} of the newest manifest: the one whose rows were stamped last, then the latest
    date (storage/oltp_extracts.py says why not the date alone). -#}
{% macro _lake_extracts(lake) %}
    {%- set pattern = lake ~ '/raw/oltp/manifest/date=*.parquet' -%}
    {%- if not _lake_files(pattern) -%}
        {{- exceptions.raise_compiler_error(
            'the lake ' ~ lake ~ ' holds no OLTP extracts (raw/oltp/manifest/): '
            ~ 'run `fintrade ingest` or `fintrade run` for a date first') -}}
    {%- endif -%}
    {%- set manifest = run_query(
        "select table_name, lake_key from read_parquet('" ~ pattern ~ "', filename = true)
        qualify rank() over (order by extracted_through desc, filename desc) = 1
        order by table_name") -%}
    {%- set extracts = {} -%}
    {%- for row in manifest.rows -%}{%- do extracts.update({row[0]: row[1]}) -%}{%- endfor -%}
    {%- for table in raw_columns() -%}
        {%- if table not in ['daily_prices', 'dividends', 'stock_splits'] and table not in extracts -%}
            {{- exceptions.raise_compiler_error(
                'the newest OLTP manifest of ' ~ lake ~ ' names no extract of raw.' ~ table) -}}
        {%- endif -%}
    {%- endfor -%}
    {{- return(extracts) -}}
{% endmacro %}
