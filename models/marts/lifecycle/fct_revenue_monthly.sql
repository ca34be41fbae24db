with

revenue_months as (

    select * from {{ ref('int_revenue_months_aggregated') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

final as (

    select
        revenue_months.month,
        revenue_months.active_customers,
        revenue_months.new_customers,
        revenue_months.returning_customers,
        revenue_months.purchases,
        revenue_months.first_purchases,
        revenue_months.repeat_purchases,
        revenue_months.gross_revenue,
        revenue_months.first_purchase_revenue,
        revenue_months.repeat_purchase_revenue,
        revenue_months.refunds,
        revenue_months.net_revenue,
        {{ safe_divide('revenue_months.gross_revenue', 'revenue_months.purchases') }} as average_order_value,
        {{ month_is_complete('revenue_months.month', 'reporting_window.as_of_date') }} as is_complete
    from revenue_months
    cross join reporting_window

)

select * from final
