{#- The monthly marts cover first_month to as_of_month with one row per month and no gap; every cohort
    has a row for each month from its start to the as_of month. -#}
with

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

expected_months as (

    select
        case when first_month is null then 0
            else {{ dbt.datediff('first_month', 'as_of_month', 'month') }} + 1
        end as months
    from reporting_window

),

monthly_marts as (

    select 'fct_churn_monthly' as mart, count(*) as months, count(distinct month) as distinct_months
    from {{ ref('fct_churn_monthly') }}
    union all
    select 'fct_revenue_monthly', count(*), count(distinct month)
    from {{ ref('fct_revenue_monthly') }}

),

cohort_rows as (

    select
        cohorts.cohort_month,
        count(*) as months,
        max(cohorts.months_since_first) as last_month_index,
        {{ dbt.datediff('cohorts.cohort_month', 'max(reporting_window.as_of_month)', 'month') }} as expected_last_index
    from {{ ref('fct_cohort_retention') }} as cohorts
    cross join reporting_window
    group by cohorts.cohort_month

)

select monthly_marts.mart, monthly_marts.months as found, expected_months.months as expected
from monthly_marts
cross join expected_months
where monthly_marts.months <> expected_months.months or monthly_marts.distinct_months <> monthly_marts.months
union all
select 'fct_cohort_retention ' || cast(cohort_month as {{ dbt.type_string() }}), months, expected_last_index + 1
from cohort_rows
where months <> expected_last_index + 1 or last_month_index <> expected_last_index
