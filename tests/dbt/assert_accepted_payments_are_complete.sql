{#- Every accepted payment row has an id that no other accepted row has, a customer, a time, an amount,
    an ISO 4217 currency and a known status; and the rows that move money share one currency (revenue
    is summed without conversion). One pass over the staging view, which types the input as it is
    read, instead of one per column: each failing property is a row naming it. -#}
with

accepted as (

    select * from {{ ref('stg_billing__payments') }}
    where rejection_reason is null

),

checked as (

    select
        count(*) - count(distinct payment_id) as repeated_payment_ids,
        count(*) - count(payment_id) as missing_payment_ids,
        count(*) - count(customer_id) as missing_customer_ids,
        count(*) - count(paid_at) as missing_paid_at,
        count(*) - count(amount) as missing_amounts,
        count(*) - count(currency) as missing_currencies,
        count(case when status not in ('succeeded', 'failed', 'pending') or status is null then 1 end)
            as unknown_statuses,
        count(distinct case when is_purchase or is_refund then currency end) as money_currencies
    from accepted

)

select 'repeated payment_id' as failed_check, repeated_payment_ids as rows_failing from checked
where repeated_payment_ids > 0
union all
select 'missing payment_id', missing_payment_ids from checked where missing_payment_ids > 0
union all
select 'missing customer_id', missing_customer_ids from checked where missing_customer_ids > 0
union all
select 'missing paid_at', missing_paid_at from checked where missing_paid_at > 0
union all
select 'missing amount', missing_amounts from checked where missing_amounts > 0
union all
select 'missing currency', missing_currencies from checked where missing_currencies > 0
union all
select 'unknown status', unknown_statuses from checked where unknown_statuses > 0
union all
select 'more than one currency moves money', money_currencies from checked where money_currencies > 1
