{#- The exchange's calendar date of a timestamptz (var market_timezone): a trade at 21:30 UTC
    belongs to the New York session of that day. `at time zone` is PostgreSQL's and DuckDB's
    spelling; an engine with another (Snowflake's convert_timezone, BigQuery's date(ts, tz))
    adds its own `<adapter>__market_date`. -#}
{% macro market_date(timestamp) %}
    {{- return(adapter.dispatch('market_date', 'fintrade')(timestamp)) -}}
{% endmacro %}

{% macro default__market_date(timestamp) -%}
    cast(({{ timestamp }}) at time zone '{{ var("market_timezone") }}' as date)
{%- endmacro %}
