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

{%- set checks = [
    ('repeated payment_id', 'repeated_payment_ids', 0),
    ('missing payment_id', 'missing_payment_ids', 0),
    ('missing customer_id', 'missing_customer_ids', 0),
    ('missing paid_at', 'missing_paid_at', 0),
    ('missing amount', 'missing_amounts', 0),
    ('missing currency', 'missing_currencies', 0),
    ('unknown status', 'unknown_statuses', 0),
    ('more than one currency moves money', 'money_currencies', 1),
] %}
{#- One row per failing check: its name and the count that fails it (above the one allowed). #}
{%- for label, column, allowed in checks %}
select '{{ label }}' as failed_check, {{ column }} as failing_count
from checked
where {{ column }} > {{ allowed }}
{% if not loop.last %}union all
{% endif %}
{%- endfor %}
