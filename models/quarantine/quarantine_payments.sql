{{ config(alias='payments') }}
{#- Payment rows set aside, with their original text, where they came from and why: the set-aside
    rows of int_payments_summarized, with their text read again from the input by line. -#}
{%- set raw_columns = ['payment_id', 'customer_id', 'paid_at', 'amount', 'currency', 'status'] -%}
with

set_aside as (

    select source_line, set_aside_reason
    from {{ ref('int_payments_summarized') }}
    where set_aside_reason is not null

),

final as (

    select
        raw_rows.source_file,
        set_aside.source_line,
        set_aside.set_aside_reason as reason,
        {%- for column in raw_columns %}
        raw_rows.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from set_aside
    inner join {{ raw_table('payments', raw_columns) }}
        on set_aside.source_line = raw_rows.source_line

)

select * from final
