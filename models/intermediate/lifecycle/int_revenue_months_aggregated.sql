{#- One row per calendar month of the reporting window, without gaps: purchases, refunds and the
    customers who bought. The single place monthly revenue is summed. -#}
with

payments as (

    select * from {{ ref('int_payments_sequenced') }}

),

months as (

    {{ month_series('first_month', 'as_of_month', ref('int_reporting_window')) }}

),

payments_by_month as (

    select
        paid_month as month,
        count(distinct case when is_purchase then customer_id end) as active_customers,
        count(case when is_first_purchase then 1 end) as new_customers,
        count(case when is_purchase then 1 end) as purchases,
        count(case when is_first_purchase then 1 end) as first_purchases,
        count(case when is_repeat_purchase then 1 end) as repeat_purchases,
        coalesce(sum(case when is_purchase then amount end), 0) as gross_revenue,
        coalesce(sum(case when is_first_purchase then amount end), 0) as first_purchase_revenue,
        coalesce(sum(case when is_repeat_purchase then amount end), 0) as repeat_purchase_revenue,
        coalesce(sum(case when is_refund then amount end), 0) as refunds
    from payments
    where is_purchase or is_refund
    group by paid_month

),

final as (

    select
        months.month,
        coalesce(payments_by_month.active_customers, 0) as active_customers,
        coalesce(payments_by_month.new_customers, 0) as new_customers,
        coalesce(payments_by_month.active_customers, 0)
        - coalesce(payments_by_month.new_customers, 0) as returning_customers,
        coalesce(payments_by_month.purchases, 0) as purchases,
        coalesce(payments_by_month.first_purchases, 0) as first_purchases,
        coalesce(payments_by_month.repeat_purchases, 0) as repeat_purchases,
        coalesce(payments_by_month.gross_revenue, 0) as gross_revenue,
        coalesce(payments_by_month.first_purchase_revenue, 0) as first_purchase_revenue,
        coalesce(payments_by_month.repeat_purchase_revenue, 0) as repeat_purchase_revenue,
        coalesce(payments_by_month.refunds, 0) as refunds,
        coalesce(payments_by_month.gross_revenue, 0) + coalesce(payments_by_month.refunds, 0) as net_revenue
    from months
    left join payments_by_month
        on months.month = payments_by_month.month

)

select * from final
