{{ config(alias='customers') }}
{#- Customer rows set aside, with their original text, where they came from and why. -#}
with

customers as (

    select * from {{ ref('stg_billing__customers') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

set_aside as (

    select
        customers.source_file,
        customers.source_line,
        coalesce(customers.rejection_reason, 'created_at_after_as_of_date') as reason,
        customers.raw_customer_id as customer_id,
        customers.raw_created_at as created_at,
        customers.raw_country as country,
        customers.raw_acquisition_channel as acquisition_channel
    from customers
    cross join reporting_window
    where
        customers.rejection_reason is not null
        or cast({{ to_reporting_timestamp('customers.created_at') }} as date) > reporting_window.as_of_date

)

select * from set_aside
