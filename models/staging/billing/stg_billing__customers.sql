{#- Every input customer row, typed, with the reason it is set aside (null when accepted). -#}
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

occurrences_numbered as (

    select
        *,
        row_number() over (partition by customer_id order by source_file, source_line) as occurrence,
        first_value({{ dbt.hash(row_fingerprint(['raw_created_at', 'raw_country', 'raw_acquisition_channel'])) }})
            over (partition by customer_id order by source_file, source_line rows between unbounded preceding and current row)
            = {{ dbt.hash(row_fingerprint(['raw_created_at', 'raw_country', 'raw_acquisition_channel'])) }}
            as is_same_as_first_occurrence
    from parsed

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
