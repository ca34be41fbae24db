with

cohort_months as (

    select * from {{ ref('int_cohort_months_aggregated') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

{#- int_cohort_months_aggregated splits each cohort-month by status; a cell is their sum. -#}
cohort_cells as (

    select
        cohort_month,
        months_since_first,
        month,
        cast(sum(customers) as {{ dbt.type_bigint() }}) as cohort_size,
        cast(sum(active_customers) as {{ dbt.type_bigint() }}) as active_customers,
        cast(sum(customers_in_base_at_end) as {{ dbt.type_bigint() }}) as customers_in_base,
        sum(net_revenue) as net_revenue
    from cohort_months
    group by cohort_month, months_since_first, month

),

cumulated as (

    select
        *,
        sum(net_revenue) over (
            partition by cohort_month
            order by months_since_first
            rows between unbounded preceding and current row
        ) as cumulative_net_revenue
    from cohort_cells

),

final as (

    select
        cumulated.cohort_month,
        cumulated.months_since_first,
        cumulated.month,
        cumulated.cohort_size,
        cumulated.active_customers,
        {{ safe_divide('cumulated.active_customers', 'cumulated.cohort_size') }} as retention_rate,
        cumulated.customers_in_base,
        {{ safe_divide('cumulated.customers_in_base', 'cumulated.cohort_size') }} as survival_rate,
        cast(cumulated.net_revenue as {{ money_type() }}) as net_revenue,
        cast(cumulated.cumulative_net_revenue as {{ money_type() }}) as cumulative_net_revenue,
        {{ safe_divide('cumulated.cumulative_net_revenue', 'cumulated.cohort_size') }}
            as cumulative_net_revenue_per_customer,
        {{ month_is_complete('cumulated.month', 'reporting_window.as_of_date') }} as is_complete
    from cumulated
    cross join reporting_window

)

select * from final
