{#- The one bar of the same symbol nearest a date, joined to each row of the query's `from`: the
    first bar on or after it (comparison '>=' or '>') or the last bar before it ('<' or '<=').
    A row with no such bar drops out, as from an inner join. On PostgreSQL a lateral subquery
    that reads one row of the (symbol, price_date) index per row (docs/scale.md, "Indexes and
    plans"); a plain join would read every bar of the history to find a few thousand. Other
    engines spell it ASOF JOIN (DuckDB; Snowflake's MATCH_CONDITION form would be a
    `snowflake__nearest_bar`), which sorts both sides once instead of probing.
    `bars` is the relation or CTE of bars, `symbol` and `price_date` the left side's columns,
    `alias` the name the bar's columns are read by, `columns` those the lateral returns. -#}
{% macro nearest_bar(bars, symbol, comparison, price_date, alias, columns=['*']) %}
    {%- if comparison not in ['>=', '>', '<=', '<'] -%}
        {{ exceptions.raise_compiler_error(
            "nearest_bar: comparison must be one of >=, >, <=, <, not " ~ comparison
        ) }}
    {%- endif -%}
    {{- return(adapter.dispatch('nearest_bar', 'fintrade')(
        bars, symbol, comparison, price_date, alias, columns
    )) -}}
{% endmacro %}

{% macro default__nearest_bar(bars, symbol, comparison, price_date, alias, columns) -%}
    asof join {{ bars }} as {{ alias }}
        on
            {{ alias }}.symbol = {{ symbol }}
            and {{ alias }}.price_date {{ comparison }} {{ price_date }}
{%- endmacro %}

{% macro postgres__nearest_bar(bars, symbol, comparison, price_date, alias, columns) -%}
    cross join lateral (
        select
            {%- for column in columns %} {{ bars }}.{{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ bars }}
        where
            {{ bars }}.symbol = {{ symbol }}
            and {{ bars }}.price_date {{ comparison }} {{ price_date }}
        order by {{ bars }}.price_date{{ ' desc' if comparison.startswith('<') }}
        limit 1
    ) as {{ alias }}
{%- endmacro %}
