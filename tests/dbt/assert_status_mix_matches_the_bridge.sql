{#- fct_customer_status_monthly against the churn bridge and the cohorts, every month: its new and
    reactivated customers are the bridge's; those in the base at the start of the month are retained
    or churned; the bridge's churned add the new and reactivated who lapsed within the month, so they
    are at least the status's churned and at most that plus new and reactivated; and the five statuses
    together are every customer whose cohort month is the month or earlier. -#}
with

mix as (

    select
        month,
        sum(case when status = 'new' then customers else 0 end) as new_customers,
        sum(case when status = 'reactivated' then customers else 0 end) as reactivated_customers,
        sum(case when status = 'retained' then customers else 0 end) as retained_customers,
        sum(case when status = 'churned' then customers else 0 end) as churned_customers,
        sum(customers) as customers
    from {{ ref('fct_customer_status_monthly') }}
    group by month

),

bridge as (

    select * from {{ ref('fct_churn_monthly') }}

),

cohort_sizes as (

    select cohort_month, cohort_size
    from {{ ref('fct_cohort_retention') }}
    where months_since_first = 0

),

customers_to_date as (

    select
        bridge.month,
        coalesce(sum(cohort_sizes.cohort_size), 0) as customers
    from bridge
    left join cohort_sizes
        on cohort_sizes.cohort_month <= bridge.month
    group by bridge.month

)

select bridge.month, mix.new_customers, mix.reactivated_customers, mix.retained_customers,
    mix.churned_customers, mix.customers, customers_to_date.customers as customers_to_date
from bridge
left join mix
    on bridge.month = mix.month
left join customers_to_date
    on bridge.month = customers_to_date.month
where
    mix.month is null
    or mix.new_customers <> bridge.new_customers
    or mix.reactivated_customers <> bridge.reactivated_customers
    or mix.retained_customers + mix.churned_customers <> bridge.customers_start
    or bridge.churned_customers < mix.churned_customers
    or bridge.churned_customers > mix.churned_customers + mix.new_customers + mix.reactivated_customers
    or mix.customers <> customers_to_date.customers
