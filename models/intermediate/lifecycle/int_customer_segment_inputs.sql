{#- One row per customer and classified month: what the segment rules read (docs/definitions.md,
    "Segments"). The classified months are the last segment_history_months months up to the as_of
    month (which ends on as_of_date); a customer is classified in a month when they were in the base
    at its start or end or had money in it, so that the month's customers and revenue are all there.

    The sums over periods counted back from the classified month (months without money count as
    empty):
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
{%- set observed = month_number('classified_months.month') -%}
with

reporting_window as (

    select
        *,
        {{ customer_lifecycle.first_classified_month('reporting_window') }} as first_classified_month
    from {{ ref('int_reporting_window') }} as reporting_window

),

{#- The months with money, with just what the spans and the sums below read. -#}
customer_months as (

    select
        customer_id,
        month,
        cohort_month,
        next_money_month,
        purchases,
        gross_revenue,
        refunds,
        last_purchase_date_before,
        last_purchase_date_to_date
    from {{ ref('int_customer_months_paid') }}
    where month >= cohort_month and (purchases > 0 or refunds < 0)

),

spans as (

    {{ customer_month_spans('customer_months', 'reporting_window') }}

),

{#- The span rows reaching into the classified months, each started no earlier than the first and
    ended by its lapse month: after it the customer is out of the base at both ends of every month
    and has no money in it, so is not classified. -#}
spans_in_range as (

    select *
    from (
        select
            spans.*,
            greatest(spans.anchor_month, reporting_window.first_classified_month) as first_month_in_range,
            least(spans.span_end_month, greatest(spans.lapse_month, spans.anchor_month)) as last_month_in_range
        from spans
        cross join reporting_window
    ) as bounded
    where last_month_in_range >= first_month_in_range

),

span_months as (

    {{ month_series('first_month_in_range', 'last_month_in_range', 'spans_in_range', keep_columns=true) }}

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
        {{ month_is_complete('month', 'as_of_date') }} as is_complete_month,
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

{#- The months with money the classified months look back over. -#}
money_months as (

    select
        customer_months.customer_id,
        {{ month_number('customer_months.month') }} as month_number,
        {#- Summed many times over below: small integers and doubles sum fastest. A double holds a sum of
            a few dozen 4-decimal amounts exactly enough to round back to the cent (cast in `final`). -#}
        cast(customer_months.purchases as integer) as purchases,
        case when customer_months.purchases > 0 then 1 else 0 end as purchase_month,
        cast(customer_months.gross_revenue + customer_months.refunds as {{ double_type() }}) as net_revenue,
        cast(case
            when customer_months.purchases > 0 and customer_months.last_purchase_date_before is not null
                then {{ month_number('customer_months.month') }}
                    - {{ month_number(dbt.date_trunc('month', 'customer_months.last_purchase_date_before')) }}
        end as integer) as gap_months
    from customer_months
    cross join reporting_window
    where customer_months.month >= cast({{ dbt.dateadd('month', 1 - reach, 'reporting_window.first_classified_month') }} as date)

),

{#- Each classified month beside the customer's months with money up to `reach` months before it
    (d = months back), summed per period. A customer has a few such months, so this is a few rows
    per classified row, summed by a hash aggregate: much cheaper than window frames over many small
    partitions (docs/decisions.md, "Segment windows as a join"). -#}
{%- set periods = {'window': [0, w - 1], 'prior': [w, 2 * w - 1], 'recent': [0, r - 1], 'baseline': [r, r + b - 1]} %}
paired as (

    select
        classified.customer_id,
        classified.month,
        classified.month_number - money_months.month_number as back,
        {#- Months back from the last complete month (the month before, in an incomplete as_of month). -#}
        classified.month_number - money_months.month_number - classified.incomplete as back_complete,
        money_months.purchases,
        money_months.purchase_month,
        money_months.net_revenue,
        money_months.gap_months
    from (
        select
            customer_id,
            month,
            {{ month_number('month') }} as month_number,
            case when is_complete_month then 0 else 1 end as incomplete
        from classified_months
    ) as classified
    inner join money_months
        on classified.customer_id = money_months.customer_id
        and money_months.month_number between classified.month_number - {{ reach - 1 }} and classified.month_number

),

windowed as (

    select
        customer_id,
        month,
        {%- for period, bounds in periods.items() %}
        {%- set inside = ('back' if period in ['window', 'prior'] else 'back_complete') ~ ' between ' ~ bounds[0] ~ ' and ' ~ bounds[1] %}
        sum(case when {{ inside }} then purchases end) as {{ period }}_purchases,
        {%- if period != 'prior' %}
        sum(case when {{ inside }} then net_revenue end) as {{ period }}_net_revenue,
        {%- endif %}
        {%- endfor %}
        sum(case when back < {{ w }} then purchase_month end) as window_purchase_months,
        count(case when back < {{ w }} then gap_months end) as window_gaps,
        sum(case when back < {{ w }} then gap_months end) as window_gap_months,
        sum(case when back < {{ w }} then gap_months * gap_months end) as window_gap_squares
    from paired
    group by customer_id, month

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
        cast({{ observed }} - greatest(
            {{ month_number('classified_months.cohort_month') }}, {{ observed }} - {{ w - 1 }}
        ) + 1 as {{ dbt.type_bigint() }}) as observed_months,
        cast(greatest(0, {{ observed }} - {{ w }} - greatest(
            {{ month_number('classified_months.cohort_month') }}, {{ observed }} - {{ 2 * w - 1 }}
        ) + 1) as {{ dbt.type_bigint() }}) as prior_observed_months,
        cast(coalesce(windowed.window_purchases, 0) as {{ dbt.type_bigint() }}) as window_purchases,
        cast(coalesce(windowed.window_purchase_months, 0) as {{ dbt.type_bigint() }}) as window_purchase_months,
        cast(coalesce(windowed.window_net_revenue, 0) as {{ money_type() }}) as window_net_revenue,
        cast(coalesce(windowed.window_gaps, 0) as {{ dbt.type_bigint() }}) as window_gaps,
        cast(coalesce(windowed.window_gap_months, 0) as {{ dbt.type_bigint() }}) as window_gap_months,
        cast(coalesce(windowed.window_gap_squares, 0) as {{ dbt.type_bigint() }}) as window_gap_squares,
        cast(coalesce(windowed.prior_purchases, 0) as {{ dbt.type_bigint() }}) as prior_window_purchases,
        cast(coalesce(windowed.recent_purchases, 0) as {{ dbt.type_bigint() }}) as recent_purchases,
        cast(coalesce(windowed.recent_net_revenue, 0) as {{ money_type() }}) as recent_net_revenue,
        cast(coalesce(windowed.baseline_purchases, 0) as {{ dbt.type_bigint() }}) as baseline_purchases,
        cast(coalesce(windowed.baseline_net_revenue, 0) as {{ money_type() }}) as baseline_net_revenue
    from classified_months
    left join windowed
        on classified_months.customer_id = windowed.customer_id
        and classified_months.month = windowed.month

)

select * from final
