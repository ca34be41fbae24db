{#- The grain test: no two rows share the same values in `columns` (two nulls count as the same value),
    and none of them is null except those listed in `nullable_columns`. -#}
{% test unique_combination(model, columns, nullable_columns=[]) %}
{%- set required = columns | reject('in', nullable_columns) | list %}

select {{ columns | join(', ') }}, count(*) as rows_with_this_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1{% for column in required %} or {{ column }} is null{% endfor %}

{% endtest %}
