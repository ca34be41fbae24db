{#- Aggregate: `value` of the row that comes first in the order of `order_by` (a list of columns),
    among the rows where `condition` holds; null when there is none. -#}
{% macro value_at_first(value, order_by, condition) -%}
    {{ return(adapter.dispatch('value_at_first', 'customer_lifecycle')(value, order_by, condition)) }}
{%- endmacro %}

{% macro default__value_at_first(value, order_by, condition) -%}
    (array_agg({{ value }} order by {{ order_by | join(', ') }}) filter (where {{ condition }}))[1]
{%- endmacro %}

{% macro duckdb__value_at_first(value, order_by, condition) -%}
    arg_min({{ value }}, ({{ order_by | join(', ') }})) filter (where {{ condition }})
{%- endmacro %}

{% macro spark__value_at_first(value, order_by, condition) -%}
    min_by({{ value }}, struct({{ order_by | join(', ') }})) filter (where {{ condition }})
{%- endmacro %}
