{#
    Fails on bars whose low is above the open or close, or whose high is below them:
    such a bar cannot have traded and points at a parsing or vendor error.
#}
{% test ohlc_valid(
    model,
    open_column='open_price',
    high_column='high_price',
    low_column='low_price',
    close_column='close_price'
) %}

select *
from {{ model }}
where not (
    {{ low_column }} <= {{ open_column }}
    and {{ low_column }} <= {{ close_column }}
    and {{ open_column }} <= {{ high_column }}
    and {{ close_column }} <= {{ high_column }}
)

{% endtest %}
