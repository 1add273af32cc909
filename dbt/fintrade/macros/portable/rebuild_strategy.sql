{#- How an incremental model of bars replaces the rows it rebuilt. PostgreSQL deletes the keys and
    inserts them again (an index probe per key). DuckDB merges: in one transaction it refuses to
    insert a key it has just deleted from a table with a primary key (its over-eager unique
    check), which is what a rebuilt bar is. -#}
{% macro rebuild_strategy() %}
    {{- return(adapter.dispatch('rebuild_strategy', 'fintrade')()) -}}
{% endmacro %}

{% macro default__rebuild_strategy() %}{{ return('merge') }}{% endmacro %}

{% macro postgres__rebuild_strategy() %}{{ return('delete+insert') }}{% endmacro %}
