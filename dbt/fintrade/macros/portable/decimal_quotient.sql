{#- numerator / denominator for decimals, to at least `scale` places. PostgreSQL divides numerics
    as numerics (to 16 significant digits or more), as Snowflake and BigQuery divide their
    decimals, and the caller's cast or round then rounds half away from zero. DuckDB divides
    decimals in double precision, so a quotient that ends in 5 one place past the caller's scale
    (1.01 / 8 = 0.12625) can round down there and up on PostgreSQL: on DuckDB the quotient is
    computed in integers (each side as a decimal(38, 12) times 10^12, a hugeint) and rounded
    half away from zero to `scale` places, a decimal(38, scale). A zero denominator gives null
    there (callers nullif it anyway); operands past 12 places are rounded at the 12th, and
    operands of 10^14 or more overflow (an error, not a wrong figure). -#}
{% macro decimal_quotient(numerator, denominator, scale) %}
    {{- return(adapter.dispatch('decimal_quotient', 'fintrade')(numerator, denominator, scale)) -}}
{% endmacro %}

{% macro default__decimal_quotient(numerator, denominator, scale) -%}
    ({{ numerator }}) / ({{ denominator }})
{%- endmacro %}

{% macro duckdb__decimal_quotient(numerator, denominator, scale) -%}
    {%- set dividend -%}
        abs(cast(cast({{ numerator }} as decimal(38, 12)) * 1000000000000 as hugeint))
    {%- endset -%}
    {%- set divisor -%}
        abs(cast(cast({{ denominator }} as decimal(38, 12)) * 1000000000000 as hugeint))
    {%- endset -%}
    (
        cast(
            sign({{ numerator }}) * sign({{ denominator }})
            * (({{ dividend }} * {{ 2 * 10 ** scale }} + {{ divisor }}) // (2 * {{ divisor }}))
            as decimal(38, 0)
        )
        {%- if scale > 0 %}
        * 0.{{ '0' * (scale - 1) }}1
        {%- endif %}
    )
{%- endmacro %}
