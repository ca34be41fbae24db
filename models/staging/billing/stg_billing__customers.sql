{#- Every input customer row, typed, with the reason it is set aside (null when accepted). A view, like
    stg_billing__payments. -#}
{{ config(materialized='view') }}
with

source as (

    select * from {{ raw_table('customers', ['customer_id', 'created_at', 'country', 'acquisition_channel'], required=false, required_columns=['customer_id']) }}

),

parsed as (

    select
        source_file,
        source_line,
        customer_id as raw_customer_id,
        created_at as raw_created_at,
        country as raw_country,
        acquisition_channel as raw_acquisition_channel,
        nullif(trim(customer_id), '') as customer_id,
        {{ parse_timestamp_utc('created_at') }} as created_at,
        nullif(trim(created_at), '') is not null as has_created_at_text,
        nullif(upper(trim(country)), '') as country,
        nullif(lower(trim(acquisition_channel)), '') as acquisition_channel
    from source

),

{#- Repeated ids are rare: find them with an aggregate and number only their rows. -#}
repeated_ids as (

    select customer_id
    from parsed
    where customer_id is not null
    group by customer_id
    having count(*) > 1

),

occurrences as (

    select
        source_file,
        source_line,
        row_number() over (partition by customer_id order by source_file, source_line) as occurrence,
        first_value({{ dbt.hash(row_fingerprint(['raw_created_at', 'raw_country', 'raw_acquisition_channel'])) }})
            over (partition by customer_id order by source_file, source_line rows between unbounded preceding and current row)
            = {{ dbt.hash(row_fingerprint(['raw_created_at', 'raw_country', 'raw_acquisition_channel'])) }}
            as is_same_as_first_occurrence
    from parsed
    where customer_id in (select customer_id from repeated_ids)

),

occurrences_numbered as (

    select
        parsed.*,
        occurrences.occurrence,
        occurrences.is_same_as_first_occurrence
    from parsed
    left join occurrences
        on parsed.source_file = occurrences.source_file and parsed.source_line = occurrences.source_line

),

validated as (

    select
        customer_id,
        created_at,
        country,
        acquisition_channel,
        case
            when customer_id is null then 'missing_customer_id'
            when occurrence > 1 and is_same_as_first_occurrence then 'duplicate_customer_id_exact'
            when occurrence > 1 then 'duplicate_customer_id_conflict'
            when has_created_at_text and created_at is null then 'invalid_created_at'
        end as rejection_reason,
        source_file,
        source_line,
        raw_customer_id,
        raw_created_at,
        raw_country,
        raw_acquisition_channel
    from occurrences_numbered

)

select * from validated
