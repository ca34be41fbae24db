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

{#- Aggregate: the values of the row that comes first in the order of `order_by` among the rows where
    `condition` holds, for several values at once. `first_row(name, ...)` goes in a grouped select
    and `first_row_value(name, value)` reads one value in a select over it; on DuckDB one min() of a
    struct finds them all, elsewhere each value is a value_at_first of its own. -#}
{% macro first_row(name, values, order_by, condition) -%}
    {{ return(adapter.dispatch('first_row', 'customer_lifecycle')(name, values, order_by, condition)) }}
{%- endmacro %}

{% macro default__first_row(name, values, order_by, condition) -%}
    {%- for value in values -%}
        {{ customer_lifecycle.value_at_first(value, order_by, condition) }} as {{ name }}__{{ value }}{{ ',' if not loop.last }}
    {% endfor -%}
{%- endmacro %}

{% macro duckdb__first_row(name, values, order_by, condition) -%}
    min(case when {{ condition }} then struct_pack(
        {%- for column in order_by %}order_{{ loop.index }} := {{ column }}, {% endfor -%}
        {%- for value in values %}{{ value }} := {{ value }}{{ ', ' if not loop.last }}{% endfor -%}
    ) end) as {{ name }}
{%- endmacro %}

{% macro first_row_value(name, value) -%}
    {{ return(adapter.dispatch('first_row_value', 'customer_lifecycle')(name, value)) }}
{%- endmacro %}

{% macro default__first_row_value(name, value) -%}
    {{ name }}__{{ value }}
{%- endmacro %}

{% macro duckdb__first_row_value(name, value) -%}
    struct_extract({{ name }}, '{{ value }}')
{%- endmacro %}
