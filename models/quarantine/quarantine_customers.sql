{{ config(alias='customers') }}
{#- Customer rows set aside, with their original text (read from the input by line), where they came
    from and why. -#}
{%- set raw_columns = ['customer_id', 'created_at', 'country', 'acquisition_channel'] -%}
with

customers as (

    select * from {{ ref('stg_billing__customers') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

set_aside as (

    select
        customers.source_line,
        coalesce(customers.rejection_reason, 'created_at_after_as_of_date') as reason
    from customers
    cross join reporting_window
    where
        customers.rejection_reason is not null
        or cast({{ to_reporting_timestamp('customers.created_at') }} as date) > reporting_window.as_of_date

),

final as (

    select
        raw_rows.source_file,
        set_aside.source_line,
        set_aside.reason,
        {%- for column in raw_columns %}
        raw_rows.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from set_aside
    inner join {{ raw_table('customers', raw_columns, required=false, required_columns=['customer_id']) }}
        on set_aside.source_line = raw_rows.source_line

)

select * from final
