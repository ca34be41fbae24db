with

cohort_months as (

    select * from {{ ref('int_cohort_months_aggregated') }}

),

revenue_months as (

    select * from {{ ref('int_revenue_months_aggregated') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

bridge_counts as (

    select
        month,
        sum(customers_in_base_at_start) as customers_start,
        sum(new_customers) as new_customers,
        sum(reactivated_customers) as reactivated_customers,
        sum(customers_in_base_at_end) as customers_end
    from cohort_months
    group by month

),

bridge as (

    select
        revenue_months.month,
        coalesce(bridge_counts.customers_start, 0) as customers_start,
        coalesce(bridge_counts.new_customers, 0) as new_customers,
        coalesce(bridge_counts.reactivated_customers, 0) as reactivated_customers,
        coalesce(bridge_counts.customers_start, 0)
        + coalesce(bridge_counts.new_customers, 0)
        + coalesce(bridge_counts.reactivated_customers, 0)
        - coalesce(bridge_counts.customers_end, 0) as churned_customers,
        coalesce(bridge_counts.customers_end, 0) as customers_end,
        revenue_months.net_revenue
    from revenue_months
    left join bridge_counts
        on revenue_months.month = bridge_counts.month

),

monthly_rates as (

    select
        *,
        {{ safe_divide('churned_customers', 'customers_start') }} as churn_rate,
        {{ safe_divide('customers_end - new_customers - reactivated_customers', 'customers_start') }}
            as retention_rate,
        {{ safe_divide('net_revenue', '(customers_start + customers_end) / 2.0') }} as arpu
    from bridge

),

trailing_sums as (

    select
        *,
        {{ safe_divide(
            'sum(churned_customers) over (order by month rows between 5 preceding and current row)',
            'sum(customers_start) over (order by month rows between 5 preceding and current row)'
        ) }} as churn_rate_trailing_6m,
        avg(arpu) over (order by month rows between 5 preceding and current row) as arpu_trailing_6m
    from monthly_rates

),

final as (

    {#- sum() of a bigint is a wider type on some engines (HUGEINT on DuckDB, numeric on
        PostgreSQL): every count in the marts is cast back to bigint, money to money_type(). -#}
    select
        trailing_sums.month,
        cast(trailing_sums.customers_start as {{ dbt.type_bigint() }}) as customers_start,
        cast(trailing_sums.new_customers as {{ dbt.type_bigint() }}) as new_customers,
        cast(trailing_sums.reactivated_customers as {{ dbt.type_bigint() }}) as reactivated_customers,
        cast(trailing_sums.churned_customers as {{ dbt.type_bigint() }}) as churned_customers,
        cast(trailing_sums.customers_end as {{ dbt.type_bigint() }}) as customers_end,
        trailing_sums.churn_rate,
        trailing_sums.retention_rate,
        cast(trailing_sums.net_revenue as {{ money_type() }}) as net_revenue,
        trailing_sums.arpu,
        1 / nullif(trailing_sums.churn_rate, 0) as avg_customer_lifetime_months,
        trailing_sums.arpu / nullif(trailing_sums.churn_rate, 0) as ltv,
        trailing_sums.churn_rate_trailing_6m,
        trailing_sums.arpu_trailing_6m,
        1 / nullif(trailing_sums.churn_rate_trailing_6m, 0) as avg_customer_lifetime_months_trailing_6m,
        trailing_sums.arpu_trailing_6m / nullif(trailing_sums.churn_rate_trailing_6m, 0) as ltv_trailing_6m,
        {{ month_is_complete('trailing_sums.month', 'reporting_window.as_of_date') }} as is_complete
    from trailing_sums
    cross join reporting_window

)

select * from final
