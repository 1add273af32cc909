{#- An order-free checksum of a group's rows: the sum of a 64-bit hash of each row's `columns`
    as text, so two sets of rows compare in one aggregate each, with no sort and no join of
    rows. `hashtextextended` on PostgreSQL, `hash` elsewhere (DuckDB); the sum is exact
    (numeric, hugeint). -#}
{% macro checksum_of(columns) %}
    {{- return(adapter.dispatch('checksum_of', 'fintrade')(columns)) -}}
{% endmacro %}

{% macro default__checksum_of(columns) -%}
    sum(hash(concat_ws('|', {{ _checksum_texts(columns) }})))
{%- endmacro %}

{% macro postgres__checksum_of(columns) -%}
    sum(hashtextextended(concat_ws('|', {{ _checksum_texts(columns) }}), 0)::numeric)
{%- endmacro %}

{% macro _checksum_texts(columns) -%}
    {%- for column in columns -%}
        coalesce(cast({{ column }} as {{ dbt.type_string() }}), '~')
        {%- if not loop.last %}, {% endif -%}
    {%- endfor -%}
{%- endmacro %}
