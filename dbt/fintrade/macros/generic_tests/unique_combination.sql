{#
    Fails once per combination of the given columns that occurs more than once: the grain
    check for tables keyed on several columns, e.g. (symbol, price_date).
#}
{% test unique_combination(model, combination_of_columns) %}

{%- set columns = combination_of_columns | join(', ') %}

select
    {{ columns }},
    count(*) as occurrences
from {{ model }}
group by {{ columns }}
having count(*) > 1

{% endtest %}
