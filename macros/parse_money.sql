{#- A decimal amount from text ("49.00", "-12.5", "1e2"), or null when the text is not a plain number
    (thousands separators, currency signs, decimal commas and underscores are not numbers here). -#}
{% macro parse_money(column) -%}
    {{ return(adapter.dispatch('parse_money', 'customer_lifecycle')(column)) }}
{%- endmacro %}

{% macro duckdb__parse_money(column) -%}
    {%- set text = customer_lifecycle.spaces_trimmed(column) -%}
    case
        when regexp_full_match({{ text }}, '[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?')
            then coalesce(
                try_cast({{ text }} as {{ customer_lifecycle.money_type() }}),
                try_cast(try_cast({{ text }} as double) as {{ customer_lifecycle.money_type() }})
            )
    end
{%- endmacro %}

{% macro postgres__parse_money(column) -%}
    {{ target.schema }}.lifecycle_try_money(trim({{ column }}))
{%- endmacro %}

{#- Spark: Java regular expressions, written without backslashes (Spark reads them as escapes in
    string literals). -#}
{% macro spark__parse_money(column) -%}
    case
        when trim({{ column }}) rlike '^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$'
            then coalesce(
                try_cast(trim({{ column }}) as {{ customer_lifecycle.money_type() }}),
                try_cast(try_cast(trim({{ column }}) as double) as {{ customer_lifecycle.money_type() }})
            )
    end
{%- endmacro %}
