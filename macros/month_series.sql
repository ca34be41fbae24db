{#- One row per month, column `month` (a date, the first day), from start_month to end_month inclusive.
    Both arguments are SQL expressions for first-of-month dates, evaluated per row of `from_relation`
    (typically a one-row table such as int_reporting_window). With keep_columns, every column of
    `from_relation` is kept beside `month`: each row is expanded into one row per month of its span. -#}
{% macro month_series(start_month, end_month, from_relation, keep_columns=false) -%}
    {{ return(adapter.dispatch('month_series', 'customer_lifecycle')(start_month, end_month, from_relation, keep_columns)) }}
{%- endmacro %}

{% macro duckdb__month_series(start_month, end_month, from_relation, keep_columns) -%}
    select {{ '*, ' if keep_columns }}cast(unnest(generate_series({{ start_month }}, {{ end_month }}, interval 1 month)) as date) as month
    from {{ from_relation }}
    where {{ start_month }} is not null and {{ end_month }} is not null
{%- endmacro %}

{% macro postgres__month_series(start_month, end_month, from_relation, keep_columns) -%}
    select {{ '*, ' if keep_columns }}cast(generate_series({{ start_month }}, {{ end_month }}, interval '1 month') as date) as month
    from {{ from_relation }}
    where {{ start_month }} is not null and {{ end_month }} is not null
{%- endmacro %}

{#- Spark: sequence() over dates gives dates. -#}
{% macro spark__month_series(start_month, end_month, from_relation, keep_columns) -%}
    select {{ '*, ' if keep_columns }}explode(sequence({{ start_month }}, {{ end_month }}, interval 1 month)) as month
    from {{ from_relation }}
    where {{ start_month }} is not null and {{ end_month }} is not null
{%- endmacro %}
