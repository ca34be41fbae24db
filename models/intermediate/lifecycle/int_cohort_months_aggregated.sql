{#- One row per cohort, month (from the cohort month to the as_of month) and customer-month status:
    how many of the cohort's customers had that status, bought, were in the base at the start and at
    the end of the month, joined, came back or left, and their net revenue. The single place where
    customers are counted by status; the cohort, churn and status marts sum these rows.

    Counted from the spans (customer_month_spans) without expanding them per customer: spans alike in
    every column that decides a status (cohort, anchor, end, lapse month, flags) are grouped first,
    then each group is expanded into its months and counted with its weight. A customer has one span
    covering each of their months, so summing the groups counts each customer once per month. -#}
with

spans as (

    {{ customer_month_spans(ref('int_customer_months_paid'), ref('int_reporting_window')) }}

),

span_groups as (

    select
        cohort_month,
        anchor_month,
        span_end_month,
        lapse_month,
        was_in_base_at_anchor_start,
        is_in_base_on_as_of_date and span_end_month = as_of_month as is_in_base_on_as_of_date,
        purchases > 0 as has_purchases,
        as_of_month,
        count(*) as customers,
        sum(purchases) as purchases,
        sum(gross_revenue + refunds) as net_revenue
    from spans
    group by
        cohort_month,
        anchor_month,
        span_end_month,
        lapse_month,
        was_in_base_at_anchor_start,
        is_in_base_on_as_of_date and span_end_month = as_of_month,
        purchases > 0,
        as_of_month

),

months as (

    {{ month_series('anchor_month', 'span_end_month', 'span_groups', keep_columns=true) }}

),

flagged as (

    select
        cohort_month,
        month,
        customers,
        net_revenue,
        {{ span_month_flags('month') }}
    from months

),

statuses as (

    select
        *,
        {{ customer_month_status() }}
    from flagged

),

final as (

    select
        cohort_month,
        month,
        status,
        {{ dbt.datediff('cohort_month', 'month', 'month') }} as months_since_first,
        cast(sum(customers) as {{ dbt.type_bigint() }}) as customers,
        cast(sum(case when is_active then customers else 0 end) as {{ dbt.type_bigint() }}) as active_customers,
        cast(sum(case when was_in_base_at_start then customers else 0 end) as {{ dbt.type_bigint() }})
            as customers_in_base_at_start,
        cast(sum(case when is_in_base_at_end then customers else 0 end) as {{ dbt.type_bigint() }})
            as customers_in_base_at_end,
        cast(sum(case when is_new then customers else 0 end) as {{ dbt.type_bigint() }}) as new_customers,
        cast(sum(case when is_reactivated then customers else 0 end) as {{ dbt.type_bigint() }})
            as reactivated_customers,
        cast(sum(case when is_churned then customers else 0 end) as {{ dbt.type_bigint() }}) as churned_customers,
        cast(sum(case when is_anchor then net_revenue else 0 end) as {{ money_type() }}) as net_revenue
    from statuses
    group by cohort_month, month, status

)

select * from final
