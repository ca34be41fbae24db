{#- One row per month and customer-month status: how many customers had it and their net revenue,
    the customer-month grid (fct_customer_months) summed by month and status. Every month of the
    reporting window has a row for each status, with 0 when nobody had it, so that a stacked chart
    needs no gap filling. A small table summed from int_cohort_months_aggregated, so that dashboards
    showing the status mix do not expand the grid when they read (docs/decisions.md, "Dashboards and
    the customer marts"). -#}
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

statuses as (

    {% for status in customer_month_statuses() -%}
    select cast('{{ status }}' as {{ dbt.type_string() }}) as status
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}

),

status_counts as (

    select
        month,
        status,
        sum(customers) as customers,
        sum(net_revenue) as net_revenue
    from cohort_months
    group by month, status

),

final as (

    select
        revenue_months.month,
        statuses.status,
        cast(coalesce(status_counts.customers, 0) as {{ dbt.type_bigint() }}) as customers,
        cast(coalesce(status_counts.net_revenue, 0) as {{ money_type() }}) as net_revenue,
        {{ month_is_complete('revenue_months.month', 'reporting_window.as_of_date') }} as is_complete
    from revenue_months
    cross join statuses
    cross join reporting_window
    left join status_counts
        on revenue_months.month = status_counts.month
        and statuses.status = status_counts.status

)

select * from final
