{#- One row per `partition_by` (a list of columns of `relation`): the first by `order_by` (a
    list of `<column> [asc|desc]`), every column of it. PostgreSQL's `distinct on` reads the
    sorted rows once and keeps each key's first; it is not SQL anyone else parses, so other
    engines number the rows in a window and keep number 1 (`qualify`: DuckDB, Snowflake,
    BigQuery, Databricks). `order_by` must order a key's rows fully, or engines may keep
    different rows. -#}
{% macro first_row_per(relation, partition_by, order_by) %}
    {{- return(adapter.dispatch('first_row_per', 'fintrade')(relation, partition_by, order_by)) -}}
{% endmacro %}

{% macro default__first_row_per(relation, partition_by, order_by) -%}
    select *
    from {{ relation }}
    qualify
        row_number() over (
            partition by {{ partition_by | join(', ') }}
            order by {{ order_by | join(', ') }}
        ) = 1
{%- endmacro %}

{% macro postgres__first_row_per(relation, partition_by, order_by) -%}
    select distinct on ({{ partition_by | join(', ') }}) *
    from {{ relation }}
    order by {{ partition_by | join(', ') }}, {{ order_by | join(', ') }}
{%- endmacro %}
