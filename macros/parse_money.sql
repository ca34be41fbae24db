{#- A decimal amount from text ("49.00", "-12.5", "1e2"), or null when the text is not a number. -#}
{% macro parse_money(column) -%}
    {{ return(adapter.dispatch('parse_money', 'customer_lifecycle')(column)) }}
{%- endmacro %}

{% macro duckdb__parse_money(column) -%}
    coalesce(
        try_cast(trim({{ column }}) as {{ customer_lifecycle.money_type() }}),
        try_cast(try_cast(trim({{ column }}) as double) as {{ customer_lifecycle.money_type() }})
    )
{%- endmacro %}

{% macro postgres__parse_money(column) -%}
    {{ target.schema }}.lifecycle_try_money(trim({{ column }}))
{%- endmacro %}
