{#- The customers a retention team should contact now, most valuable first (docs/definitions.md,
    "Win-back list"): in the base on as_of_date and cooling, at risk, hiddenly churning, or an RFM
    at_risk or frequency-class lost customer. One row per customer, with the reasons as codes. -#}
with

segments as (

    select * from {{ ref('dim_customer_segments') }}
    where is_in_base

),

reasons as (

    select
        *,
        case when inactivity_stage = 'cooling' then 'cooling' end as reason_cooling,
        case when inactivity_stage = 'at_risk' then 'inactive_at_risk' end as reason_inactive,
        case when is_hidden_churn then 'hidden_churn' end as reason_hidden_churn,
        case when rfm_segment = 'at_risk' then 'rfm_at_risk' end as reason_rfm,
        case when frequency_class = 'lost' then 'frequency_lost' end as reason_frequency,
        {#- Predicted CLV where the prediction runs (DuckDB), else the last window's net revenue. -#}
        coalesce(predicted_clv, cast(window_net_revenue as {{ double_type() }})) as value_at_stake
    from segments

),

final as (

    select
        customer_id,
        acquisition_channel,
        cohort_month,
        concat_ws(',', reason_cooling, reason_inactive, reason_hidden_churn, reason_rfm, reason_frequency)
            as reasons,
        value_at_stake,
        cast(row_number() over (order by value_at_stake desc nulls last, customer_id) as {{ dbt.type_bigint() }})
            as priority,
        days_since_last_purchase,
        inactivity_stage,
        rfm_segment,
        frequency_class,
        regularity,
        is_hidden_churn,
        net_revenue_drop,
        window_net_revenue,
        net_revenue,
        predicted_clv,
        p_alive,
        as_of_date
    from reasons
    where coalesce(reason_cooling, reason_inactive, reason_hidden_churn, reason_rfm, reason_frequency) is not null

)

select * from final
