{#- One row per month, column `month` (a date, the first day), from start_month to end_month inclusive.
    Both arguments are SQL expressions for first-of-month dates, evaluated per row of `from_relation`
    (typically a one-row table such as int_reporting_window). -#}
{% macro month_series(start_month, end_month, from_relation) -%}
    {{ return(adapter.dispatch('month_series', 'customer_lifecycle')(start_month, end_month, from_relation)) }}
{%- endmacro %}

{% macro duckdb__month_series(start_month, end_month, from_relation) -%}
    select cast(unnest(generate_series({{ start_month }}, {{ end_month }}, interval 1 month)) as date) as month
    from {{ from_relation }}
    where {{ start_month }} is not null and {{ end_month }} is not null
{%- endmacro %}

{% macro postgres__month_series(start_month, end_month, from_relation) -%}
    select cast(generate_series({{ start_month }}, {{ end_month }}, interval '1 month') as date) as month
    from {{ from_relation }}
    where {{ start_month }} is not null and {{ end_month }} is not null
{%- endmacro %}

{% macro spark__month_series(start_month, end_month, from_relation) -%}
    select cast(month as date) as month
    from (
        select explode(sequence({{ start_month }}, {{ end_month }}, interval 1 month)) as month
        from {{ from_relation }}
        where {{ start_month }} is not null and {{ end_month }} is not null
    ) as months_exploded
{%- endmacro %}
