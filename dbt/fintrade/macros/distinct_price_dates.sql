{#
    The distinct price dates of `relation` (a table with an index on price_date). `since`, a
    scalar query, starts the dates there: a mart of the accounts' days needs none before the
    first account, however much price history was loaded.
    On PostgreSQL one index probe per date, a recursive "loose index scan": a plain
    `select distinct` reads every bar, which at thousands of symbols is millions of rows for a
    few thousand dates. A columnar engine (DuckDB) reads the one price_date column in a scan,
    faster than any recursion, so the other engines get the plain `select distinct`.
#}
{% macro distinct_price_dates(relation, since=none) -%}
    {{- return(adapter.dispatch('distinct_price_dates', 'fintrade')(relation, since)) -}}
{%- endmacro %}

{% macro default__distinct_price_dates(relation, since) -%}
    select distinct price_date
    from {{ relation }}
    {%- if since %}
    where price_date >= ({{ since }})
    {%- endif %}
{%- endmacro %}

{% macro postgres__distinct_price_dates(relation, since) -%}
    with recursive loose_scan as (

        select min(price_date) as price_date
        from {{ relation }}
        {%- if since %}
        where price_date >= ({{ since }})
        {%- endif %}

        union all

        select (
            select min(later_bars.price_date)
            from {{ relation }} as later_bars
            where later_bars.price_date > loose_scan.price_date
        ) as price_date
        from loose_scan
        where loose_scan.price_date is not null

    )

    select price_date
    from loose_scan
    where price_date is not null
{%- endmacro %}
