with

source as (

    select * from {{ raw_table('payments', ['payment_id', 'customer_id', 'paid_at', 'amount', 'currency', 'status']) }}

),

renamed as (

    select
        trim(payment_id) as payment_id,
        trim(customer_id) as customer_id,
        {{ parse_timestamp_utc('paid_at') }} as paid_at,
        cast(trim(amount) as {{ money_type() }}) as amount,
        upper(trim(currency)) as currency,
        lower(trim(status)) as status
    from source

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
        status = 'succeeded' and amount > 0 as is_purchase,
        status = 'succeeded' and amount < 0 as is_refund
    from renamed

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
        is_refund
    from classified

)

select * from final
