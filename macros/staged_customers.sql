{#- The customers input, typed: one row per input row with `rejection_reason` (null when accepted).
    Built like staged_payments: repeated ids are found by duplicate_rows (the first row with an id is
    kept). With `after_line`, only the rows past that line are typed; their ids are still compared
    with every earlier row's. The original text is not kept: quarantine.customers reads it from the
    input for the few rows it sets aside. -#}
{% macro staged_customers(after_line=none) -%}
{%- set raw_columns = ['customer_id', 'created_at', 'country', 'acquisition_channel'] -%}
{%- set customer_id = customer_lifecycle.trimmed_text('customer_id') -%}
{%- set raw_customers = raw_table('customers', raw_columns, required=false, required_columns=['customer_id']) -%}
with

duplicates as (

    {{ customer_lifecycle.duplicate_rows(
        raw_customers, 'customer_id', ['created_at', 'country', 'acquisition_channel'], after_line
    ) }}

),

parsed as (

    select
        source_file,
        source_line,
        {{ customer_id }} as customer_id,
        {{ customer_lifecycle.mapped_timestamp_utc('created_at', customer_lifecycle.input_mapping_for('customers')) }} as created_at,
        {{ customer_lifecycle.trimmed_text('created_at') }} is not null as has_created_at_text,
        nullif(upper(trim(country)), '') as country,
        nullif(lower(trim(acquisition_channel)), '') as acquisition_channel
    from {{ raw_customers }}
    {%- if after_line is not none %}
    where source_line > {{ after_line }}
    {%- endif %}

),

validated as (

    select
        parsed.customer_id,
        parsed.created_at,
        parsed.country,
        parsed.acquisition_channel,
        case
            when parsed.customer_id is null then 'missing_customer_id'
            when duplicates.is_exact then 'duplicate_customer_id_exact'
            when duplicates.source_line is not null then 'duplicate_customer_id_conflict'
            when parsed.has_created_at_text and parsed.created_at is null then 'invalid_created_at'
            when not {{ customer_lifecycle.is_plausible_timestamp('parsed.created_at') }} then 'created_at_out_of_range'
        end as rejection_reason,
        parsed.source_file,
        parsed.source_line
    from parsed
    left join duplicates
        on parsed.source_line = duplicates.source_line

)

select * from validated
{%- endmacro %}
