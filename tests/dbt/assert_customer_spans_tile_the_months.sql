{#- Each customer's spans (a month with money from the cohort month on, and the empty months up to the
    next) tile the months from the cohort month to the as_of month, so the customer x month grid
    (fct_customer_months, which expands them) has one row per customer and month. Checked on the
    spans, in one pass, instead of on the expanded grid: no span ends before it starts, and the spans'
    months add up to every customer's months from cohort to as_of month, with the first span in the
    cohort month (the cohort month has a purchase). -#}
with

spans as (

    {{ customer_month_spans(ref('int_customer_months_paid'), ref('int_reporting_window')) }}

),

span_totals as (

    select
        coalesce(sum({{ dbt.datediff('anchor_month', 'span_end_month', 'month') }} + 1), 0) as span_months,
        count(case when span_end_month < anchor_month then 1 end) as inverted_spans,
        count(case when anchor_month = cohort_month then 1 end) as cohort_spans
    from spans

),

customer_totals as (

    select
        coalesce(sum({{ dbt.datediff('customers.cohort_month', 'reporting_window.as_of_month', 'month') }} + 1), 0)
            as customer_months,
        count(*) as customers
    from {{ ref('int_customers_unioned') }} as customers
    cross join {{ ref('int_reporting_window') }} as reporting_window
    where customers.cohort_month is not null

)

select *
from span_totals
cross join customer_totals
where
    span_totals.span_months <> customer_totals.customer_months
    or span_totals.inverted_spans > 0
    or span_totals.cohort_spans <> customer_totals.customers
