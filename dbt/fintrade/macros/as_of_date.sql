{#
    The `as_of` var as a SQL date, or a typed null when unset, so a mart can write
    coalesce({{ as_of_date() }}, max(price_date)) and never depend on the wall clock.
#}
{% macro as_of_date() -%}
    {%- set as_of = var('as_of', none) -%}
    {%- if as_of -%}
        cast('{{ as_of }}' as date)
    {%- else -%}
        cast(null as date)
    {%- endif -%}
{%- endmacro %}
