{#- One row: the day the warehouse describes and the months the monthly marts cover. -#}
with

customer_months as (

    select * from {{ ref('int_customer_months_paid') }}

),

as_of as (

    {% if var('as_of_date', none) is not none -%}
    select cast('{{ var("as_of_date") }}' as date) as as_of_date
    {%- else -%}
    select max(last_paid_date) as as_of_date
    from customer_months
    {%- endif %}

),

{#- Payments after an as_of_date var are set aside before they reach the customer months. -#}
first_money_month as (

    select min(month) as first_month
    from customer_months
    where purchases > 0 or refunds < 0

),

final as (

    select
        as_of.as_of_date,
        cast({{ dbt.date_trunc('month', 'as_of.as_of_date') }} as date) as as_of_month,
        first_money_month.first_month
    from as_of
    cross join first_money_month

)

select * from final
