{{ config(alias='payments') }}
{#- Payment rows set aside, with their original text, where they came from and why. Staging keeps
    the text of the rows it sets aside; rows set aside here because they are dated after an as_of_date
    given as a var are valid rows, whose text is read again from the input. -#}
{%- set raw_columns = ['payment_id', 'customer_id', 'paid_at', 'amount', 'currency', 'status'] -%}
with

payments as (

    select * from {{ ref('stg_billing__payments') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

rejected as (

    select
        source_file,
        source_line,
        rejection_reason as reason,
        {%- for column in raw_columns %}
        raw_{{ column }} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from payments
    where rejection_reason is not null

),

{% if var('as_of_date', none) is not none -%}
after_as_of_date as (

    select
        payments.source_file,
        payments.source_line,
        'paid_at_after_as_of_date' as reason,
        {%- for column in raw_columns %}
        input_rows.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from payments
    cross join reporting_window
    inner join (select * from {{ raw_table('payments', raw_columns) }}) as input_rows
        on payments.source_file = input_rows.source_file and payments.source_line = input_rows.source_line
    where payments.rejection_reason is null and payments.paid_date > reporting_window.as_of_date

),
{%- endif %}

set_aside as (

    select * from rejected
    {%- if var('as_of_date', none) is not none %}
    union all
    select * from after_as_of_date
    {%- endif %}

)

select * from set_aside
