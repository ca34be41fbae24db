{#- start + new + reactivated - churned = end every month; this month's start is last month's end;
    churned equals the customers flagged churned in fct_customer_months and is never negative; new
    customers agree with fct_revenue_monthly; every customer-month has one of the five statuses. The
    bridge is counted from groups of spans, fct_customer_months customer by customer: two ways to the
    same numbers. -#}
with

bridge as (

    select
        *,
        lag(customers_end) over (order by month) as previous_customers_end
    from {{ ref('fct_churn_monthly') }}

),

flagged as (

    select
        month,
        count(case when is_churned then 1 end) as churned_customers,
        count(case when is_reactivated then 1 end) as reactivated_customers,
        count(case when status is null or status not in ('new', 'retained', 'reactivated', 'churned', 'lapsed') then 1 end)
            as unknown_statuses
    from {{ ref('fct_customer_months') }}
    group by month

),

revenue as (

    select * from {{ ref('fct_revenue_monthly') }}

)

select bridge.month, bridge.customers_start, bridge.new_customers, bridge.reactivated_customers,
    bridge.churned_customers, bridge.customers_end
from bridge
left join flagged
    on bridge.month = flagged.month
left join revenue
    on bridge.month = revenue.month
where
    bridge.customers_start + bridge.new_customers + bridge.reactivated_customers - bridge.churned_customers
    <> bridge.customers_end
    or bridge.customers_start <> coalesce(bridge.previous_customers_end, 0)
    or bridge.churned_customers <> coalesce(flagged.churned_customers, 0)
    or bridge.reactivated_customers <> coalesce(flagged.reactivated_customers, 0)
    or coalesce(flagged.unknown_statuses, 0) > 0
    or bridge.churned_customers < 0
    or revenue.month is null
    or bridge.new_customers <> revenue.new_customers
    or abs(bridge.churn_rate + bridge.retention_rate - 1) > 1e-9
