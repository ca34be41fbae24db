{#- Every customer (someone with a purchase) is in exactly one cohort. -#}
with

cohorts as (

    select coalesce(sum(cohort_size), 0) as customers
    from {{ ref('fct_cohort_retention') }}
    where months_since_first = 0

),

customers as (

    select count(*) as customers
    from {{ ref('dim_customers') }}
    where cohort_month is not null

),

new_customers as (

    select coalesce(sum(new_customers), 0) as customers
    from {{ ref('fct_churn_monthly') }}

)

select cohorts.customers as in_cohorts, customers.customers as in_dim_customers, new_customers.customers as new_in_bridge
from cohorts
cross join customers
cross join new_customers
where cohorts.customers <> customers.customers or new_customers.customers <> customers.customers
