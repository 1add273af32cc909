{#- The mean of a decimal column over a group, nulls left out, to at least `scale` places.
    avg() is exact on PostgreSQL (numeric), Snowflake and BigQuery; DuckDB's avg of a decimal is
    a double, so there it is Σ / count through decimal_quotient, exact and rounded half away
    from zero at `scale`. -#}
{% macro decimal_average(expression, scale) %}
    {{- return(adapter.dispatch('decimal_average', 'fintrade')(expression, scale)) -}}
{% endmacro %}

{% macro default__decimal_average(expression, scale) -%}
    avg({{ expression }})
{%- endmacro %}

{% macro duckdb__decimal_average(expression, scale) -%}
    {{ decimal_quotient('sum(' ~ expression ~ ')', 'count(' ~ expression ~ ')', scale) }}
{%- endmacro %}
