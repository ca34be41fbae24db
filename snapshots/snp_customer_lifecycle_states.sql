{#- History of each customer's lifecycle state (type-2): a new version whenever lifecycle_state,
    customer_type or is_in_base changes between builds. Versions are stamped with as_of_date, not the
    wall clock, so rebuilding the same as_of_date changes nothing and history reads in business time.

    History moves forward only. A customer no longer in the data (another source) has their current
    version closed on as_of_date (hard deletes invalidated, stamped by snapshot_get_time, which
    returns as_of_date here). A build whose as_of_date is before the latest version leaves the history
    as it is and says so: every version then still ends on or after the day it starts
    (docs/decisions.md, "Snapshot in business time"). -#}
{% snapshot snp_customer_lifecycle_states %}

{{ config(
    schema='snapshots',
    unique_key='customer_id',
    strategy='check',
    check_cols=['lifecycle_state', 'customer_type', 'is_in_base'],
    updated_at='as_of_at',
    hard_deletes='invalidate',
    enabled=target.type != 'spark',
) }}
-- depends_on: {{ ref('int_reporting_window') }}

{%- set columns = 'customer_id, cohort_month, customer_type, lifecycle_state, is_in_base, last_purchase_date, as_of_date, as_of_at' %}
{% if customer_lifecycle.history_is_ahead_of_as_of_date() %}
select {{ columns }} from {{ this }}
where dbt_valid_to is null
{% else %}
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
{% endif %}

{% endsnapshot %}
