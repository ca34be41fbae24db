{#- History of each customer's lifecycle state (type-2): a new version whenever lifecycle_state,
    customer_type or is_in_base changes between builds. Versions are stamped with as_of_date, not the
    wall clock, so rebuilding the same as_of_date changes nothing and history reads in business time.
    Build it once per as_of_date, in date order (a scheduled daily run does this). -#}
{% snapshot snp_customer_lifecycle_states %}

{{ config(
    schema='snapshots',
    unique_key='customer_id',
    strategy='check',
    check_cols=['lifecycle_state', 'customer_type', 'is_in_base'],
    updated_at='as_of_at',
    enabled=target.type != 'spark',
) }}

select
    customer_id,
    cohort_month,
    customer_type,
    lifecycle_state,
    is_in_base,
    last_purchase_date,
    as_of_date,
    cast(as_of_date as {{ dbt.type_timestamp() }}) as as_of_at
from {{ ref('dim_customers') }}

{% endsnapshot %}
