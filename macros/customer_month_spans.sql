{#- Base membership, in one place (docs/definitions.md, "Customer-month status").

    A customer's months from the cohort month to the as_of month split into spans: each month with
    money (purchases or refunds) from the cohort month on is an anchor, and its span runs from it to
    the month before the next anchor (or to the as_of month). Within a span nothing is bought, so the
    latest purchase date L is the same in every month of it, and base membership follows from two
    dates:
      - lapse_month, the month of L + N (N = churn_inactivity_days): the customer is in the base at
        the end of every month before it (a month's end, its last day, is within N days of L exactly
        when the next month starts on or before L + N) and at the start of every month up to it;
      - on as_of_date, which ends the as_of month, the customer is in the base when L + N > as_of_date.
    At the start of the anchor month itself the latest purchase before it decides.

    customer_month_spans() selects one row per anchor (with span_base_dates() for the two dates);
    span_month_flags(month) gives a span's flags in one of its months, and customer_month_status() the
    flags that follow from those. Every model that needs base membership (fct_customer_months,
    int_cohort_months_aggregated, and dim_customers, for each customer's last span) uses these, per
    customer-month or per group of alike spans. -#}
{% macro customer_month_spans(customer_months, reporting_window) -%}
    select
        customer_months.customer_id,
        customer_months.cohort_month,
        customer_months.month as anchor_month,
        coalesce(
            cast({{ dbt.dateadd('month', -1, 'customer_months.next_money_month') }} as date),
            reporting_window.as_of_month
        ) as span_end_month,
        customer_months.purchases,
        customer_months.gross_revenue,
        customer_months.refunds,
        customer_months.last_purchase_date_to_date as last_purchase_date,
        {{ customer_lifecycle.span_base_dates(
            'customer_months.month',
            'customer_months.last_purchase_date_before',
            'customer_months.last_purchase_date_to_date',
            'reporting_window.as_of_date'
        ) }},
        reporting_window.as_of_date,
        reporting_window.as_of_month
    from {{ customer_months }} as customer_months
    cross join {{ reporting_window }} as reporting_window
    where
        customer_months.month >= customer_months.cohort_month
        and (customer_months.purchases > 0 or customer_months.refunds < 0)
{%- endmacro %}

{#- What decides base membership in the span of the anchor month `anchor_month` (select-list items):
    `purchase_before`, the latest purchase date before it, and `purchase_to_date`, the latest up to
    its end (the same in every month of the span). -#}
{% macro span_base_dates(anchor_month, purchase_before, purchase_to_date, as_of_date) -%}
    {%- set days = var('churn_inactivity_days') | int -%}
    cast({{ dbt.date_trunc('month', add_days(purchase_to_date, days)) }} as date) as lapse_month,
    coalesce({{ add_days(purchase_before, days) }} >= {{ anchor_month }}, false) as was_in_base_at_anchor_start,
    coalesce({{ add_days(purchase_to_date, days) }} > {{ as_of_date }}, false) as is_in_base_on_as_of_date
{%- endmacro %}

{#- A span's flags in `month`, one of its months (select-list items). -#}
{% macro span_month_flags(month) -%}
    {{ month }} = anchor_month as is_anchor,
    {{ month }} = anchor_month and purchases > 0 as is_active,
    case
        when {{ month }} = anchor_month then was_in_base_at_anchor_start
        else {{ month }} <= lapse_month
    end as was_in_base_at_start,
    case
        when {{ month }} = as_of_month then is_in_base_on_as_of_date
        else {{ month }} < lapse_month
    end as is_in_base_at_end,
    {{ month }} = cohort_month as is_new
{%- endmacro %}

{#- What follows from span_month_flags (select-list items over its columns). -#}
{% macro customer_month_status() -%}
    is_active and not is_new and not was_in_base_at_start as is_reactivated,
    (was_in_base_at_start or is_new or (is_active and not was_in_base_at_start)) and not is_in_base_at_end
        as is_churned,
    case
        when is_new then 'new'
        when is_active and not was_in_base_at_start then 'reactivated'
        when not is_in_base_at_end and was_in_base_at_start then 'churned'
        when was_in_base_at_start then 'retained'
        else 'lapsed'
    end as status
{%- endmacro %}

{#- Every value customer_month_status() gives `status`, in the order it tries them: the marts that
    list a row for each status (fct_customer_status_monthly) take them from here. -#}
{% macro customer_month_statuses() -%}
    {{ return(['new', 'reactivated', 'churned', 'retained', 'lapsed']) }}
{%- endmacro %}
