{{ config(alias='input_row_counts', post_hook="{{ fail_when_no_payment_accepted() }}") }}
{#- For every input table: rows read = rows accepted + rows set aside. The payment rows read are
    counted in the input itself, the accepted ones in the customer-month sums and the set-aside ones
    in quarantine, so the check holds only if no row was lost or counted twice on the way; customer
    rows likewise, in the input, among the customers and in quarantine, and marketing-spend rows in the
    input, in the monthly spend sums and in quarantine. The optional marketing_spend has a row only
    when its input has rows: without one the run says so in its own line. -#}
with

payments_read as (

    select count(*) as row_count from {{ raw_table('payments', ['payment_id']) }}

),

payments_accepted as (

    select coalesce(sum(payments), 0) as row_count from {{ ref('int_customer_months_paid') }}

),

payments_set_aside as (

    select count(*) as row_count from {{ ref('quarantine_payments') }}

),

customers_read as (

    select count(*) as row_count
    from {{ raw_table('customers', ['customer_id'], required=false, required_columns=['customer_id']) }}

),

customers_accepted as (

    select count(*) as row_count from {{ ref('int_customers_unioned') }}
    where has_customer_record

),

customers_set_aside as (

    select count(*) as row_count from {{ ref('quarantine_customers') }}

),

marketing_spend_read as (

    select count(*) as row_count
    from {{ raw_table('marketing_spend', ['month'], required=false) }}

),

marketing_spend_accepted as (

    select coalesce(sum(spend_rows), 0) as row_count from {{ ref('int_marketing_spend_monthly') }}

),

marketing_spend_set_aside as (

    select count(*) as row_count from {{ ref('quarantine_marketing_spend') }}

),

final as (

    select
        'payments' as input_table,
        payments_read.row_count as rows_read,
        payments_accepted.row_count as rows_accepted,
        payments_set_aside.row_count as rows_set_aside
    from payments_read
    cross join payments_accepted
    cross join payments_set_aside
    union all
    select
        'customers' as input_table,
        customers_read.row_count as rows_read,
        customers_accepted.row_count as rows_accepted,
        customers_set_aside.row_count as rows_set_aside
    from customers_read
    cross join customers_accepted
    cross join customers_set_aside
    union all
    select
        'marketing_spend' as input_table,
        marketing_spend_read.row_count as rows_read,
        marketing_spend_accepted.row_count as rows_accepted,
        marketing_spend_set_aside.row_count as rows_set_aside
    from marketing_spend_read
    cross join marketing_spend_accepted
    cross join marketing_spend_set_aside
    where marketing_spend_read.row_count > 0

)

select * from final
