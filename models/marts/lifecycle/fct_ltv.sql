{#- Customer lifetime value, several ways side by side, for all customers and per cohort month,
    acquisition channel and RFM segment, with acquisition cost, LTV:CAC and payback (docs/definitions.md,
    "LTV"). One row per grouping and group. Every figure is contribution: revenue x gross_margin.

    Each input is first summed per (cohort month, channel, segment), a few thousand rows however many
    customers there are, and the groupings are sums of those. -#}
{%- set margin = var('gross_margin', 1.0) | float -%}
{%- set groupings = {
    'all': [],
    'cohort_month': ['cohort_month'],
    'acquisition_channel': ['acquisition_channel'],
    'rfm_segment': ['rfm_segment']
} -%}
{%- set group_columns = ['cohort_month', 'acquisition_channel', 'rfm_segment'] -%}
{%- set realized_months = [3, 6, 12, 24] -%}
{%- set churn_days = var('churn_inactivity_days') | int -%}
{%- set segment_horizon = (churn_days / 30) | round(0, 'ceil') | int + 1 -%}
{%- set ltv_horizon = var('ltv_horizon_months', 12) | int -%}
{%- set select_of = {} -%}
{%- set group_by_of = {} -%}
{%- for grouping, columns in groupings.items() -%}
    {%- set parts = ["'" ~ grouping ~ "' as grouping"] -%}
    {%- for column in group_columns -%}
        {%- do parts.append((column if column in columns else 'cast(null as ' ~ ('date' if column == 'cohort_month' else dbt.type_string()) ~ ')') ~ ' as ' ~ column) -%}
    {%- endfor -%}
    {%- do select_of.update({grouping: parts | join(',\n        ') ~ ','}) -%}
    {%- do group_by_of.update({grouping: ('group by ' ~ columns | join(', ')) if columns else ''}) -%}
{%- endfor %}
with

reporting_window as (

    select * from {{ ref('int_reporting_window') }}

),

customers as (

    select * from {{ ref('dim_customer_segments') }}
    where customer_type != 'prospect'

),

customer_history as (

    select customer_id, gross_revenue, purchase_count from {{ ref('int_customers_unioned') }}

),

{#- Per customer group: customers, lifetime purchases and gross revenue, predicted CLV, CAC. -#}
customer_groups as (

    select
        customers.cohort_month,
        customers.acquisition_channel,
        customers.rfm_segment,
        count(*) as customers,
        sum(customer_history.purchase_count) as purchases,
        sum(customer_history.gross_revenue) as gross_revenue,
        {#- A sum of doubles depends on the order of the rows, which an incremental build changes, and the
            marts must come out the same either way: predicted CLV is summed as decimals; the customers of
            one cohort month and channel share one CAC, so theirs is count x CAC, and the segment's mean
            is rounded to 6 decimals below. -#}
        sum(cast(customers.predicted_clv as {{ money_type() }})) as predicted_clv,
        count(customers.predicted_clv) as predicted_customers,
        count(customers.customer_acquisition_cost) * max(customers.customer_acquisition_cost) as acquisition_cost,
        count(customers.customer_acquisition_cost) as costed_customers
    from customers
    inner join customer_history
        on customers.customer_id = customer_history.customer_id
    group by customers.cohort_month, customers.acquisition_channel, customers.rfm_segment

),

{#- Retention, revenue and purchases are followed over a horizon (docs/definitions.md, "LTV"): the
    customers in the base at the end of a start month, h months on. Churn is the share out of the
    base at the end, as a monthly rate 1 - (1 - share)^(1/h); ARPU and purchases per year count
    their money in the h months after the start.
    All, cohorts and channels: the start is the last complete month minus ltv_horizon_months (h). -#}
horizon_window as (

    select
        cast({{ dbt.dateadd('month', -ltv_horizon, 'last_complete_month') }} as date) as start_month,
        last_complete_month as end_month
    from (
        select
            case
                when {{ month_last_day('as_of_month') }} <= as_of_date then as_of_month
                else cast({{ dbt.dateadd('month', -1, 'as_of_month') }} as date)
            end as last_complete_month
        from reporting_window
    ) as complete

),

horizon_customers as (

    select
        customer_months.customer_id,
        max(case when customer_months.month <= horizon_window.start_month then customer_months.last_purchase_date end)
            as last_purchase_at_start,
        max(customer_months.last_purchase_date) as last_purchase_at_end,
        coalesce(sum(case when customer_months.month > horizon_window.start_month then customer_months.purchases end), 0)
            as purchases,
        coalesce(sum(case when customer_months.month > horizon_window.start_month
            then customer_months.gross_revenue + customer_months.refunds end), 0) as net_revenue,
        max(horizon_window.start_month) as start_month,
        max(horizon_window.end_month) as end_month
    from {{ ref('int_customer_months_paid') }} as customer_months
    cross join horizon_window
    where customer_months.month <= horizon_window.end_month
    group by customer_months.customer_id

),

horizon_groups as (

    select
        customers.cohort_month,
        customers.acquisition_channel,
        cast(null as {{ dbt.type_string() }}) as rfm_segment,
        count(*) as customers_at_start,
        count(case when not coalesce({{ add_days('horizon_customers.last_purchase_at_end', churn_days) }}
            > {{ month_last_day('horizon_customers.end_month') }}, false) then 1 end) as churned,
        sum(horizon_customers.purchases) as purchases,
        sum(horizon_customers.net_revenue) as net_revenue,
        {{ ltv_horizon }} as horizon_months
    from horizon_customers
    inner join customers
        on horizon_customers.customer_id = customers.customer_id
    where {{ add_days('horizon_customers.last_purchase_at_start', churn_days) }}
        > {{ month_last_day('horizon_customers.start_month') }}
    group by customers.cohort_month, customers.acquisition_channel

),

{#- Segments: a segment is partly defined by recency, so its customers can hardly leave the base
    within a month (a recent buyer stays churn_inactivity_days). Start months are the classified
    months whose month h = ceil(churn_inactivity_days / 30) + 1 later is complete and classified;
    the customers count in the segment they had at the start. -#}
segment_months as (

    select * from {{ ref('int_customer_segments') }}

),

segment_starts as (

    select start_month.customer_id, start_month.month, start_month.rfm_segment
    from segment_months as start_month
    cross join reporting_window
    where
        start_month.is_in_base_at_end
        and {{ month_last_day(dbt.dateadd('month', segment_horizon, 'start_month.month')) }} <= reporting_window.as_of_date

),

segment_followed as (

    select
        segment_starts.customer_id,
        segment_starts.month,
        segment_starts.rfm_segment,
        max(case when later.month = cast({{ dbt.dateadd('month', segment_horizon, 'segment_starts.month') }} as date)
            and later.is_in_base_at_end then 1 else 0 end) as stayed,
        coalesce(sum(later.purchases), 0) as purchases,
        coalesce(sum(later.net_revenue), 0) as net_revenue
    from segment_starts
    left join segment_months as later
        on segment_starts.customer_id = later.customer_id
        and later.month > segment_starts.month
        and later.month <= cast({{ dbt.dateadd('month', segment_horizon, 'segment_starts.month') }} as date)
    group by segment_starts.customer_id, segment_starts.month, segment_starts.rfm_segment

),

segment_horizon_groups as (

    select
        rfm_segment,
        count(*) as customers_at_start,
        count(*) - sum(stayed) as churned,
        sum(purchases) as purchases,
        sum(net_revenue) as net_revenue
    from segment_followed
    group by rfm_segment

),

{#- Realized value by age: each customer's net revenue at each age (months since the cohort month),
    beside the oldest age of theirs that is complete. -#}
customer_ages as (

    select
        customers.customer_id,
        customers.cohort_month,
        customers.acquisition_channel,
        customers.rfm_segment,
        cast({{ dbt.datediff('customers.cohort_month', 'reporting_window.as_of_month', 'month') }}
            - case when {{ month_last_day('reporting_window.as_of_month') }} <= reporting_window.as_of_date then 0 else 1 end
            as {{ dbt.type_bigint() }}) as complete_age
    from customers
    cross join reporting_window

),

age_revenue as (

    select
        customer_ages.cohort_month,
        customer_ages.acquisition_channel,
        customer_ages.rfm_segment,
        customer_ages.complete_age,
        cast({{ dbt.datediff('customer_months.cohort_month', 'customer_months.month', 'month') }} as {{ dbt.type_bigint() }}) as age,
        sum(customer_months.gross_revenue + customer_months.refunds) as net_revenue
    from {{ ref('int_customer_months_paid') }} as customer_months
    inner join customer_ages
        on customer_months.customer_id = customer_ages.customer_id
    where customer_months.month >= customer_months.cohort_month
    group by
        customer_ages.cohort_month,
        customer_ages.acquisition_channel,
        customer_ages.rfm_segment,
        customer_ages.complete_age,
        {{ dbt.datediff('customer_months.cohort_month', 'customer_months.month', 'month') }}

),

age_customers as (

    select cohort_month, acquisition_channel, rfm_segment, complete_age, count(*) as customers
    from customer_ages
    group by cohort_month, acquisition_channel, rfm_segment, complete_age

),

{#- Every age from 0 to the oldest complete one. -#}
ages as (

    select age
    from (
        select cast({{ dbt.datediff('first_month', 'month', 'month') }} as {{ dbt.type_bigint() }}) as age
        from ({{ month_series('first_month', 'as_of_month', 'reporting_window') }}) as months
        cross join reporting_window
    ) as all_ages
    where age <= (select max(complete_age) from age_customers)

),

{#- Spend: per channel and month, and the new customers of the months the spend covers. -#}
spend as (

    select * from {{ ref('int_marketing_spend_monthly') }}

),

spend_months as (

    select distinct month from spend

),

month_spend as (

    select month, sum(spend) as spend from spend group by month

),

channel_spend as (

    select acquisition_channel, sum(spend) as spend from spend group by acquisition_channel

),

{% for grouping in groupings -%}
{#- Cumulative net revenue per customer at each complete age, over the group's customers whose age
    is complete. -#}
curve_{{ grouping }} as (

    select
        {{ select_of[grouping] }}
        ages.age,
        sum(age_revenue.net_revenue) as cumulative_net_revenue
    from ages
    inner join age_revenue
        on age_revenue.age <= ages.age
        and age_revenue.complete_age >= ages.age
    group by ages.age{% for column in groupings[grouping] %}, {{ column }}{% endfor %}

),

curve_customers_{{ grouping }} as (

    select
        {{ select_of[grouping] }}
        ages.age,
        sum(age_customers.customers) as customers
    from ages
    inner join age_customers
        on age_customers.complete_age >= ages.age
    group by ages.age{% for column in groupings[grouping] %}, {{ column }}{% endfor %}

),

{%- endfor %}

curves as (

    {% for grouping in groupings -%}
    select
        curve_customers_{{ grouping }}.grouping,
        curve_customers_{{ grouping }}.cohort_month,
        curve_customers_{{ grouping }}.acquisition_channel,
        curve_customers_{{ grouping }}.rfm_segment,
        curve_customers_{{ grouping }}.age,
        {{ margin }} * {{ safe_divide(
            'coalesce(curve_' ~ grouping ~ '.cumulative_net_revenue, 0)', 'curve_customers_' ~ grouping ~ '.customers'
        ) }} as contribution_per_customer
    from curve_customers_{{ grouping }}
    left join curve_{{ grouping }}
        on curve_customers_{{ grouping }}.age = curve_{{ grouping }}.age
        {%- for column in groupings[grouping] %}
        and {{ customer_lifecycle.equal_or_both_null('curve_customers_' ~ grouping ~ '.' ~ column, 'curve_' ~ grouping ~ '.' ~ column) }}
        {%- endfor %}
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}

),

groups as (

    {% for grouping in groupings -%}
    select
        {{ select_of[grouping] }}
        coalesce(sum(customers), 0) as customers,
        sum(purchases) as purchases,
        sum(gross_revenue) as gross_revenue,
        sum(predicted_clv) as predicted_clv,
        sum(predicted_customers) as predicted_customers,
        sum(acquisition_cost) as acquisition_cost,
        sum(costed_customers) as costed_customers
    from customer_groups
    {{ group_by_of[grouping] }}
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}
    {#- Months and channels with spend and no customer: the spend shows, with a null CAC. #}
    union all
    select
        'cohort_month', month, null, null,
        0, 0, 0, null, 0, null, 0
    from month_spend
    where month not in (select cohort_month from customer_groups)
    union all
    select
        'acquisition_channel', null, acquisition_channel, null,
        0, 0, 0, null, 0, null, 0
    from channel_spend
    where acquisition_channel not in (
        select acquisition_channel from customer_groups where acquisition_channel is not null
    )

),

horizon_sums as (

    {% for grouping in groupings if grouping != 'rfm_segment' -%}
    select
        {{ select_of[grouping] }}
        sum(customers_at_start) as customers_at_start,
        sum(churned) as churned,
        sum(purchases) as purchases,
        sum(net_revenue) as net_revenue,
        {{ ltv_horizon }} as horizon_months
    from horizon_groups
    {{ group_by_of[grouping] }}
    union all
    {% endfor -%}
    select
        {{ select_of['rfm_segment'] }}
        customers_at_start,
        churned,
        purchases,
        net_revenue,
        {{ segment_horizon }} as horizon_months
    from segment_horizon_groups

),

{#- Acquisition cost per group: spend / the customers acquired in the months the spend covers (for
    a segment, which is no acquisition group, the mean of its customers' own channel-month CAC). -#}
acquired as (

    select customers.cohort_month, customers.acquisition_channel, count(*) as new_customers
    from customers
    inner join spend_months
        on customers.cohort_month = spend_months.month
    group by customers.cohort_month, customers.acquisition_channel

),

acquisition_costs as (

    select
        'all' as grouping,
        cast(null as date) as cohort_month,
        cast(null as {{ dbt.type_string() }}) as acquisition_channel,
        (select sum(spend) from spend) as spend,
        (select sum(new_customers) from acquired) as acquired_customers
    from reporting_window
    union all
    select 'cohort_month', month_spend.month, null, month_spend.spend, acquired_by_month.new_customers
    from month_spend
    left join (
        select cohort_month, sum(new_customers) as new_customers from acquired group by cohort_month
    ) as acquired_by_month
        on month_spend.month = acquired_by_month.cohort_month
    union all
    select 'acquisition_channel', null, channel_spend.acquisition_channel, channel_spend.spend, acquired_by_channel.new_customers
    from channel_spend
    left join (
        select acquisition_channel, sum(new_customers) as new_customers from acquired group by acquisition_channel
    ) as acquired_by_channel
        on channel_spend.acquisition_channel = acquired_by_channel.acquisition_channel

),

measured as (

    select
        groups.grouping,
        groups.cohort_month,
        groups.acquisition_channel,
        groups.rfm_segment,
        groups.customers,
        {{ safe_divide('groups.gross_revenue', 'groups.purchases') }} as average_order_value,
        horizon_sums.customers_at_start as horizon_customers,
        case when groups.grouping = 'rfm_segment' then {{ segment_horizon }} else {{ ltv_horizon }} end
            as horizon_months,
        {{ safe_divide('12 * horizon_sums.purchases', 'horizon_sums.customers_at_start * horizon_sums.horizon_months') }}
            as purchases_per_year,
        1 - power(
            1 - {{ safe_divide('horizon_sums.churned', 'horizon_sums.customers_at_start') }},
            1.0 / horizon_sums.horizon_months
        ) as monthly_churn_rate,
        {{ safe_divide('horizon_sums.net_revenue', 'horizon_sums.customers_at_start * horizon_sums.horizon_months') }}
            as arpu,
        {{ safe_divide('groups.predicted_clv', 'groups.predicted_customers') }} as predicted_clv,
        case
            when groups.grouping = 'rfm_segment'
                then cast(round(cast({{ safe_divide('groups.acquisition_cost', 'groups.costed_customers') }}
                    as decimal(38, 12)), 6) as {{ double_type() }})
            else {{ safe_divide('acquisition_costs.spend', 'coalesce(acquisition_costs.acquired_customers, 0)') }}
        end as customer_acquisition_cost,
        cast(acquisition_costs.spend as {{ money_type() }}) as marketing_spend,
        cast(case when acquisition_costs.spend is not null then coalesce(acquisition_costs.acquired_customers, 0) end
            as {{ dbt.type_bigint() }}) as acquired_customers
    from groups
    left join horizon_sums
        on groups.grouping = horizon_sums.grouping
        and {{ customer_lifecycle.equal_or_both_null('groups.cohort_month', 'horizon_sums.cohort_month') }}
        and {{ customer_lifecycle.equal_or_both_null('groups.acquisition_channel', 'horizon_sums.acquisition_channel') }}
        and {{ customer_lifecycle.equal_or_both_null('groups.rfm_segment', 'horizon_sums.rfm_segment') }}
    left join acquisition_costs
        on groups.grouping = acquisition_costs.grouping
        and {{ customer_lifecycle.equal_or_both_null('groups.cohort_month', 'acquisition_costs.cohort_month') }}
        and {{ customer_lifecycle.equal_or_both_null('groups.acquisition_channel', 'acquisition_costs.acquisition_channel') }}

),

{#- The realized values and the payback month from each group's curve. -#}
curve_values as (

    select
        measured.grouping,
        measured.cohort_month,
        measured.acquisition_channel,
        measured.rfm_segment,
        {%- for months in realized_months %}
        max(case when curves.age = {{ months - 1 }} then curves.contribution_per_customer end) as realized_ltv_{{ months }}m,
        {%- endfor %}
        min(case when curves.contribution_per_customer >= measured.customer_acquisition_cost then curves.age end)
            as payback_month
    from measured
    inner join curves
        on curves.grouping = measured.grouping
        and {{ customer_lifecycle.equal_or_both_null('curves.cohort_month', 'measured.cohort_month') }}
        and {{ customer_lifecycle.equal_or_both_null('curves.acquisition_channel', 'measured.acquisition_channel') }}
        and {{ customer_lifecycle.equal_or_both_null('curves.rfm_segment', 'measured.rfm_segment') }}
    group by measured.grouping, measured.cohort_month, measured.acquisition_channel, measured.rfm_segment

),

final as (

    select
        measured.grouping,
        measured.cohort_month,
        measured.acquisition_channel,
        measured.rfm_segment,
        cast(measured.customers as {{ dbt.type_bigint() }}) as customers,
        cast(measured.horizon_customers as {{ dbt.type_bigint() }}) as horizon_customers,
        cast(measured.horizon_months as {{ dbt.type_bigint() }}) as horizon_months,
        measured.average_order_value,
        measured.purchases_per_year,
        measured.monthly_churn_rate,
        1 / nullif(12 * measured.monthly_churn_rate, 0) as expected_years_retained,
        {{ margin }} * measured.average_order_value * measured.purchases_per_year
            / nullif(12 * measured.monthly_churn_rate, 0) as formula_ltv,
        measured.arpu,
        {{ margin }} * measured.arpu / nullif(measured.monthly_churn_rate, 0) as arpu_churn_ltv,
        {%- for months in realized_months %}
        curve_values.realized_ltv_{{ months }}m,
        {%- endfor %}
        measured.predicted_clv,
        measured.marketing_spend,
        measured.acquired_customers,
        measured.customer_acquisition_cost,
        {{ margin }} * measured.arpu / nullif(measured.monthly_churn_rate, 0)
            / nullif(measured.customer_acquisition_cost, 0) as ltv_to_cac,
        cast(curve_values.payback_month as {{ dbt.type_bigint() }}) as payback_month,
        reporting_window.as_of_date
    from measured
    left join curve_values
        on curve_values.grouping = measured.grouping
        and {{ customer_lifecycle.equal_or_both_null('curve_values.cohort_month', 'measured.cohort_month') }}
        and {{ customer_lifecycle.equal_or_both_null('curve_values.acquisition_channel', 'measured.acquisition_channel') }}
        and {{ customer_lifecycle.equal_or_both_null('curve_values.rfm_segment', 'measured.rfm_segment') }}
    cross join reporting_window

)

select * from final
