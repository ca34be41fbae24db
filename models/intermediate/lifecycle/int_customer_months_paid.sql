{#- One row per customer and month with an accepted payment (any status): the month's purchases,
    refunds, and first and last purchase. Every later model sums these rows instead of payments, and
    only the months with money get a row (the customer-month spine fills the months between).

    Incremental: a run recomputes every month of the customers with a payment loaded since the last
    build (however old its date) or newly inside the window because as_of_date moved on, and replaces
    their rows. Built with other settings or as of a later date, it is rebuilt whole. -#}
{{ config(
    materialized='table' if target.type == 'spark' else 'incremental',
    incremental_strategy='delete+insert',
    unique_key='customer_id',
    on_schema_change='fail',
    pre_hook="{{ customer_lifecycle.reset_incremental_if_stale(['reporting_timezone']) }}"
) }}
{%- set settings = customer_lifecycle.build_settings(['reporting_timezone']) -%}
{%- set state = customer_lifecycle.incremental_state(['reporting_timezone'], extra='built_through_load_batch') %}
with

payments as (

    select * from {{ ref('int_payments_accepted') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

load_batches as (

    select max(load_batch) as last_load_batch from {{ ref('stg_billing__payments') }}

),

{% if state is not none -%}
changed_customers as (

    select distinct staged.customer_id
    from {{ ref('stg_billing__payments') }} as staged
    where
        staged.rejection_reason is null
        and (
            staged.load_batch > {{ state.extra }}
            or staged.paid_date > {{ state.previous_as_of }}
        )

),
{%- endif %}

final as (

    select
        payments.customer_id,
        payments.paid_month as month,
        count(case when payments.is_purchase then 1 end) as purchases,
        cast(coalesce(sum(case when payments.is_purchase then payments.amount end), 0) as {{ money_type() }})
            as gross_revenue,
        cast(coalesce(sum(case when payments.is_refund then payments.amount end), 0) as {{ money_type() }})
            as refunds,
        min(case when payments.is_purchase then payments.paid_at end) as first_purchase_at,
        cast(
            {{ customer_lifecycle.value_at_first('payments.amount', ['payments.paid_at', 'payments.payment_id'], 'payments.is_purchase') }}
            as {{ money_type() }}
        ) as first_purchase_amount,
        max(case when payments.is_purchase then payments.paid_at end) as last_purchase_at,
        max(case when payments.is_purchase then payments.paid_date end) as last_purchase_date,
        min(case when payments.is_purchase then payments.paid_date end) as first_purchase_date,
        {{ customer_lifecycle.next_build_run() }} as built_in_run,
        max(reporting_window.as_of_date) as built_as_of_date,
        max(load_batches.last_load_batch) as built_through_load_batch,
        '{{ settings }}' as build_settings
    from payments
    cross join reporting_window
    cross join load_batches
    {%- if state is not none %}
    where payments.customer_id in (select customer_id from changed_customers)
    {%- endif %}
    group by payments.customer_id, payments.paid_month

)

select * from final
