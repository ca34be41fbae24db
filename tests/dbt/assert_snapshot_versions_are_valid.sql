{#- Every lifecycle-state version ends on or after the day it starts, and each customer has at most
    one current version, whatever order the as_of dates were built in. -#}
{{ config(enabled=target.type != 'spark') }}
select customer_id, dbt_valid_from, dbt_valid_to, 'ends before it starts' as problem
from {{ ref('snp_customer_lifecycle_states') }}
where dbt_valid_to < dbt_valid_from
union all
select customer_id, min(dbt_valid_from), null, 'more than one current version'
from {{ ref('snp_customer_lifecycle_states') }}
where dbt_valid_to is null
group by customer_id
having count(*) > 1
