{#- One row: the day the warehouse describes and the months the monthly marts cover. -#}
with

payments as (

    select * from {{ ref('stg_billing__payments') }}
    where rejection_reason is null

),

as_of as (

    {% if var('as_of_date', none) is not none -%}
    select cast('{{ var("as_of_date") }}' as date) as as_of_date
    {%- else -%}
    select max(paid_date) as as_of_date
    from payments
    {%- endif %}

),

first_money_month as (

    select min(payments.paid_month) as first_month
    from payments
    inner join as_of
        on payments.paid_date <= as_of.as_of_date
    where payments.is_purchase or payments.is_refund

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
