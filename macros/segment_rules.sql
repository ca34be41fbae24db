{#- The segment rules' settings and the pieces of SQL that apply them (docs/definitions.md, "Segments").
    Every threshold is a var (dbt_project.yml); validate_segment_settings() stops a build whose vars
    the rules cannot use, with a message naming the var. -#}

{#- The vars as numbers, in one dict. -#}
{% macro segment_settings() -%}
    {%- set names_int = [
        'segment_history_months', 'segment_window_months', 'regularity_min_purchase_months',
        'regular_monthly_max_missed_months', 'hidden_churn_recent_months', 'hidden_churn_baseline_months',
        'hidden_churn_min_baseline_purchases', 'never_converted_days'
    ] -%}
    {%- set names_float = [
        'regular_periodic_max_gap_cv', 'regular_periodic_min_gap_months', 'one_off_min_gap_months',
        'frequency_frequent_quantile', 'frequency_medium_quantile', 'frequency_frequent_per_month',
        'frequency_medium_per_month', 'frequency_rare_floor_per_month', 'hidden_churn_drop_fraction'
    ] -%}
    {%- set settings = {'frequency_cutoff_method': var('frequency_cutoff_method', 'quantile') | string} -%}
    {%- for name in names_int -%}
        {%- do settings.update({name: var(name) | int}) -%}
    {%- endfor -%}
    {%- for name in names_float -%}
        {%- do settings.update({name: var(name) | float}) -%}
    {%- endfor -%}
    {#- The inactivity stages default to a third and two thirds of churn_inactivity_days (30 and 60
        of 90), so a shorter or longer churn window keeps them in order. -#}
    {%- set churn_days = var('churn_inactivity_days', 90) | int -%}
    {%- set defaults = {'inactivity_cooling_days': churn_days // 3, 'inactivity_at_risk_days': (2 * churn_days) // 3} -%}
    {%- for name, default in defaults.items() -%}
        {%- set given = var(name, none) -%}
        {%- do settings.update({name: default if given is none else given | int}) -%}
    {%- endfor -%}
    {{ return(settings) }}
{%- endmacro %}

{% macro validate_segment_settings() -%}
    {%- set re = modules.re -%}
    {%- set whole = {
        'segment_history_months': [1, 120], 'segment_window_months': [2, 60],
        'regularity_min_purchase_months': [2, 60], 'regular_monthly_max_missed_months': [0, 59],
        'hidden_churn_recent_months': [1, 24], 'hidden_churn_baseline_months': [1, 60],
        'hidden_churn_min_baseline_purchases': [1, 1000], 'never_converted_days': [0, 3650], 'ltv_horizon_months': [1, 60],
        'clv_horizon_months': [0, 120], 'clv_fit_sample_customers': [100, 100000000]
    } -%}
    {%- for name, bounds in whole.items() -%}
        {%- set text = var(name) | string | trim -%}
        {{- customer_lifecycle.check_whole_number(name, text, bounds) -}}
    {%- endfor -%}
    {%- for name in ['inactivity_cooling_days', 'inactivity_at_risk_days'] if var(name, none) is not none -%}
        {{- customer_lifecycle.check_whole_number(name, var(name) | string | trim, [1, 3650]) -}}
    {%- endfor -%}
    {%- set fractions = [
        'frequency_frequent_quantile', 'frequency_medium_quantile', 'hidden_churn_drop_fraction',
        'clv_monthly_discount_rate', 'gross_margin'
    ] -%}
    {%- set positives = [
        'regular_periodic_max_gap_cv', 'regular_periodic_min_gap_months', 'one_off_min_gap_months',
        'frequency_frequent_per_month', 'frequency_medium_per_month', 'frequency_rare_floor_per_month'
    ] -%}
    {%- for name in fractions + positives -%}
        {%- set text = var(name) | string | trim -%}
        {%- if not re.fullmatch('[0-9]+(\\.[0-9]+)?', text) or (name in fractions and (text | float) > 1) -%}
            {{ exceptions.raise_compiler_error(
                "invalid setting: " ~ name ~ " = " ~ text ~ " is not allowed; give a number " ~ ("from 0 to 1" if name in fractions else "of 0 or more")
            ) }}
        {%- endif -%}
    {%- endfor -%}
    {%- set s = customer_lifecycle.segment_settings() -%}
    {%- if s.frequency_cutoff_method not in ['quantile', 'fixed'] -%}
        {{ exceptions.raise_compiler_error(
            "invalid setting: frequency_cutoff_method = " ~ s.frequency_cutoff_method ~ " is not allowed; give quantile or fixed"
        ) }}
    {%- endif -%}
    {%- set days = var('churn_inactivity_days', 90) | int -%}
    {%- if not (s.inactivity_cooling_days <= s.inactivity_at_risk_days <= days) -%}
        {{ exceptions.raise_compiler_error(
            "invalid setting: inactivity_cooling_days (" ~ s.inactivity_cooling_days ~ ") <= inactivity_at_risk_days ("
            ~ s.inactivity_at_risk_days ~ ") <= churn_inactivity_days (" ~ days ~ ") does not hold; give increasing day counts"
        ) }}
    {%- endif -%}
    {%- if s.frequency_medium_quantile >= s.frequency_frequent_quantile
        or s.frequency_medium_per_month >= s.frequency_frequent_per_month
        or s.frequency_rare_floor_per_month > s.frequency_medium_per_month -%}
        {{ exceptions.raise_compiler_error(
            "invalid setting: frequency cut-offs must increase: frequency_medium_quantile < frequency_frequent_quantile and frequency_rare_floor_per_month <= frequency_medium_per_month < frequency_frequent_per_month"
        ) }}
    {%- endif -%}
    {%- if s.regular_monthly_max_missed_months >= s.segment_window_months
        or s.regularity_min_purchase_months > s.segment_window_months -%}
        {{ exceptions.raise_compiler_error(
            "invalid setting: regular_monthly_max_missed_months and regularity_min_purchase_months must be below segment_window_months (" ~ s.segment_window_months ~ ")"
        ) }}
    {%- endif -%}
    {%- set rules = var('rfm_segment_rules') -%}
    {%- set keys = ['segment', 'r_min', 'r_max', 'f_min', 'f_max', 'm_min', 'm_max', 'regularity'] -%}
    {%- if rules is string or rules is mapping or rules | length == 0 -%}
        {{ exceptions.raise_compiler_error("invalid setting: rfm_segment_rules must be a list of rules such as {segment: champions, r_min: 4, f_min: 4, m_min: 4}") }}
    {%- endif -%}
    {%- for rule in rules -%}
        {%- set item = loop.index -%}
        {%- if rule is not mapping or 'segment' not in rule or not re.fullmatch('[a-z][a-z0-9_]*', rule.segment | string) -%}
            {{ exceptions.raise_compiler_error("invalid setting: rfm_segment_rules item " ~ loop.index ~ " (" ~ rule ~ ") needs a segment: a lower-case name") }}
        {%- endif -%}
        {%- for key, value in rule.items() -%}
            {%- if key not in keys or (key not in ['segment', 'regularity'] and not re.fullmatch('[1-5]', value | string)) -%}
                {{ exceptions.raise_compiler_error("invalid setting: rfm_segment_rules item " ~ item ~ ": " ~ key ~ " = " ~ value ~ " is not allowed; keys are " ~ keys | join(', ') ~ ", scores 1 to 5") }}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if rules[-1] | length != 1 -%}
        {{ exceptions.raise_compiler_error("invalid setting: the last rule of rfm_segment_rules must be a catch-all (a segment without conditions), such as {segment: lost}") }}
    {%- endif -%}
{%- endmacro %}

{#- Scores from 1 to 5 of `value` among the rows of `relation` in each month (a select): rank the rows
    from worst to best (ascending, or descending when `descending`); score = floor(5 * (rank - 1) /
    rows) + 1. Tied values share a rank (the first of their positions), so they always share a score,
    the lower one their positions would give. rank - 1 is the number of rows with a worse value, so the
    scores come from each month's counts of distinct values: a hash aggregate and a window over the
    few distinct values instead of a sort of every row. One row per month and value; `value` must not
    be null. -#}
{% macro quintile_scores(relation, value, descending=false) -%}
    select
        month,
        {{ value }},
        cast(floor(5.0 * coalesce(sum(value_rows) over (
            partition by month order by {{ value }}{{ ' desc' if descending }} rows between unbounded preceding and 1 preceding
        ), 0) / sum(value_rows) over (partition by month)) + 1 as {{ dbt.type_bigint() }}) as score
    from (
        select month, {{ value }}, count(*) as value_rows
        from {{ relation }}
        group by month, {{ value }}
    ) as value_counts
{%- endmacro %}

{#- The named RFM segment of a row with scores r, f, m and `regularity`: the first matching rule. -#}
{% macro rfm_segment(r, f, m, regularity) -%}
    case
    {%- for rule in var('rfm_segment_rules') %}
        {%- set conditions = [] -%}
        {%- for key, column in [('r', r), ('f', f), ('m', m)] -%}
            {%- if key ~ '_min' in rule %}{% do conditions.append(column ~ ' >= ' ~ rule[key ~ '_min']) %}{% endif -%}
            {%- if key ~ '_max' in rule %}{% do conditions.append(column ~ ' <= ' ~ rule[key ~ '_max']) %}{% endif -%}
        {%- endfor -%}
        {%- if 'regularity' in rule -%}
            {%- set values = [rule.regularity] if rule.regularity is string else rule.regularity -%}
            {%- do conditions.append(regularity ~ " in ('" ~ values | join("', '") ~ "')") -%}
        {%- endif %}
        when {{ conditions | join(' and ') if conditions else 'true' }} then '{{ rule.segment }}'
    {%- endfor %}
    end
{%- endmacro %}

{#- The q-quantile (continuous, 0 <= q <= 1) of `expression` over a group (an aggregate). -#}
{% macro quantile_cont(expression, q) -%}
    {{ return(adapter.dispatch('quantile_cont', 'customer_lifecycle')(expression, q)) }}
{%- endmacro %}

{% macro default__quantile_cont(expression, q) -%}
    percentile_cont({{ q }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__quantile_cont(expression, q) -%}
    quantile_cont({{ expression }}, {{ q }})
{%- endmacro %}

{% macro spark__quantile_cont(expression, q) -%}
    percentile({{ expression }}, {{ q }})
{%- endmacro %}

{#- Months since year 0 of a first-of-month date, an integer that window frames can range over. -#}
{% macro month_number(month) -%}
    cast(extract(year from {{ month }}) * 12 + extract(month from {{ month }}) - 1 as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- a = b, with two nulls equal (grouping columns that a grouping leaves null). -#}
{% macro equal_or_both_null(a, b) -%}
    {{ return(adapter.dispatch('equal_or_both_null', 'customer_lifecycle')(a, b)) }}
{%- endmacro %}

{% macro default__equal_or_both_null(a, b) -%}
    {{ a }} is not distinct from {{ b }}
{%- endmacro %}

{% macro spark__equal_or_both_null(a, b) -%}
    {{ a }} <=> {{ b }}
{%- endmacro %}

{#- The first classified month, over a relation with int_reporting_window's columns: the as_of month
    and the segment_history_months - 1 before it, from the first month with money on. -#}
{% macro first_classified_month(reporting_window) -%}
    greatest(
        cast({{ dbt.dateadd('month', 1 - (var('segment_history_months') | int), reporting_window ~ '.as_of_month') }} as date),
        coalesce({{ reporting_window }}.first_month, {{ reporting_window }}.as_of_month)
    )
{%- endmacro %}

{% macro check_whole_number(name, text, bounds) -%}
    {%- if not modules.re.fullmatch('[0-9]{1,9}', text) or (text | int) < bounds[0] or (text | int) > bounds[1] -%}
        {{ exceptions.raise_compiler_error(
            "invalid setting: " ~ name ~ " = " ~ text ~ " is not allowed; give a whole number from " ~ bounds[0] ~ " to " ~ bounds[1]
        ) }}
    {%- endif -%}
{%- endmacro %}
