{#- Window functions over the rows of a partition in the order of `order_by`, for a `value` that never
    decreases along that order (a date or month of the row, or null), so that the largest value on
    the rows before a row is the latest non-null one, and the smallest on the rows after it is the
    next non-null one. -#}

{#- The largest non-null `value` on the rows before this one (null on the first row). -#}
{% macro largest_before(value, partition_by, order_by) -%}
    {{ return(adapter.dispatch('largest_before', 'customer_lifecycle')(value, partition_by, order_by)) }}
{%- endmacro %}

{% macro default__largest_before(value, partition_by, order_by) -%}
    max({{ value }}) over (
        partition by {{ partition_by }} order by {{ order_by }}
        rows between unbounded preceding and 1 preceding
    )
{%- endmacro %}

{#- DuckDB: the nearest non-null value before, which is the largest (`value` never decreases); lag()
    is cheaper than an aggregate over a growing frame (a 50M-payment build spends about 1.5 s less on
    its windows; docs/decisions.md, "Where the time goes"). -#}
{% macro duckdb__largest_before(value, partition_by, order_by) -%}
    lag({{ value }} ignore nulls) over (partition by {{ partition_by }} order by {{ order_by }})
{%- endmacro %}

{#- The smallest non-null `value` on the rows after this one (null on the last row). -#}
{% macro smallest_after(value, partition_by, order_by) -%}
    {{ return(adapter.dispatch('smallest_after', 'customer_lifecycle')(value, partition_by, order_by)) }}
{%- endmacro %}

{% macro default__smallest_after(value, partition_by, order_by) -%}
    min({{ value }}) over (
        partition by {{ partition_by }} order by {{ order_by }}
        rows between 1 following and unbounded following
    )
{%- endmacro %}

{#- DuckDB: the nearest non-null value after, which is the smallest (`value` never decreases). -#}
{% macro duckdb__smallest_after(value, partition_by, order_by) -%}
    lead({{ value }} ignore nulls) over (partition by {{ partition_by }} order by {{ order_by }})
{%- endmacro %}
