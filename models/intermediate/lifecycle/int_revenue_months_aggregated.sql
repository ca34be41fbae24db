{#- One row per calendar month of the reporting window, without gaps: purchases, refunds and the
    customers who bought. The single place monthly revenue is summed. A customer's first purchase
    falls in their cohort month; every other purchase is a repeat purchase. -#}
with

customer_months_paid as (

    select * from {{ ref('int_customer_months_paid') }}

),

customers as (

    select * from {{ ref('int_customers_unioned') }}

),

months as (

    {{ month_series('first_month', 'as_of_month', ref('int_reporting_window')) }}

),

money_by_month as (

    select
        month,
        count(case when purchases > 0 then 1 end) as active_customers,
        sum(purchases) as purchases,
        sum(gross_revenue) as gross_revenue,
        sum(refunds) as refunds
    from customer_months_paid
    group by month

),

first_purchases_by_month as (

    select
        cohort_month as month,
        count(*) as first_purchases,
        sum(first_purchase_amount) as first_purchase_revenue
    from customers
    where cohort_month is not null
    group by cohort_month

),

summed as (

    select
        months.month,
        cast(coalesce(money_by_month.active_customers, 0) as {{ dbt.type_bigint() }}) as active_customers,
        cast(coalesce(first_purchases_by_month.first_purchases, 0) as {{ dbt.type_bigint() }}) as first_purchases,
        cast(coalesce(money_by_month.purchases, 0) as {{ dbt.type_bigint() }}) as purchases,
        cast(coalesce(money_by_month.gross_revenue, 0) as {{ money_type() }}) as gross_revenue,
        cast(coalesce(first_purchases_by_month.first_purchase_revenue, 0) as {{ money_type() }})
            as first_purchase_revenue,
        cast(coalesce(money_by_month.refunds, 0) as {{ money_type() }}) as refunds
    from months
    left join money_by_month
        on months.month = money_by_month.month
    left join first_purchases_by_month
        on months.month = first_purchases_by_month.month

),

final as (

    select
        month,
        active_customers,
        first_purchases as new_customers,
        active_customers - first_purchases as returning_customers,
        purchases,
        first_purchases,
        purchases - first_purchases as repeat_purchases,
        gross_revenue,
        first_purchase_revenue,
        cast(gross_revenue - first_purchase_revenue as {{ money_type() }}) as repeat_purchase_revenue,
        refunds,
        cast(gross_revenue + refunds as {{ money_type() }}) as net_revenue
    from summed

)

select * from final
