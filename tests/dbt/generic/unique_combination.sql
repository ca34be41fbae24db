{#- The grain test: no two rows share the same values in `columns`, and none of them is null. -#}
{% test unique_combination(model, columns) %}

select {{ columns | join(', ') }}, count(*) as rows_with_this_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1 or {% for column in columns %}{{ column }} is null{{ ' or ' if not loop.last }}{% endfor %}

{% endtest %}
