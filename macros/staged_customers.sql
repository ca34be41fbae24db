{#- The customers input, typed: one row per input row with `rejection_reason` (null when accepted).
    Built like staged_payments: repeated ids are found with an aggregate over the id column alone and
    only their rows are compared (the first row with an id is kept). With `after_line`, only the rows
    past that line are typed; their ids are still compared with every earlier row's. The original
    text is not kept: quarantine.customers reads it from the input for the few rows it sets aside. -#}
{% macro staged_customers(after_line=none) -%}
{%- set raw_columns = ['customer_id', 'created_at', 'country', 'acquisition_channel'] -%}
{%- set customer_id = customer_lifecycle.trimmed_text('customer_id') -%}
{%- set raw_customers = raw_table('customers', raw_columns, required=false, required_columns=['customer_id']) -%}
with

repeated_ids as (

    select
        {{ customer_id }} as customer_id,
        min(source_line) as first_line
    from {{ raw_customers }}
    where
        {{ customer_id }} is not null
        {%- if after_line is none %}
        and {{ customer_lifecycle.may_repeat(customer_id, raw_customers) }}
        {%- else %}
        and {{ customer_id }} in (
            select {{ customer_id }} from {{ raw_customers }} where source_line > {{ after_line }}
        )
        {%- endif %}
    group by {{ customer_id }}
    having count(*) > 1

),

repeated_rows as (

    select
        raw_rows.source_line,
        repeated_ids.first_line,
        {{ row_fingerprint(['raw_rows.created_at', 'raw_rows.country', 'raw_rows.acquisition_channel']) }}
            as fingerprint
    from {{ raw_customers }}
    inner join repeated_ids
        on {{ customer_lifecycle.trimmed_text('raw_rows.customer_id') }} = repeated_ids.customer_id

),

duplicates as (

    select
        later.source_line,
        later.fingerprint = first_row.fingerprint as is_exact
    from repeated_rows as later
    inner join repeated_rows as first_row
        on later.first_line = first_row.source_line
    where later.source_line > later.first_line

),

parsed as (

    select
        source_file,
        source_line,
        {{ customer_id }} as customer_id,
        {{ parse_timestamp_utc('created_at') }} as created_at,
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
        end as rejection_reason,
        parsed.source_file,
        parsed.source_line
    from parsed
    left join duplicates
        on parsed.source_line = duplicates.source_line

)

select * from validated
{%- endmacro %}
