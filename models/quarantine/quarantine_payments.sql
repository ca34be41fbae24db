{{ config(alias='payments') }}
{#- Payment rows set aside, with their original text, where they came from and why. -#}
with

payments as (

    select * from {{ ref('stg_billing__payments') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

set_aside as (

    select
        payments.source_file,
        payments.source_line,
        coalesce(payments.rejection_reason, 'paid_at_after_as_of_date') as reason,
        payments.raw_payment_id as payment_id,
        payments.raw_customer_id as customer_id,
        payments.raw_paid_at as paid_at,
        payments.raw_amount as amount,
        payments.raw_currency as currency,
        payments.raw_status as status
    from payments
    cross join reporting_window
    where
        payments.rejection_reason is not null
        or payments.paid_date > reporting_window.as_of_date

)

select * from set_aside
