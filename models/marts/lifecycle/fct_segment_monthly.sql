{#- One row per month, classification and segment: how many customers the segment had and what they
    bought, and its share of the month's net revenue (docs/definitions.md, "Segments"). Every
    classification of int_customer_segments, starting with new vs returning, over the classified
    months (the last segment_history_months months up to the as_of month). A month's customers are
    those in the base at its start or end or with money in it, so each classification's segments add
    up to the month's customers and net revenue. -#}
{%- set classifications = {
    'new_or_returning': 'new_or_returning',
    'regularity': 'regularity',
    'frequency_class': 'frequency_class',
    'rfm_segment': 'rfm_segment',
    'inactivity_stage': 'inactivity_stage',
    'hidden_churn': "case when is_hidden_churn then 'hidden_churn' else 'not_hidden_churn' end"
} -%}
with

segments as (

    select * from {{ ref('int_customer_segments') }}

),

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

by_segment as (

    {% for classification, expression in classifications.items() -%}
    select
        month,
        '{{ classification }}' as classification,
        {{ expression }} as segment,
        count(*) as customers,
        count(case when is_in_base_at_end then 1 end) as customers_in_base_at_end,
        count(case when is_active then 1 end) as active_customers,
        sum(purchases) as purchases,
        sum(net_revenue) as net_revenue
    from segments
    group by month, {{ expression }}
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}

),

final as (

    select
        by_segment.month,
        by_segment.classification,
        by_segment.segment,
        cast(by_segment.customers as {{ dbt.type_bigint() }}) as customers,
        cast(by_segment.customers_in_base_at_end as {{ dbt.type_bigint() }}) as customers_in_base_at_end,
        cast(by_segment.active_customers as {{ dbt.type_bigint() }}) as active_customers,
        cast(by_segment.purchases as {{ dbt.type_bigint() }}) as purchases,
        cast(by_segment.net_revenue as {{ money_type() }}) as net_revenue,
        {{ safe_divide(
            'by_segment.net_revenue',
            'sum(by_segment.net_revenue) over (partition by by_segment.month, by_segment.classification)'
        ) }} as net_revenue_share,
        {{ month_is_complete('by_segment.month', 'reporting_window.as_of_date') }} as is_complete
    from by_segment
    cross join reporting_window

)

select * from final
