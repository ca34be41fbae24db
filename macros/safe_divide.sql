{#- numerator / denominator as a double, null when the denominator is 0 or null. -#}
{% macro safe_divide(numerator, denominator) -%}
    cast({{ numerator }} as {{ customer_lifecycle.double_type() }}) / nullif({{ denominator }}, 0)
{%- endmacro %}

{#- An 8-byte float on every engine (dbt.type_float() is a 4-byte REAL on DuckDB). -#}
{% macro double_type() -%}
    {{ return(adapter.dispatch('double_type', 'customer_lifecycle')()) }}
{%- endmacro %}

{% macro default__double_type() -%}
    double
{%- endmacro %}

{% macro postgres__double_type() -%}
    double precision
{%- endmacro %}
