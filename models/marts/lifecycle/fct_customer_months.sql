{#- The customer-month spine as users read it: int_customer_months_spined without its incremental
    bookkeeping. A view, so the largest table is stored once. -#}
{{ config(materialized='view') }}
with

customer_months as (

    select * from {{ ref('int_customer_months_spined').include(database=false) }}

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
        net_revenue,
        is_active,
        was_in_base_at_start,
        is_in_base_at_end,
        is_new,
        is_reactivated,
        is_churned,
        status
    from customer_months

)

select * from final
