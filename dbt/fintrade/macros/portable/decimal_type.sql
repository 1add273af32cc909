{#- An exact decimal of the given precision and scale. dbt's type_numeric() has no arguments
    (numeric(28,6) on PostgreSQL), and engines differ on the widest scale a plain numeric
    holds (BigQuery's NUMERIC stops at 9), so casts and contracts name their size here. -#}
{% macro decimal_type(precision, scale) %}
    {{- return(adapter.dispatch('decimal_type', 'fintrade')(precision, scale)) -}}
{% endmacro %}

{% macro default__decimal_type(precision, scale) -%}
    numeric({{ precision }}, {{ scale }})
{%- endmacro %}
