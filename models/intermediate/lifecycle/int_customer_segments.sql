{#- One row per customer and classified month: every classification of docs/definitions.md,
    "Segments", applied to int_customer_segment_inputs. The rules are here and nowhere else; the
    marts read their results. -#}
{%- set s = customer_lifecycle.segment_settings() -%}
{%- set w = s.segment_window_months -%}
with

inputs as (

    select * from {{ ref('int_customer_segment_inputs') }}

),

measured as (

    select
        *,
        cast(window_purchases as {{ customer_lifecycle.double_type() }}) / observed_months as purchases_per_month,
        case
            when prior_observed_months > 0
                then cast(prior_window_purchases as {{ customer_lifecycle.double_type() }}) / prior_observed_months
        end as prior_purchases_per_month,
        case when window_gaps > 0 then cast(window_gap_months as {{ customer_lifecycle.double_type() }}) / window_gaps end
            as typical_gap_months,
        {#- Spread of the gaps (population standard deviation) over their mean. -#}
        case
            when window_gaps > 0 and window_gap_months > 0 then sqrt(greatest(0.0,
                cast(window_gap_squares as {{ customer_lifecycle.double_type() }}) / window_gaps
                - power(cast(window_gap_months as {{ customer_lifecycle.double_type() }}) / window_gaps, 2)
            )) / (cast(window_gap_months as {{ customer_lifecycle.double_type() }}) / window_gaps)
        end as gap_variation
    from inputs

),

regularity as (

    select
        *,
        case
            when not is_in_base_at_end then 'lapsed'
            when cohort_month >= {{ dbt.dateadd('month', 1 - w, 'month') }}
                and window_purchase_months < {{ s.regularity_min_purchase_months }} then 'new'
            when window_purchase_months >= {{ s.regularity_min_purchase_months }}
                and observed_months - window_purchase_months <= {{ s.regular_monthly_max_missed_months }}
                then 'regular_monthly'
            when window_gaps >= 2
                and typical_gap_months >= {{ s.regular_periodic_min_gap_months }}
                and gap_variation <= {{ s.regular_periodic_max_gap_cv }} then 'regular_periodic'
            when window_purchase_months <= 1 or typical_gap_months >= {{ s.one_off_min_gap_months }} then 'one_off'
            else 'irregular'
        end as regularity
    from measured

),

{#- Frequency cut-offs of each month: fixed, or quantiles of the rates of the month's in-base
    customers who are not new (customers with enough history). -#}
cutoffs as (

    select
        month,
        {%- if s.frequency_cutoff_method == 'quantile' %}
        {{ customer_lifecycle.quantile_cont('purchases_per_month', s.frequency_frequent_quantile) }} as frequent_cutoff,
        {{ customer_lifecycle.quantile_cont('purchases_per_month', s.frequency_medium_quantile) }} as medium_cutoff
        {%- else %}
        {{ s.frequency_frequent_per_month }} as frequent_cutoff,
        {{ s.frequency_medium_per_month }} as medium_cutoff
        {%- endif %}
    from regularity
    where regularity not in ('new', 'lapsed')
    group by month

),

classified as (

    select
        regularity.*,
        cutoffs.frequent_cutoff,
        cutoffs.medium_cutoff,
        case
            when regularity.regularity = 'new' then 'new'
            when regularity.prior_purchases_per_month >= cutoffs.medium_cutoff
                and regularity.purchases_per_month < {{ s.frequency_rare_floor_per_month }} then 'lost'
            when regularity.purchases_per_month >= cutoffs.frequent_cutoff then 'frequent'
            when regularity.purchases_per_month >= cutoffs.medium_cutoff then 'medium'
            else 'rare'
        end as frequency_class,
        case
            when not regularity.is_in_base_at_end then 'churned'
            when regularity.days_since_last_purchase > {{ s.inactivity_at_risk_days }} then 'at_risk'
            when regularity.days_since_last_purchase > {{ s.inactivity_cooling_days }} then 'cooling'
            else 'active'
        end as inactivity_stage,
        {#- Hidden churn: the recent months against the customer's own baseline pace. -#}
        case
            when regularity.baseline_purchases >= {{ s.hidden_churn_min_baseline_purchases }}
                then cast(regularity.baseline_purchases as {{ customer_lifecycle.double_type() }})
                    * {{ s.hidden_churn_recent_months }} / {{ s.hidden_churn_baseline_months }}
        end as expected_recent_purchases,
        case
            when regularity.baseline_purchases >= {{ s.hidden_churn_min_baseline_purchases }}
                and regularity.baseline_net_revenue > 0
                then cast(regularity.baseline_net_revenue as {{ customer_lifecycle.double_type() }})
                    * {{ s.hidden_churn_recent_months }} / {{ s.hidden_churn_baseline_months }}
        end as expected_recent_net_revenue
    from regularity
    left join cutoffs
        on regularity.month = cutoffs.month

),

{#- RFM among the month's in-base customers: recency (fewer days is better), frequency (window
    purchases), monetary (window net revenue). -#}
in_base as (

    select customer_id, month, days_since_last_purchase, window_purchases, window_net_revenue
    from classified
    where is_in_base_at_end

),

recency_scores as (

    {{ customer_lifecycle.quintile_scores('in_base', 'days_since_last_purchase', descending=true) }}

),

frequency_scores as (

    {{ customer_lifecycle.quintile_scores('in_base', 'window_purchases') }}

),

monetary_scores as (

    {{ customer_lifecycle.quintile_scores('in_base', 'window_net_revenue') }}

),

scored as (

    {#- Left joins: every value has its score, and they keep the planner from joining two score
        lists by month first. #}
    select
        in_base.customer_id,
        in_base.month,
        recency_scores.score as recency_score,
        frequency_scores.score as frequency_score,
        monetary_scores.score as monetary_score
    from in_base
    left join recency_scores
        on in_base.month = recency_scores.month
        and in_base.days_since_last_purchase = recency_scores.days_since_last_purchase
    left join frequency_scores
        on in_base.month = frequency_scores.month
        and in_base.window_purchases = frequency_scores.window_purchases
    left join monetary_scores
        on in_base.month = monetary_scores.month
        and in_base.window_net_revenue = monetary_scores.window_net_revenue

),

final as (

    select
        classified.customer_id,
        classified.month,
        classified.month_end_date,
        classified.cohort_month,
        case when classified.cohort_month = classified.month then 'new' else 'returning' end as new_or_returning,
        classified.purchases,
        classified.net_revenue,
        classified.is_active,
        classified.was_in_base_at_start,
        classified.is_in_base_at_end,
        classified.days_since_last_purchase,
        classified.window_purchases,
        classified.window_purchase_months,
        classified.window_net_revenue,
        classified.purchases_per_month,
        classified.regularity,
        case when classified.regularity in ('regular_monthly', 'regular_periodic') then classified.typical_gap_months end
            as typical_gap_months,
        classified.frequency_class,
        scored.recency_score,
        scored.frequency_score,
        scored.monetary_score,
        case
            when classified.is_in_base_at_end then {{ customer_lifecycle.rfm_segment(
                'scored.recency_score', 'scored.frequency_score', 'scored.monetary_score', 'classified.regularity'
            ) }}
            else 'churned'
        end as rfm_segment,
        classified.inactivity_stage,
        classified.recent_purchases,
        classified.recent_net_revenue,
        classified.expected_recent_purchases,
        classified.expected_recent_net_revenue,
        coalesce(classified.is_in_base_at_end and (
            classified.recent_purchases < {{ s.hidden_churn_drop_fraction }} * classified.expected_recent_purchases
            or classified.recent_net_revenue < {{ s.hidden_churn_drop_fraction }} * classified.expected_recent_net_revenue
        ), false) as is_hidden_churn,
        case
            when classified.expected_recent_purchases > 0
                then 1 - classified.recent_purchases / classified.expected_recent_purchases
        end as purchase_drop_share,
        case
            when classified.expected_recent_net_revenue > 0
                then classified.expected_recent_net_revenue - cast(classified.recent_net_revenue as {{ customer_lifecycle.double_type() }})
        end as net_revenue_drop
    from classified
    left join scored
        on classified.customer_id = scored.customer_id
        and classified.month = scored.month

)

select * from final
