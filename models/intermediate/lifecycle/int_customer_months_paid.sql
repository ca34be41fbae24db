{#- One row per customer and month with an accepted payment (any status): the month's purchases,
    refunds, first and last purchase, and the customer's history around it (the latest purchase
    before the month and up to its end, the next month with money). The accepted part of
    int_payments_summarized; every later model sums these rows instead of payments. A view: its
    readers each want a few columns. Views name their inputs without the database, so they keep
    working when the file is attached under another name. -#}
{{ config(materialized='view') }}
with

summarized as (

    select * from {{ ref('int_payments_summarized').include(database=false) }}
    where set_aside_reason is null

),

final as (

    select
        customer_id,
        month,
        payments,
        purchases,
        gross_revenue,
        refunds,
        first_purchase_at,
        first_purchase_amount,
        last_purchase_at,
        cast({{ to_reporting_timestamp('first_purchase_at') }} as date) as first_purchase_date,
        cast({{ to_reporting_timestamp('last_purchase_at') }} as date) as last_purchase_date,
        last_paid_date,
        last_purchase_date_before,
        {#- The latest purchase up to the end of the month: this month's, or the one before. -#}
        coalesce(
            case
                when cast({{ to_reporting_timestamp('last_purchase_at') }} as date) > last_purchase_date_before
                    then cast({{ to_reporting_timestamp('last_purchase_at') }} as date)
            end,
            last_purchase_date_before,
            cast({{ to_reporting_timestamp('last_purchase_at') }} as date)
        ) as last_purchase_date_to_date,
        next_money_month,
        cohort_month
    from summarized

)

select * from final
