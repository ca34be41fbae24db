{#- One row per customer and classified month: what the segment rules read (docs/definitions.md,
    "Segments"). The classified months are the last segment_history_months months up to the as_of
    month (which ends on as_of_date); a customer is classified in a month when they were in the base
    at its start or end or had money in it, so that the month's customers and revenue are all there.

    The window sums are window frames over month numbers (RANGE, so months without a row count as
    empty): the classified rows and the customer's months with money in one sorted pass.
      window     W months ending with the month classified (segment_window_months)
      prior      the W months before the window
      recent     the R months ending with the last complete month (hidden_churn_recent_months; the
                 as_of month is complete only when as_of_date is its last day)
      baseline   the B months before the recent ones (hidden_churn_baseline_months)
    A purchase month's gap is the months since the customer's purchase before it, however long ago. -#}
{%- set s = customer_lifecycle.segment_settings() -%}
{%- set w = s.segment_window_months -%}
{%- set r = s.hidden_churn_recent_months -%}
{%- set b = s.hidden_churn_baseline_months -%}
{%- set reach = [2 * w, r + b + 1] | max -%}
with

reporting_window as (

    select
        *,
        cast({{ dbt.dateadd('month', 1 - s.segment_history_months, 'as_of_month') }} as date) as first_classified_month
    from {{ ref('int_reporting_window') }}

),

customer_months as (

    select * from {{ ref('int_customer_months_paid') }}

),

spans as (

    {{ customer_month_spans('customer_months', 'reporting_window') }}

),

{#- The span rows reaching into the classified months, each started no earlier than the first. -#}
spans_in_range as (

    select
        spans.*,
        case
            when spans.anchor_month < reporting_window.first_classified_month
                then reporting_window.first_classified_month
            else spans.anchor_month
        end as first_month_in_range
    from spans
    cross join reporting_window
    where spans.span_end_month >= reporting_window.first_classified_month

),

span_months as (

    {{ month_series('first_month_in_range', 'span_end_month', 'spans_in_range', keep_columns=true) }}

),

classified_months as (

    select
        customer_id,
        month,
        cohort_month,
        case
            when {{ month_last_day('month') }} < as_of_date then {{ month_last_day('month') }}
            else as_of_date
        end as month_end_date,
        {{ month_last_day('month') }} <= as_of_date as is_complete_month,
        last_purchase_date,
        case when is_anchor then purchases else 0 end as purchases,
        cast(case when is_anchor then gross_revenue + refunds else 0 end as {{ money_type() }}) as net_revenue,
        is_active,
        was_in_base_at_start,
        is_in_base_at_end,
        is_new
    from (
        select *, {{ span_month_flags('month') }}
        from span_months
    ) as flagged
    where was_in_base_at_start or is_in_base_at_end or is_anchor

),

{#- The classified rows (measures zero) and the months with money they look back over. -#}
events as (

    select
        customer_id,
        {{ month_number('month') }} as month_number,
        true as is_classified,
        0 as purchases,
        0 as purchase_month,
        cast(0 as {{ money_type() }}) as net_revenue,
        cast(null as {{ dbt.type_bigint() }}) as gap_months
    from classified_months
    union all
    select
        customer_months.customer_id,
        {{ month_number('customer_months.month') }} as month_number,
        false as is_classified,
        customer_months.purchases,
        case when customer_months.purchases > 0 then 1 else 0 end as purchase_month,
        cast(customer_months.gross_revenue + customer_months.refunds as {{ money_type() }}) as net_revenue,
        case
            when customer_months.purchases > 0 and customer_months.last_purchase_date_before is not null
                then {{ month_number('customer_months.month') }}
                    - {{ month_number(dbt.date_trunc('month', 'customer_months.last_purchase_date_before')) }}
        end as gap_months
    from customer_months
    cross join reporting_window
    where
        customer_months.month >= cast({{ dbt.dateadd('month', 1 - reach, 'reporting_window.first_classified_month') }} as date)
        and customer_months.month >= customer_months.cohort_month
        and (customer_months.purchases > 0 or customer_months.refunds < 0)

),

{%- set frame = "over (partition by customer_id order by month_number range between " -%}
windowed as (

    select
        customer_id,
        month_number,
        is_classified,
        sum(purchases) {{ frame }} {{ w - 1 }} preceding and current row) as window_purchases,
        sum(purchase_month) {{ frame }} {{ w - 1 }} preceding and current row) as window_purchase_months,
        sum(net_revenue) {{ frame }} {{ w - 1 }} preceding and current row) as window_net_revenue,
        count(gap_months) {{ frame }} {{ w - 1 }} preceding and current row) as window_gaps,
        sum(gap_months) {{ frame }} {{ w - 1 }} preceding and current row) as window_gap_months,
        sum(gap_months * gap_months) {{ frame }} {{ w - 1 }} preceding and current row) as window_gap_squares,
        sum(purchases) {{ frame }} {{ 2 * w - 1 }} preceding and {{ w }} preceding) as prior_window_purchases,
        sum(purchases) {{ frame }} {{ r - 1 }} preceding and current row) as recent_purchases_to_month,
        sum(net_revenue) {{ frame }} {{ r - 1 }} preceding and current row) as recent_net_revenue_to_month,
        sum(purchases) {{ frame }} {{ r }} preceding and 1 preceding) as recent_purchases_before_month,
        sum(net_revenue) {{ frame }} {{ r }} preceding and 1 preceding) as recent_net_revenue_before_month,
        sum(purchases) {{ frame }} {{ r + b - 1 }} preceding and {{ r }} preceding) as baseline_purchases_to_month,
        sum(net_revenue) {{ frame }} {{ r + b - 1 }} preceding and {{ r }} preceding) as baseline_net_revenue_to_month,
        sum(purchases) {{ frame }} {{ r + b }} preceding and {{ r + 1 }} preceding) as baseline_purchases_before_month,
        sum(net_revenue) {{ frame }} {{ r + b }} preceding and {{ r + 1 }} preceding) as baseline_net_revenue_before_month
    from events

),

final as (

    select
        classified_months.customer_id,
        classified_months.month,
        classified_months.month_end_date,
        classified_months.is_complete_month,
        classified_months.cohort_month,
        classified_months.last_purchase_date,
        cast({{ dbt.datediff('classified_months.last_purchase_date', 'classified_months.month_end_date', 'day') }}
            as {{ dbt.type_bigint() }}) as days_since_last_purchase,
        cast(classified_months.purchases as {{ dbt.type_bigint() }}) as purchases,
        classified_months.net_revenue,
        classified_months.is_active,
        classified_months.was_in_base_at_start,
        classified_months.is_in_base_at_end,
        classified_months.is_new,
        {#- Months of the window (and of the prior window) from the cohort month on. -#}
        cast(windowed.month_number - greatest(
            {{ month_number('classified_months.cohort_month') }}, windowed.month_number - {{ w - 1 }}
        ) + 1 as {{ dbt.type_bigint() }}) as observed_months,
        cast(greatest(0, windowed.month_number - {{ w }} - greatest(
            {{ month_number('classified_months.cohort_month') }}, windowed.month_number - {{ 2 * w - 1 }}
        ) + 1) as {{ dbt.type_bigint() }}) as prior_observed_months,
        cast(coalesce(windowed.window_purchases, 0) as {{ dbt.type_bigint() }}) as window_purchases,
        cast(coalesce(windowed.window_purchase_months, 0) as {{ dbt.type_bigint() }}) as window_purchase_months,
        cast(coalesce(windowed.window_net_revenue, 0) as {{ money_type() }}) as window_net_revenue,
        cast(windowed.window_gaps as {{ dbt.type_bigint() }}) as window_gaps,
        cast(coalesce(windowed.window_gap_months, 0) as {{ dbt.type_bigint() }}) as window_gap_months,
        cast(coalesce(windowed.window_gap_squares, 0) as {{ dbt.type_bigint() }}) as window_gap_squares,
        cast(coalesce(windowed.prior_window_purchases, 0) as {{ dbt.type_bigint() }}) as prior_window_purchases,
        cast(coalesce(case when classified_months.is_complete_month then windowed.recent_purchases_to_month
            else windowed.recent_purchases_before_month end, 0) as {{ dbt.type_bigint() }}) as recent_purchases,
        cast(coalesce(case when classified_months.is_complete_month then windowed.recent_net_revenue_to_month
            else windowed.recent_net_revenue_before_month end, 0) as {{ money_type() }}) as recent_net_revenue,
        cast(coalesce(case when classified_months.is_complete_month then windowed.baseline_purchases_to_month
            else windowed.baseline_purchases_before_month end, 0) as {{ dbt.type_bigint() }}) as baseline_purchases,
        cast(coalesce(case when classified_months.is_complete_month then windowed.baseline_net_revenue_to_month
            else windowed.baseline_net_revenue_before_month end, 0) as {{ money_type() }}) as baseline_net_revenue
    from classified_months
    inner join windowed
        on classified_months.customer_id = windowed.customer_id
        and {{ month_number('classified_months.month') }} = windowed.month_number
        and windowed.is_classified

)

select * from final
