{#
    Fails on rows whose column is not above zero (or below zero when allow_zero is true):
    prices, quantities and balances can never be negative, and only volume may be zero.
#}
{% test positive_value(model, column_name, allow_zero=false) %}

select *
from {{ model }}
where {{ column_name }} {{ '<' if allow_zero else '<=' }} 0

{% endtest %}
