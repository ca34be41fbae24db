{#- Every input customer row, typed, with the reason it is set aside (null when accepted). Stored, unlike
    stg_billing__payments: the customers are a few rows per ten payments, and two models read them
    whole every run (int_customers_unioned and quarantine.customers), which then need not type them
    again. Incremental (inputs are append-only): a run types and adds the rows past the last line it
    stored (`load_batch` numbers the runs); an input that is not the earlier one with rows appended
    is typed again whole, and the run says so. The rows keep the input_mapping var they were typed
    with (`build_settings`); another one empties the table first, so every row is typed again. -#}
{{ config(
    materialized='table' if target.type == 'spark' else 'incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=[
        "{{ customer_lifecycle.add_customers_build_settings() }}",
        "{{ customer_lifecycle.empty_customers_if_rebuilding() }}"
    ]
) }}
{%- set loaded = customer_lifecycle.customers_read_so_far() %}
select
    *,
    {{ loaded.next_batch }} as load_batch,
    cast({{ customer_lifecycle.fingerprint(customer_lifecycle.build_settings(['input_mapping'])) }} as {{ dbt.type_bigint() }}) as build_settings
from ({{ customer_lifecycle.staged_customers(after_line=loaded.last_line) }}) as staged
