{#
    The first of the last `price_lookback_days` dates stored in `relation`, for an incremental
    build's window. Read when the model compiles and written in as a date literal, so the planner
    sees the real boundary and reads the date index: a boundary computed inside the query is
    estimated at a third of the table, and the whole history is scanned for ten days of it.
    Unit tests (whose `this` is a fixture, not a table) set the var compile_time_lookback to
    false and get the same boundary as a subquery.
#}
{% macro lookback_start(relation, date_column) -%}
    {%- set boundary -%}
        select coalesce(min(recent.{{ date_column }}), cast('0001-01-01' as date))
        from (
            select distinct {{ date_column }}
            from {{ relation }}
            order by {{ date_column }} desc
            limit {{ var('price_lookback_days') }}
        ) as recent
    {%- endset -%}
    {%- if execute and var('compile_time_lookback', true) -%}
        cast('{{ run_query(boundary).columns[0].values()[0] }}' as date)
    {%- else -%}
        ({{ boundary }})
    {%- endif -%}
{%- endmacro %}
