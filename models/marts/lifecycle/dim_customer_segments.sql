{#- One row per customer (as dim_customers): who to act on and what they are worth on as_of_date. The
    classifications of the as_of month (int_customer_segments; docs/definitions.md, "Segments"), the
    inactivity stage of prospects, the predicted CLV and the acquisition cost of the customer's
    channel and cohort month.

    A table beside dim_customers rather than more columns in it: dim_customers stays a view of the
    stored customers that every daily run reads cheaply, and these columns come from the heavier
    classification and prediction steps (docs/decisions.md, "dim_customer_segments beside
    dim_customers"). The predicted columns come from a Python model that runs on DuckDB; on PostgreSQL
    and Spark they are null. -#}
{%- set s = customer_lifecycle.segment_settings() -%}
{%- set predicts = target.type == 'duckdb' -%}
with

customers as (

    select * from {{ ref('dim_customers') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

segments as (

    select segments.*
    from {{ ref('int_customer_segments') }} as segments
    inner join reporting_window
        on segments.month = reporting_window.as_of_month

),

acquisition_costs as (

    select
        month,
        acquisition_channel,
        {{ safe_divide('spend', 'new_customers') }} as customer_acquisition_cost
    from {{ ref('int_marketing_spend_monthly') }}

),

{% if predicts -%}
predictions as (

    select * from {{ ref('int_customer_clv_predicted') }}

),
{%- endif %}

final as (

    select
        customers.customer_id,
        customers.acquisition_channel,
        customers.cohort_month,
        customers.customer_type,
        customers.is_in_base,
        customers.lifecycle_state,
        customers.days_since_last_purchase,
        customers.net_revenue,
        segments.window_net_revenue,
        case
            when customers.purchase_count = 0 then null
            else coalesce(segments.regularity, 'lapsed')
        end as regularity,
        segments.typical_gap_months,
        segments.purchases_per_month,
        segments.frequency_class,
        segments.recency_score,
        segments.frequency_score,
        segments.monetary_score,
        case
            when customers.purchase_count = 0 then 'prospect'
            else coalesce(segments.rfm_segment, 'churned')
        end as rfm_segment,
        case
            when customers.purchase_count > 0 then coalesce(segments.inactivity_stage, 'churned')
            when customers.created_at is not null
                and {{ dbt.datediff('cast(customers.created_at as date)', 'customers.as_of_date', 'day') }}
                    > {{ s.never_converted_days }} then 'never_converted'
            else 'prospect'
        end as inactivity_stage,
        coalesce(segments.is_hidden_churn, false) as is_hidden_churn,
        segments.purchase_drop_share,
        segments.net_revenue_drop,
        {%- if predicts %}
        predictions.p_alive,
        predictions.expected_purchases,
        predictions.expected_average_order_value,
        predictions.predicted_clv,
        {%- else %}
        cast(null as {{ double_type() }}) as p_alive,
        cast(null as {{ double_type() }}) as expected_purchases,
        cast(null as {{ double_type() }}) as expected_average_order_value,
        cast(null as {{ double_type() }}) as predicted_clv,
        {%- endif %}
        acquisition_costs.customer_acquisition_cost,
        customers.as_of_date
    from customers
    left join segments
        on customers.customer_id = segments.customer_id
    left join acquisition_costs
        on customers.cohort_month = acquisition_costs.month
        and customers.acquisition_channel = acquisition_costs.acquisition_channel
    {%- if predicts %}
    left join predictions
        on customers.customer_id = predictions.customer_id
    {%- endif %}

)

select * from final
