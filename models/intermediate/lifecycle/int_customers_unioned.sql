{#- Every customer, from the customers table and from payments, with their purchase history summed
    (from the customer-month sums, not the payments) and their last month with money from the cohort
    month on (the last anchor, whose span covers the as_of month: dim_customers takes the customer's
    state on as_of_date from it).

    Incremental: a run rewrites the customers whose months int_payments_summarized rewrote since
    (load_batch), who have new rows in stg_billing__customers, or who signed up after the previous
    as_of_date and by this run's; built from another generation of int_payments_summarized, with
    other settings or as of a later date, it is rebuilt whole. -#}
{%- set setting_vars = ['reporting_timezone', 'as_of_date'] -%}
{{ config(
    materialized='table' if target.type == 'spark' else 'incremental',
    incremental_strategy='delete+insert',
    unique_key='customer_id',
    on_schema_change='fail',
    pre_hook="{{ customer_lifecycle.empty_customers_if_not_current(" ~ setting_vars ~ ") }}"
) }}
-- depends_on: {{ ref('int_payments_summarized') }}
{%- set settings = customer_lifecycle.build_settings(setting_vars) -%}
{%- set built = customer_lifecycle.customers_built_from(settings) -%}
{%- set last_anchor = "next_money_month is null and month >= cohort_month and (purchases > 0 or refunds < 0)" %}
with

registered_customers as (

    select * from {{ ref('stg_billing__customers') }}
    where rejection_reason is null

),

customer_months_paid as (

    select * from {{ ref('int_customer_months_paid') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

registered_in_window as (

    select
        registered_customers.customer_id,
        registered_customers.created_at,
        registered_customers.country,
        registered_customers.acquisition_channel
    from registered_customers
    cross join reporting_window
    where
        (
            registered_customers.created_at is null
            or reporting_window.as_of_date is null
            or cast({{ to_reporting_timestamp('registered_customers.created_at') }} as date)
            <= reporting_window.as_of_date
        )

),

{% if built is not none -%}
{#- Customers whose months were rewritten, with new rows in the customers table, or signed up after the
    previous as_of_date and by this run's. -#}
rewritten_customers as (

    select customer_id
    from {{ ref('int_payments_summarized') }}
    where set_aside_reason is null and load_batch > {{ built.load_batch }}
    union
    select customer_id
    from {{ ref('stg_billing__customers') }}
    where load_batch > {{ built.customers_batch }} and customer_id is not null
    union
    select customer_id
    from registered_in_window
    where
        cast({{ to_reporting_timestamp('created_at') }} as date) > {{ built.as_of_date }}

),

{% endif -%}

payments_summed as (

    select
        customer_id,
        min(first_purchase_at) as first_purchase_at,
        max(last_purchase_at) as last_purchase_at,
        min(first_purchase_date) as first_purchase_date,
        max(last_purchase_date) as last_purchase_date,
        {{ customer_lifecycle.value_at_first('first_purchase_amount', ['month'], 'purchases > 0') }}
            as first_purchase_amount,
        sum(purchases) as purchase_count,
        cast(sum(gross_revenue) as {{ money_type() }}) as gross_revenue,
        cast(sum(refunds) as {{ money_type() }}) as refunds,
        {#- The last anchor: the one month with money from the cohort month on without a next one. -#}
        max(case when {{ last_anchor }} then month end) as last_anchor_month,
        max(case when {{ last_anchor }} then purchases end) as last_anchor_purchases,
        max(case when {{ last_anchor }} then last_purchase_date_before end) as last_purchase_date_before_last_anchor
    from customer_months_paid
    {%- if built is not none %}
    where customer_id in (select customer_id from rewritten_customers)
    {%- endif %}
    group by customer_id

),

final as (

    select
        coalesce(registered_in_window.customer_id, payments_summed.customer_id) as customer_id,
        registered_in_window.customer_id is not null as has_customer_record,
        registered_in_window.created_at,
        registered_in_window.country,
        registered_in_window.acquisition_channel,
        payments_summed.first_purchase_at,
        payments_summed.last_purchase_at,
        payments_summed.first_purchase_date,
        payments_summed.last_purchase_date,
        cast({{ dbt.date_trunc('month', 'payments_summed.first_purchase_date') }} as date) as cohort_month,
        cast(payments_summed.first_purchase_amount as {{ money_type() }}) as first_purchase_amount,
        cast(coalesce(payments_summed.purchase_count, 0) as {{ dbt.type_bigint() }}) as purchase_count,
        cast(coalesce(payments_summed.gross_revenue, 0) as {{ money_type() }}) as gross_revenue,
        cast(coalesce(payments_summed.refunds, 0) as {{ money_type() }}) as refunds,
        payments_summed.last_anchor_month,
        cast(payments_summed.last_anchor_purchases as {{ dbt.type_bigint() }}) as last_anchor_purchases,
        payments_summed.last_purchase_date_before_last_anchor,
        cast((select generation from {{ ref('int_payments_summarized') }} limit 1) as {{ dbt.type_bigint() }})
            as built_from_generation,
        cast((select max(load_batch) from {{ ref('int_payments_summarized') }}) as {{ dbt.type_bigint() }})
            as built_from_load_batch,
        cast((select coalesce(max(load_batch), 0) from {{ ref('stg_billing__customers') }}) as {{ dbt.type_bigint() }})
            as built_from_customers_batch,
        (select as_of_date from reporting_window) as built_as_of_date,
        cast({{ customer_lifecycle.fingerprint(settings) }} as {{ dbt.type_bigint() }}) as build_settings
    from {% if built is not none -%}
        (
            select * from registered_in_window
            where customer_id in (select customer_id from rewritten_customers)
        ) as registered_in_window
    {%- else -%}
        registered_in_window
    {%- endif %}
    full outer join payments_summed
        on registered_in_window.customer_id = payments_summed.customer_id

)

select * from final
