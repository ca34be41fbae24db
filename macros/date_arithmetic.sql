{#- Date arithmetic that stays in dates (dbt's dateadd goes through timestamps and intervals, which
    costs on the customer x month grid). -#}

{#- `date_expression` plus `days` (an integer, may be negative), a date. -#}
{% macro add_days(date_expression, days) -%}
    {{ return(adapter.dispatch('add_days', 'customer_lifecycle')(date_expression, days)) }}
{%- endmacro %}

{% macro default__add_days(date_expression, days) -%}
    ({{ date_expression }} + {{ days }})
{%- endmacro %}

{% macro spark__add_days(date_expression, days) -%}
    date_add({{ date_expression }}, {{ days }})
{%- endmacro %}

{#- The last day of the month of `date_expression`, a date. -#}
{% macro month_last_day(date_expression) -%}
    {{ return(adapter.dispatch('month_last_day', 'customer_lifecycle')(date_expression)) }}
{%- endmacro %}

{% macro default__month_last_day(date_expression) -%}
    cast({{ dbt.last_day(date_expression, 'month') }} as date)
{%- endmacro %}

{% macro duckdb__month_last_day(date_expression) -%}
    last_day({{ date_expression }})
{%- endmacro %}

{% macro spark__month_last_day(date_expression) -%}
    last_day({{ date_expression }})
{%- endmacro %}

{#- The month starting `month` has ended on or before `as_of_date`: `is_complete` in every monthly mart. -#}
{% macro month_is_complete(month, as_of_date) -%}
    {{ month_last_day(month) }} <= {{ as_of_date }}
{%- endmacro %}
