with

source as (

    select * from {{ raw_table('customers', ['customer_id', 'created_at', 'country', 'acquisition_channel'], required=false, required_columns=['customer_id']) }}

),

renamed as (

    select
        trim(customer_id) as customer_id,
        {{ parse_timestamp_utc("nullif(trim(created_at), '')") }} as created_at,
        nullif(upper(trim(country)), '') as country,
        nullif(lower(trim(acquisition_channel)), '') as acquisition_channel
    from source

)

select * from renamed
