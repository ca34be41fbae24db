{{ config(alias='input_row_counts') }}
{#- For every input table: rows read = rows accepted + rows set aside. -#}
with

payments_read as (

    select count(*) as row_count from {{ ref('stg_billing__payments') }}

),

payments_accepted as (

    select count(*) as row_count from {{ ref('int_payments_accepted') }}

),

payments_set_aside as (

    select count(*) as row_count from {{ ref('quarantine_payments') }}

),

customers_read as (

    select count(*) as row_count from {{ ref('stg_billing__customers') }}

),

customers_accepted as (

    select count(*) as row_count from {{ ref('int_customers_unioned') }}
    where has_customer_record

),

customers_set_aside as (

    select count(*) as row_count from {{ ref('quarantine_customers') }}

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

)

select * from final
