{#- Every input payment row, typed, classified, and with the reason it is set aside (null when it is
    accepted). Rows are never dropped here: accepted rows flow on, set-aside rows go to
    quarantine.payments with their original text. -#}
with

source as (

    select * from {{ raw_table('payments', ['payment_id', 'customer_id', 'paid_at', 'amount', 'currency', 'status']) }}

),

parsed as (

    select
        source_file,
        source_line,
        payment_id as raw_payment_id,
        customer_id as raw_customer_id,
        paid_at as raw_paid_at,
        amount as raw_amount,
        currency as raw_currency,
        status as raw_status,
        nullif(trim(payment_id), '') as payment_id,
        nullif(trim(customer_id), '') as customer_id,
        {{ parse_timestamp_utc('paid_at') }} as paid_at,
        {{ parse_money('amount') }} as amount,
        upper(trim(currency)) as currency,
        lower(trim(status)) as status
    from source

),

occurrences_numbered as (

    select
        *,
        row_number() over (partition by payment_id order by source_file, source_line) as occurrence,
        first_value({{ dbt.hash(row_fingerprint(['raw_customer_id', 'raw_paid_at', 'raw_amount', 'raw_currency', 'raw_status'])) }})
            over (partition by payment_id order by source_file, source_line rows between unbounded preceding and current row)
            = {{ dbt.hash(row_fingerprint(['raw_customer_id', 'raw_paid_at', 'raw_amount', 'raw_currency', 'raw_status'])) }}
            as is_same_as_first_occurrence
    from parsed

),

validated as (

    select
        *,
        case
            when payment_id is null then 'missing_payment_id'
            when occurrence > 1 and is_same_as_first_occurrence then 'duplicate_payment_id_exact'
            when occurrence > 1 then 'duplicate_payment_id_conflict'
            when customer_id is null then 'missing_customer_id'
            when paid_at is null then 'invalid_paid_at'
            when amount is null then 'invalid_amount'
            when status is null or status not in ('succeeded', 'failed', 'pending') then 'invalid_status'
            when currency is null or currency not in ('{{ iso_4217_codes() | join("', '") }}') then 'invalid_currency'
        end as rejection_reason
    from occurrences_numbered

),

classified as (

    select
        payment_id,
        customer_id,
        paid_at,
        cast({{ to_reporting_timestamp('paid_at') }} as date) as paid_date,
        amount,
        currency,
        status,
        status = 'succeeded' and amount > 0 and rejection_reason is null as is_purchase,
        status = 'succeeded' and amount < 0 and rejection_reason is null as is_refund,
        rejection_reason,
        source_file,
        source_line,
        raw_payment_id,
        raw_customer_id,
        raw_paid_at,
        raw_amount,
        raw_currency,
        raw_status
    from validated

),

final as (

    select
        payment_id,
        customer_id,
        paid_at,
        paid_date,
        cast({{ dbt.date_trunc('month', 'paid_date') }} as date) as paid_month,
        amount,
        currency,
        status,
        is_purchase,
        is_refund,
        rejection_reason,
        source_file,
        source_line,
        raw_payment_id,
        raw_customer_id,
        raw_paid_at,
        raw_amount,
        raw_currency,
        raw_status
    from classified

)

select * from final
