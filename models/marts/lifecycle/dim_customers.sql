with

customers as (

    select * from {{ ref('int_customers_unioned') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

{#- Each customer's span that covers the as_of month, and its status there. -#}
spans as (

    {{ customer_month_spans(ref('int_customer_months_paid'), ref('int_reporting_window')) }}

),

as_of_month_flags as (

    select
        customer_id,
        {{ span_month_flags('as_of_month') }}
    from spans
    where span_end_month = as_of_month

),

as_of_month_status as (

    select
        customer_id,
        is_in_base_at_end,
        {{ customer_month_status() }}
    from as_of_month_flags

),

final as (

    select
        customers.customer_id,
        customers.has_customer_record,
        customers.created_at,
        customers.country,
        customers.acquisition_channel,
        customers.first_purchase_at,
        customers.last_purchase_at,
        customers.first_purchase_date,
        customers.last_purchase_date,
        customers.cohort_month,
        customers.purchase_count,
        customers.gross_revenue,
        customers.refunds,
        cast(customers.gross_revenue + customers.refunds as {{ money_type() }}) as net_revenue,
        {{ safe_divide('customers.gross_revenue', 'customers.purchase_count') }} as average_order_value,
        {{ dbt.datediff('customers.last_purchase_date', 'reporting_window.as_of_date', 'day') }}
            as days_since_last_purchase,
        {{ dbt.datediff('customers.first_purchase_date', 'reporting_window.as_of_date', 'day') }} as tenure_days,
        {{ dbt.datediff('customers.cohort_month', 'reporting_window.as_of_month', 'month') }} as tenure_months,
        case
            when customers.purchase_count = 0 then 'prospect'
            when customers.purchase_count = 1 then 'new'
            else 'returning'
        end as customer_type,
        coalesce(as_of_month_status.is_in_base_at_end, false) as is_in_base,
        case
            when customers.purchase_count = 0 then 'prospect'
            when not as_of_month_status.is_in_base_at_end then 'churned'
            else as_of_month_status.status
        end as lifecycle_state,
        reporting_window.as_of_date
    from customers
    cross join reporting_window
    left join as_of_month_status
        on customers.customer_id = as_of_month_status.customer_id

)

select * from final
