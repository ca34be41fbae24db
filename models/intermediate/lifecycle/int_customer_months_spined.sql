{#- One row per customer and month, from the cohort month to the as_of_date month, with the month's
    money and the customer's status in the base. The single place where churn, reactivation and
    retention are decided (docs/definitions.md, "Customer-month status").

    Built from the months with money only: each such month (an anchor) is expanded into itself and
    the empty months up to the next anchor, which all share the latest purchase date so far. A
    customer's base status at a month's end only needs that date, so no window runs over the full
    customer x month grid.

    Incremental: the rows that can change are every month of a customer whose payments changed
    (int_customer_months_paid rewrote them) and, for everyone, the months from the previous build's
    as_of month on (its month-end status was taken on the old as_of_date, and new months begin). A
    customer with no money in those months continues from their last purchase date, so only the
    customers with money in them need their history. Built with other settings or as of a later
    date, it is rebuilt whole. -#}
{{ config(
    materialized='table' if target.type == 'spark' else 'incremental',
    incremental_strategy='delete+insert',
    unique_key=['customer_id', 'month'],
    on_schema_change='fail',
    pre_hook="{{ customer_lifecycle.reset_incremental_if_stale(['reporting_timezone', 'churn_inactivity_days']) }}"
) }}
{%- set window_start_offset = 1 - (var('churn_inactivity_days') | int) -%}
{%- set settings = customer_lifecycle.build_settings(['reporting_timezone', 'churn_inactivity_days']) -%}
{%- set state = customer_lifecycle.incremental_state(['reporting_timezone', 'churn_inactivity_days'], extra='built_from_paid_run') %}
with

customers as (

    select * from {{ ref('int_customers_unioned') }}

),

customer_months_paid as (

    select * from {{ ref('int_customer_months_paid') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

{% if state is not none -%}
changed_customers as (

    select distinct customer_id
    from customer_months_paid
    where built_in_run > {{ state.extra }}

),

{#- Customers whose rows from the previous as_of month on depend on money in those months. -#}
recomputed_customers as (

    select customer_id from changed_customers
    union
    select customer_id
    from customer_months_paid
    where month >= {{ state.previous_as_of_month }} and (purchases > 0 or refunds < 0)

),

{%- endif %}
anchors as (

    select
        customer_months_paid.customer_id,
        customers.cohort_month,
        customer_months_paid.month as anchor_month,
        coalesce(
            cast({{ dbt.dateadd('month', -1, 'lead(customer_months_paid.month) over (partition by customer_months_paid.customer_id order by customer_months_paid.month)') }} as date),
            reporting_window.as_of_month
        ) as span_end_month,
        customer_months_paid.purchases,
        customer_months_paid.gross_revenue,
        customer_months_paid.refunds,
        max(customer_months_paid.last_purchase_date) over (
            partition by customer_months_paid.customer_id
            order by customer_months_paid.month
            rows between unbounded preceding and current row
        ) as last_purchase_date_to_date,
        max(customer_months_paid.last_purchase_date) over (
            partition by customer_months_paid.customer_id
            order by customer_months_paid.month
            rows between unbounded preceding and 1 preceding
        ) as last_purchase_date_before,
        reporting_window.as_of_date
    from customer_months_paid
    inner join customers
        on
            customer_months_paid.customer_id = customers.customer_id
            and customer_months_paid.month >= customers.cohort_month
    cross join reporting_window
    where
        (customer_months_paid.purchases > 0 or customer_months_paid.refunds < 0)
        {%- if state is not none %}
        and customer_months_paid.customer_id in (select customer_id from recomputed_customers)
        {%- endif %}

),

{% if state is not none -%}
{#- Everyone else: no money since the previous as_of month, so those months continue from the last
    purchase, as the months after an anchor do. -#}
carried_anchors as (

    select
        customers.customer_id,
        customers.cohort_month,
        {{ state.previous_as_of_month }} as anchor_month,
        reporting_window.as_of_month as span_end_month,
        0 as purchases,
        cast(0 as {{ money_type() }}) as gross_revenue,
        cast(0 as {{ money_type() }}) as refunds,
        customers.last_purchase_date as last_purchase_date_to_date,
        customers.last_purchase_date as last_purchase_date_before,
        reporting_window.as_of_date
    from customers
    cross join reporting_window
    where
        customers.cohort_month < {{ state.previous_as_of_month }}
        and customers.customer_id not in (select customer_id from recomputed_customers)

),

all_anchors as (

    select * from anchors
    union all
    select * from carried_anchors

),

expanded as (

    select *
    from ({{ month_series('anchor_month', 'span_end_month', 'all_anchors', keep_columns=true) }}) as months_expanded
    where
        month >= {{ state.previous_as_of_month }}
        or customer_id in (select customer_id from changed_customers)

),
{%- else -%}
expanded as (

    {{ month_series('anchor_month', 'span_end_month', 'anchors', keep_columns=true) }}

),
{%- endif %}

month_ends as (

    select
        *,
        case
            when {{ month_last_day('month') }} < as_of_date then {{ month_last_day('month') }}
            else as_of_date
        end as month_end_date,
        month = anchor_month as is_anchor
    from expanded

),

base_membership as (

    select
        customer_id,
        month,
        cohort_month,
        {{ dbt.datediff('cohort_month', 'month', 'month') }} as months_since_first,
        month_end_date,
        case when is_anchor then purchases else 0 end as purchases,
        cast(case when is_anchor then gross_revenue else 0 end as {{ money_type() }}) as gross_revenue,
        cast(case when is_anchor then refunds else 0 end as {{ money_type() }}) as refunds,
        is_anchor and purchases > 0 as is_active,
        {#- In the base at the end of the previous month, whose last day is the day before `month`. -#}
        coalesce(
            case when is_anchor then last_purchase_date_before else last_purchase_date_to_date end
            >= {{ add_days('month', window_start_offset - 1) }},
            false
        ) as was_in_base_at_start,
        coalesce(
            last_purchase_date_to_date >= {{ add_days('month_end_date', window_start_offset) }},
            false
        ) as is_in_base_at_end,
        month = cohort_month as is_new,
        as_of_date
    from month_ends

),

movements as (

    select
        *,
        is_active and not is_new and not was_in_base_at_start as is_reactivated
    from base_membership

),

final as (

    select
        customer_id,
        month,
        cohort_month,
        months_since_first,
        month_end_date,
        purchases,
        gross_revenue,
        refunds,
        cast(gross_revenue + refunds as {{ money_type() }}) as net_revenue,
        is_active,
        was_in_base_at_start,
        is_in_base_at_end,
        is_new,
        is_reactivated,
        (was_in_base_at_start or is_new or is_reactivated) and not is_in_base_at_end as is_churned,
        case
            when is_new then 'new'
            when is_reactivated then 'reactivated'
            when not is_in_base_at_end and was_in_base_at_start then 'churned'
            when was_in_base_at_start then 'retained'
            else 'lapsed'
        end as status,
        {{ customer_lifecycle.next_build_run() }} as built_in_run,
        as_of_date as built_as_of_date,
        {{ "(select max(built_in_run) from " ~ ref('int_customer_months_paid') ~ ")" }} as built_from_paid_run,
        '{{ settings }}' as build_settings
    from movements

)

select * from final
