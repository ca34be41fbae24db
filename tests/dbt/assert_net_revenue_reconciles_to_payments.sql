{#- Net revenue in every money mart equals the sum of the accepted succeeded payments dated on or
    before as_of_date, to the cent (exact decimals). -#}
with

payments_total as (

    select coalesce(sum(payments.amount), 0) as net_revenue
    from {{ ref('stg_billing__payments') }} as payments
    inner join {{ ref('int_reporting_window') }} as reporting_window
        on payments.paid_date <= reporting_window.as_of_date
    where payments.status = 'succeeded' and payments.rejection_reason is null

),

mart_totals as (

    select 'fct_revenue_monthly' as mart, coalesce(sum(net_revenue), 0) as net_revenue
    from {{ ref('fct_revenue_monthly') }}
    union all
    select 'fct_churn_monthly', coalesce(sum(net_revenue), 0) from {{ ref('fct_churn_monthly') }}
    union all
    select 'dim_customers', coalesce(sum(net_revenue), 0) from {{ ref('dim_customers') }}

)

select mart_totals.mart, mart_totals.net_revenue, payments_total.net_revenue as payments_net_revenue
from mart_totals
cross join payments_total
where mart_totals.net_revenue <> payments_total.net_revenue
