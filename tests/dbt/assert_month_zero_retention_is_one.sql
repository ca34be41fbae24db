{#- Everyone in a cohort purchased in its first month. -#}
select cohort_month, retention_rate, active_customers, cohort_size
from {{ ref('fct_cohort_retention') }}
where months_since_first = 0 and (retention_rate <> 1 or active_customers <> cohort_size)
