{#- One row per customer and month, from the cohort month to the as_of_date month, with the month's
    money and the customer's status in the base. The single place where churn, reactivation and
    retention are decided (docs/definitions.md, "Customer-month status"). -#}
{%- set window_start_offset = 1 - (var('churn_inactivity_days') | int) -%}
with

customers as (

    select * from {{ ref('int_customers_unioned') }}

),

payments as (

    select * from {{ ref('int_payments_sequenced') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

months as (

    {{ month_series('first_month', 'as_of_month', ref('int_reporting_window')) }}

),

payments_by_month as (

    select
        customer_id,
        paid_month as month,
        count(case when is_purchase then 1 end) as purchases,
        coalesce(sum(case when is_purchase then amount end), 0) as gross_revenue,
        coalesce(sum(case when is_refund then amount end), 0) as refunds,
        max(case when is_purchase then paid_date end) as last_purchase_date_in_month
    from payments
    where is_purchase or is_refund
    group by customer_id, paid_month

),

customer_months as (

    select
        customers.customer_id,
        customers.cohort_month,
        months.month,
        cast(
            case
                when {{ dbt.last_day('months.month', 'month') }} < reporting_window.as_of_date
                    then {{ dbt.last_day('months.month', 'month') }}
                else reporting_window.as_of_date
            end as date
        ) as month_end_date
    from customers
    inner join months
        on months.month >= customers.cohort_month
    cross join reporting_window
    where customers.cohort_month is not null

),

money_joined as (

    select
        customer_months.*,
        {{ dbt.datediff('customer_months.cohort_month', 'customer_months.month', 'month') }} as months_since_first,
        coalesce(payments_by_month.purchases, 0) as purchases,
        coalesce(payments_by_month.gross_revenue, 0) as gross_revenue,
        coalesce(payments_by_month.refunds, 0) as refunds,
        max(payments_by_month.last_purchase_date_in_month) over (
            partition by customer_months.customer_id
            order by customer_months.month
            rows between unbounded preceding and current row
        ) as last_purchase_date_to_date
    from customer_months
    left join payments_by_month
        on
            customer_months.customer_id = payments_by_month.customer_id
            and customer_months.month = payments_by_month.month

),

base_membership as (

    select
        *,
        purchases > 0 as is_active,
        last_purchase_date_to_date
        >= cast({{ dbt.dateadd('day', window_start_offset, 'month_end_date') }} as date) as is_in_base_at_end
    from money_joined

),

base_transitions as (

    select
        *,
        coalesce(
            lag(is_in_base_at_end) over (partition by customer_id order by month),
            false
        ) as was_in_base_at_start,
        month = cohort_month as is_new
    from base_membership

),

movements as (

    select
        *,
        is_active and not is_new and not was_in_base_at_start as is_reactivated
    from base_transitions

),

final as (

    select
        customer_id,
        month,
        cohort_month,
        months_since_first,
        month_end_date,
        purchases,
        gross_revenue,
        refunds,
        gross_revenue + refunds as net_revenue,
        is_active,
        was_in_base_at_start,
        is_in_base_at_end,
        is_new,
        is_reactivated,
        (was_in_base_at_start or is_new or is_reactivated) and not is_in_base_at_end as is_churned,
        case
            when is_new then 'new'
            when is_reactivated then 'reactivated'
            when not is_in_base_at_end and was_in_base_at_start then 'churned'
            when was_in_base_at_start then 'retained'
            else 'lapsed'
        end as status
    from movements

)

select * from final
