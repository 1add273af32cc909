{#- `expression` is one of the values `query` (a one-column select) returns. PostgreSQL plans
    `in (select ...)` as a hash join over the whole table even when the subquery returns a dozen
    values; `= any(array(select ...))` runs the subquery first and reads the table by its index
    for those values alone (mart_positions reads only the held symbols' bars). Other engines
    plan a plain `in` well, and most do not have PostgreSQL's array constructor. -#}
{% macro value_in(expression, query) %}
    {{- return(adapter.dispatch('value_in', 'fintrade')(expression, query)) -}}
{% endmacro %}

{% macro default__value_in(expression, query) -%}
    {{ expression }} in ({{ query }})
{%- endmacro %}

{% macro postgres__value_in(expression, query) -%}
    {{ expression }} = any(array({{ query }}))
{%- endmacro %}
