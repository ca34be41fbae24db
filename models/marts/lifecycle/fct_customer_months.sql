{#- One row per customer and month, from the cohort month to the as_of month, with the month's money
    and the customer's status in the base (docs/definitions.md, "Customer-month status"). Each
    customer's spans (customer_month_spans) are expanded into their months.

    A view by default (dbt_project.yml): stored, it would be the largest table by far (about 1.75
    rows per payment), and the marts that sum it do so from the spans without it. Set
    `+materialized: table` for it in dbt_project.yml to store it. -#}
with

spans as (

    {{ customer_month_spans(
        ref('int_customer_months_paid').include(database=false),
        ref('int_reporting_window').include(database=false)
    ) }}

),

months as (

    {{ month_series('anchor_month', 'span_end_month', 'spans', keep_columns=true) }}

),

flagged as (

    select
        customer_id,
        month,
        cohort_month,
        purchases,
        gross_revenue,
        refunds,
        as_of_date,
        {{ span_month_flags('month') }}
    from months

),

final as (

    select
        customer_id,
        month,
        cohort_month,
        cast({{ dbt.datediff('cohort_month', 'month', 'month') }} as {{ dbt.type_bigint() }}) as months_since_first,
        case
            when {{ month_last_day('month') }} < as_of_date then {{ month_last_day('month') }}
            else as_of_date
        end as month_end_date,
        case when is_anchor then purchases else 0 end as purchases,
        cast(case when is_anchor then gross_revenue else 0 end as {{ money_type() }}) as gross_revenue,
        cast(case when is_anchor then refunds else 0 end as {{ money_type() }}) as refunds,
        cast(case when is_anchor then gross_revenue + refunds else 0 end as {{ money_type() }}) as net_revenue,
        is_active,
        was_in_base_at_start,
        is_in_base_at_end,
        is_new,
        {{ customer_month_status() }}
    from flagged

)

select * from final
