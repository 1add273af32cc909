{#
    The distinct price dates of `relation` (a table with an index on price_date), one index probe
    per date: a recursive "loose index scan". A plain `select distinct` reads every bar, which at
    thousands of symbols is millions of rows for a few thousand dates.
#}
{% macro distinct_price_dates(relation) -%}
    with recursive loose_scan as (

        select min(price_date) as price_date
        from {{ relation }}

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
