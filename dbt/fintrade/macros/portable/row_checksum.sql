{#- A 64-bit hash of one row's `columns` as text, summed into an order-free checksum of a set of
    rows (macros/bar_totals.sql): `hashtextextended` on PostgreSQL, `hash` elsewhere (DuckDB). -#}
{% macro row_checksum(columns) %}
    {{- return(adapter.dispatch('row_checksum', 'fintrade')(columns)) -}}
{% endmacro %}

{% macro default__row_checksum(columns) -%}
    hash(concat_ws('|', {{ _checksum_texts(columns) }}))
{%- endmacro %}

{% macro postgres__row_checksum(columns) -%}
    hashtextextended(concat_ws('|', {{ _checksum_texts(columns) }}), 0)::numeric
{%- endmacro %}

{% macro _checksum_texts(columns) -%}
    {%- for column in columns -%}
        coalesce(cast({{ column }} as {{ dbt.type_string() }}), '~')
        {%- if not loop.last %}, {% endif -%}
    {%- endfor -%}
{%- endmacro %}
