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

months as (

    select distinct month from segments

),

{#- Each customer in each classified month after the first, beside their row of the month before. -#}
paired as (

    select
        coalesce(this_month.customer_id, last_month.customer_id) as customer_id,
        coalesce(this_month.month, cast({{ dbt.dateadd('month', 1, 'last_month.month') }} as date)) as month,
        {%- for classification in classifications + ['hidden_churn'] %}
        coalesce(last_month.{{ classification }}, 'none') as from_{{ classification }},
        coalesce(this_month.{{ classification }}, 'none') as to_{{ classification }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        select * from segments
        where month > (select min(month) from months)
    ) as this_month
    full outer join (
        select * from segments
        where month < (select max(month) from months)
    ) as last_month
        on this_month.customer_id = last_month.customer_id
        and this_month.month = cast({{ dbt.dateadd('month', 1, 'last_month.month') }} as date)

),

final as (

    {% for classification in classifications + ['hidden_churn'] -%}
    select
        month,
        '{{ classification }}' as classification,
        from_{{ classification }} as from_segment,
        to_{{ classification }} as to_segment,
        cast(count(*) as {{ dbt.type_bigint() }}) as customers
    from paired
    group by month, from_{{ classification }}, to_{{ classification }}
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}

)

select * from final
