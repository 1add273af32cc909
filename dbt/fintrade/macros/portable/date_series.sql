{#- Every date from start_date to end_date, both included, one row each: a set-returning
    expression for a select list, cast to date by the caller (`from` holds the row the bounds
    come from). PostgreSQL's generate_series returns rows there; DuckDB's returns a list, which
    unnest turns into rows. -#}
{% macro date_series(start_date, end_date) %}
    {{- return(adapter.dispatch('date_series', 'fintrade')(start_date, end_date)) -}}
{% endmacro %}

{% macro default__date_series(start_date, end_date) -%}
    unnest(generate_series({{ start_date }}, {{ end_date }}, interval '1 day'))
{%- endmacro %}

{% macro postgres__date_series(start_date, end_date) -%}
    generate_series({{ start_date }}, {{ end_date }}, interval '1 day')
{%- endmacro %}
