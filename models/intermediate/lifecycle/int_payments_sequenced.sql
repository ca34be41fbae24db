{#- Payments up to as_of_date, each purchase numbered in the customer's purchase order. -#}
with

payments as (

    select * from {{ ref('stg_billing__payments') }}
    where rejection_reason is null

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

payments_in_window as (

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

),

purchases_numbered as (

    select
        *,
        case
            when is_purchase
                then row_number() over (
                    partition by customer_id, is_purchase
                    order by paid_at, payment_id
                )
        end as purchase_number
    from payments_in_window

),

final as (

    select
        payment_id,
        customer_id,
        paid_at,
        paid_date,
        paid_month,
        amount,
        currency,
        status,
        is_purchase,
        is_refund,
        purchase_number,
        coalesce(purchase_number = 1, false) as is_first_purchase,
        coalesce(purchase_number > 1, false) as is_repeat_purchase
    from purchases_numbered

)

select * from final
