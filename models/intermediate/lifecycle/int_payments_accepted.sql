{#- The accepted payments (any status) dated on or before as_of_date: the input every money figure
    starts from. A view: its readers each want a few columns of it. Views name their inputs without
    the database, so they keep working when the file is attached under another name. -#}
{{ config(materialized='view') }}
with

payments as (

    select * from {{ ref('stg_billing__payments').include(database=false) }}
    where rejection_reason is null

),

reporting_window as (

    select * from {{ ref('int_reporting_window').include(database=false) }}

),

final as (

    select
        payments.payment_id,
        payments.customer_id,
        payments.paid_at,
        payments.paid_date,
        payments.paid_month,
        payments.amount,
        payments.currency,
        payments.status,
        payments.is_purchase,
        payments.is_refund
    from payments
    inner join reporting_window
        on payments.paid_date <= reporting_window.as_of_date

)

select * from final
