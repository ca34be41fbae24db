{#- Marketing spend per month and acquisition channel, next to the customers acquired then: the accepted
    spend rows of months up to as_of_date's, summed (several rows of one month and channel are one ad
    platform's campaigns), with the new customers of that cohort month and channel. Only months and
    channels with spend have a row; a channel no customer has is kept (channel_has_customers false),
    never dropped. Empty when there is no marketing_spend input. docs/definitions.md, "Marketing
    spend". -#}
with

spend as (

    select * from {{ ref('stg_billing__marketing_spend') }}
    where rejection_reason is null

),

customers as (

    select * from {{ ref('int_customers_unioned') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

spend_summed as (

    select
        spend.month,
        spend.acquisition_channel,
        sum(spend.spend) as spend,
        count(*) as spend_rows
    from spend
    cross join reporting_window
    where reporting_window.as_of_date is null or spend.month <= reporting_window.as_of_date
    group by spend.month, spend.acquisition_channel

),

new_customers as (

    select
        cohort_month as month,
        acquisition_channel,
        count(*) as new_customers
    from customers
    where cohort_month is not null and acquisition_channel is not null
    group by cohort_month, acquisition_channel

),

channels_with_customers as (

    select distinct acquisition_channel
    from customers
    where acquisition_channel is not null

),

final as (

    select
        spend_summed.month,
        spend_summed.acquisition_channel,
        cast(spend_summed.spend as {{ money_type() }}) as spend,
        cast(spend_summed.spend_rows as {{ dbt.type_bigint() }}) as spend_rows,
        cast(coalesce(new_customers.new_customers, 0) as {{ dbt.type_bigint() }}) as new_customers,
        channels_with_customers.acquisition_channel is not null as channel_has_customers
    from spend_summed
    left join new_customers
        on
            spend_summed.month = new_customers.month
            and spend_summed.acquisition_channel = new_customers.acquisition_channel
    left join channels_with_customers
        on spend_summed.acquisition_channel = channels_with_customers.acquisition_channel

)

select * from final
