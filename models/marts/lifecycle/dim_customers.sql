{#- One row per customer with their purchase history and their state on as_of_date. Each customer's
    last span (from their last month with money) covers the as_of month, so the state is its status
    there (macros/customer_month_spans.sql), worked out row by row.

    A view by default (dbt_project.yml): recency, tenure and state move with as_of_date for every
    customer, so a stored table would be rewritten whole by every daily run, while the view reads
    the stored customers (int_customers_unioned, which an incremental run rewrites only for the
    customers that changed) with no join. Set `+materialized: table` for it to store it. -#}
with

reporting_window as (

    select * from {{ ref('int_reporting_window').include(database=false) }}

),

last_spans as (

    select
        customers.*,
        customers.last_anchor_month as anchor_month,
        customers.last_anchor_purchases as purchases,
        {{ span_base_dates(
            'customers.last_anchor_month',
            'customers.last_purchase_date_before_last_anchor',
            'customers.last_purchase_date',
            'reporting_window.as_of_date'
        ) }},
        reporting_window.as_of_date,
        reporting_window.as_of_month
    from {{ ref('int_customers_unioned').include(database=false) }} as customers
    cross join reporting_window

),

as_of_month_flags as (

    select
        *,
        {{ span_month_flags('as_of_month') }}
    from last_spans

),

as_of_month_status as (

    select
        *,
        {{ customer_month_status() }}
    from as_of_month_flags

),

final as (

    select
        customer_id,
        has_customer_record,
        created_at,
        country,
        acquisition_channel,
        first_purchase_at,
        last_purchase_at,
        first_purchase_date,
        last_purchase_date,
        cohort_month,
        purchase_count,
        gross_revenue,
        refunds,
        cast(gross_revenue + refunds as {{ money_type() }}) as net_revenue,
        {{ safe_divide('gross_revenue', 'purchase_count') }} as average_order_value,
        cast({{ dbt.datediff('last_purchase_date', 'as_of_date', 'day') }} as {{ dbt.type_bigint() }})
            as days_since_last_purchase,
        cast({{ dbt.datediff('first_purchase_date', 'as_of_date', 'day') }} as {{ dbt.type_bigint() }})
            as tenure_days,
        cast({{ dbt.datediff('cohort_month', 'as_of_month', 'month') }} as {{ dbt.type_bigint() }})
            as tenure_months,
        case
            when purchase_count = 0 then 'prospect'
            when purchase_count = 1 then 'one_time'
            else 'repeat'
        end as customer_type,
        coalesce(anchor_month is not null and is_in_base_at_end, false) as is_in_base,
        case
            when purchase_count = 0 or anchor_month is null then 'prospect'
            when not is_in_base_at_end then 'churned'
            else status
        end as lifecycle_state,
        as_of_date
    from as_of_month_status

)

select * from final
