with

customer_months as (

    select * from {{ ref('int_customer_months_spined') }}

)

select * from customer_months
