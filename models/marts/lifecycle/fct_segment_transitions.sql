{#- One row per month, classification and pair of segments: how many customers were in one segment
    at the end of the month before and are in the other at the end of this one (a migration matrix,
    docs/definitions.md, "Segment transitions"). `none` on either side: the customer was not
    classified that month (not yet a customer, or out of the base with no money in the month), so
    a month's rows add up to the customers classified in either month. The first classified month
    has no month before it and no rows. -#}
{%- set classifications = ['regularity', 'frequency_class', 'rfm_segment', 'inactivity_stage'] -%}
with

segments as (

    select
        *,
        case when is_hidden_churn then 'hidden_churn' else 'not_hidden_churn' end as hidden_churn
    from {{ ref('int_customer_segments') }}

),

reporting_window as (

    select
        *,
        {{ customer_lifecycle.first_classified_month('reporting_window') }} as first_classified_month
    from {{ ref('int_reporting_window') }} as reporting_window

),

{#- Each customer's row of a month after the first classified one, beside their row of the month
    before (the month before's rows moved on by a month), up to the as_of month. -#}
this_month as (

    select segments.*
    from segments
    cross join reporting_window
    where segments.month > reporting_window.first_classified_month

),

last_month as (

    select
        segments.*,
        cast({{ dbt.dateadd('month', 1, 'segments.month') }} as date) as next_month
    from segments
    cross join reporting_window
    where segments.month < reporting_window.as_of_month

),

paired as (

    select
        coalesce(this_month.customer_id, last_month.customer_id) as customer_id,
        coalesce(this_month.month, last_month.next_month) as month,
        {%- for classification in classifications + ['hidden_churn'] %}
        coalesce(last_month.{{ classification }}, 'none') as from_{{ classification }},
        coalesce(this_month.{{ classification }}, 'none') as to_{{ classification }}{{ ',' if not loop.last }}
        {%- endfor %}
    from this_month
    full outer join last_month
        on this_month.customer_id = last_month.customer_id
        and this_month.month = last_month.next_month

),

{#- Counted once per combination of all the pairs (a few thousand rows), then per classification. -#}
combinations as (

    select
        month,
        {%- for classification in classifications + ['hidden_churn'] %}
        from_{{ classification }},
        to_{{ classification }},
        {%- endfor %}
        count(*) as customers
    from paired
    group by
        month
        {%- for classification in classifications + ['hidden_churn'] %},
        from_{{ classification }},
        to_{{ classification }}
        {%- endfor %}

),

final as (

    {% for classification in classifications + ['hidden_churn'] -%}
    select
        month,
        '{{ classification }}' as classification,
        from_{{ classification }} as from_segment,
        to_{{ classification }} as to_segment,
        cast(sum(customers) as {{ dbt.type_bigint() }}) as customers
    from combinations
    group by month, from_{{ classification }}, to_{{ classification }}
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}

)

select * from final
