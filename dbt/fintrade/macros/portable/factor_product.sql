{#- The product of a group's positive factors (split factors), as exp(Σ ln) rounded to 9
    places: SQL has no product aggregate. PostgreSQL's ln and exp on numeric are exact to far
    more places, so the rounding gives the exact product. Elsewhere (DuckDB) ln and exp are
    double precision: the rounding still recovers a product of a few short factors, and the
    cast makes it a decimal again, so what it multiplies or divides stays exact decimal
    arithmetic instead of turning into a double. -#}
{% macro factor_product(factor) %}
    {{- return(adapter.dispatch('factor_product', 'fintrade')(factor)) -}}
{% endmacro %}

{% macro default__factor_product(factor) -%}
    cast(round(exp(sum(ln({{ factor }}))), 9) as {{ decimal_type(38, 9) }})
{%- endmacro %}

{% macro postgres__factor_product(factor) -%}
    round(exp(sum(ln({{ factor }}))), 9)
{%- endmacro %}
