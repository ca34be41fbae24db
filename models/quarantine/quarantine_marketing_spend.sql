{{ config(alias='marketing_spend') }}
{#- Marketing-spend rows set aside, with their original text (read from the input by line), where they
    came from and why: staging's rejection_reason, or month_after_as_of_date for an accepted row whose
    month starts after as_of_date (left out of int_marketing_spend_monthly). -#}
{%- set raw_columns = ['month', 'acquisition_channel', 'spend', 'currency'] -%}
with

spend as (

    select * from {{ ref('stg_billing__marketing_spend') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

set_aside as (

    select
        spend.source_line,
        coalesce(spend.rejection_reason, 'month_after_as_of_date') as reason
    from spend
    cross join reporting_window
    where
        spend.rejection_reason is not null
        or spend.month > reporting_window.as_of_date

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
    inner join {{ raw_table('marketing_spend', raw_columns, required=false) }}
        on set_aside.source_line = raw_rows.source_line

)

select * from final
