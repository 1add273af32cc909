{#- A CTE the planner should inline rather than compute once: PostgreSQL 12+ then pushes the
    outer query's filters into it and reads its tables by index (docs/scale.md, "Indexes and
    plans"). Other engines inline on their own, and most do not parse the keyword, so it is
    emitted on PostgreSQL only: `bars as {{ not_materialized() }} (select ...)`. -#}
{% macro not_materialized() %}
    {{- return(adapter.dispatch('not_materialized', 'fintrade')()) -}}
{% endmacro %}

{% macro default__not_materialized() %}{% endmacro %}

{% macro postgres__not_materialized() %}not materialized{% endmacro %}
