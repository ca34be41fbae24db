{#- Every customer, from the customers table and from payments, with their purchase history summed
    (from the customer-month sums, not the payments). -#}
with

registered_customers as (

    select * from {{ ref('stg_billing__customers') }}
    where rejection_reason is null

),

customer_months_paid as (

    select * from {{ ref('int_customer_months_paid') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

registered_in_window as (

    select
        registered_customers.customer_id,
        registered_customers.created_at,
        registered_customers.country,
        registered_customers.acquisition_channel
    from registered_customers
    cross join reporting_window
    where
        registered_customers.created_at is null
        or reporting_window.as_of_date is null
        or cast({{ to_reporting_timestamp('registered_customers.created_at') }} as date)
        <= reporting_window.as_of_date

),

payments_summed as (

    select
        customer_id,
        min(first_purchase_at) as first_purchase_at,
        max(last_purchase_at) as last_purchase_at,
        min(first_purchase_date) as first_purchase_date,
        max(last_purchase_date) as last_purchase_date,
        {{ customer_lifecycle.value_at_first('first_purchase_amount', ['month'], 'purchases > 0') }}
            as first_purchase_amount,
        sum(purchases) as purchase_count,
        cast(sum(gross_revenue) as {{ money_type() }}) as gross_revenue,
        cast(sum(refunds) as {{ money_type() }}) as refunds
    from customer_months_paid
    group by customer_id

),

final as (

    select
        coalesce(registered_in_window.customer_id, payments_summed.customer_id) as customer_id,
        registered_in_window.customer_id is not null as has_customer_record,
        registered_in_window.created_at,
        registered_in_window.country,
        registered_in_window.acquisition_channel,
        payments_summed.first_purchase_at,
        payments_summed.last_purchase_at,
        payments_summed.first_purchase_date,
        payments_summed.last_purchase_date,
        cast({{ dbt.date_trunc('month', 'payments_summed.first_purchase_date') }} as date) as cohort_month,
        cast(payments_summed.first_purchase_amount as {{ money_type() }}) as first_purchase_amount,
        cast(coalesce(payments_summed.purchase_count, 0) as {{ dbt.type_bigint() }}) as purchase_count,
        cast(coalesce(payments_summed.gross_revenue, 0) as {{ money_type() }}) as gross_revenue,
        cast(coalesce(payments_summed.refunds, 0) as {{ money_type() }}) as refunds
    from registered_in_window
    full outer join payments_summed
        on registered_in_window.customer_id = payments_summed.customer_id

)

select * from final
