{#- The optional marketing_spend input, typed: one row per input row with `rejection_reason` (null when
    accepted). Several rows of one month and channel are all accepted (an ad platform exports one row
    per campaign); int_marketing_spend_monthly sums them. Spend dated after as_of_date is set aside
    there and in quarantine.marketing_spend, like customers created after it: staging does not depend
    on as_of_date. The original text is not kept: quarantine.marketing_spend reads it from the input
    for the rows it sets aside. docs/definitions.md, "Marketing spend". -#}
{% macro staged_marketing_spend() -%}
{%- set raw_columns = ['month', 'acquisition_channel', 'spend', 'currency'] -%}
{%- set input_mapping = customer_lifecycle.input_mapping_for('marketing_spend') -%}
with

payments_currency as (

    {{ customer_lifecycle.payments_currency() }}

),

parsed as (

    select
        source_file,
        source_line,
        {{ customer_lifecycle.parse_month('month') }} as month_start,
        nullif(lower(trim(acquisition_channel)), '') as acquisition_channel,
        {{ customer_lifecycle.mapped_money('spend', input_mapping.get('amount')) }} as spend,
        upper(trim(currency)) as currency
    from {{ raw_table('marketing_spend', raw_columns, required=false) }}

),

validated as (

    select
        parsed.month_start,
        parsed.acquisition_channel,
        parsed.spend,
        parsed.currency,
        case
            when parsed.month_start is null then 'invalid_month'
            when not {{ customer_lifecycle.is_plausible_timestamp('parsed.month_start') }} then 'month_out_of_range'
            when parsed.acquisition_channel is null then 'missing_acquisition_channel'
            when parsed.spend is null then 'invalid_spend'
            when parsed.spend < 0 then 'negative_spend'
            when parsed.currency is null or parsed.currency not in ('{{ iso_4217_codes() | join("', '") }}')
                then 'invalid_currency'
            when parsed.currency <> payments_currency.currency then 'currency_mismatch'
        end as rejection_reason,
        parsed.source_file,
        parsed.source_line
    from parsed
    cross join payments_currency

)

select
    cast({{ dbt.date_trunc('month', 'month_start') }} as date) as month,
    acquisition_channel,
    spend,
    currency,
    rejection_reason,
    source_file,
    source_line
from validated
{%- endmacro %}

{#- One row, `currency`: the currency the payments are in, the code of the first succeeded payment row
    with an ISO 4217 code (status read through the input mapping); null without one. Revenue is
    summed without conversion, so every payment that moves money is in that currency (`lifecycle`
    refuses payments in two currencies; plain dbt's tests/dbt/assert_accepted_payments_are_complete
    fails the build): the first such row names it, and the input is read only up to that row. -#}
{% macro payments_currency() -%}
    {%- set status = customer_lifecycle.mapped_status('status', customer_lifecycle.input_mapping_for('payments')) -%}
    select max(currency) as currency
    from (
        select upper(trim(currency)) as currency
        from {{ raw_table('payments', ['currency', 'status']) }}
        where
            upper(trim(currency)) in ('{{ iso_4217_codes() | join("', '") }}')
            and {{ status }} = 'succeeded'
        limit 1
    ) as first_succeeded_payment
{%- endmacro %}

{#- A month written `YYYY-MM`, `YYYY/MM` or `YYYY-MM-DD` (any day: its month), as a timestamp at
    midnight of that text's day (the first of the month for the two month forms), or null for any
    other text and for impossible dates (2024-13, 2024-02-30). A calendar month as written: no time
    zone is applied. -#}
{% macro parse_month(column) -%}
    {%- set normalized = customer_lifecycle.month_text_normalized(column) -%}
    case
        when length({{ normalized }}) = 10 then {{ customer_lifecycle.parse_timestamp_utc(normalized) }}
    end
{%- endmacro %}

{#- `YYYY-MM` and `YYYY/MM` as `YYYY-MM-01`; other text trimmed, as it is. -#}
{% macro month_text_normalized(column) -%}
    {{ return(adapter.dispatch('month_text_normalized', 'customer_lifecycle')(column)) }}
{%- endmacro %}

{% macro default__month_text_normalized(column) -%}
    regexp_replace(trim({{ column }}), '^(\d{4})[-/](\d{2})$', '\1-\2-01')
{%- endmacro %}

{#- Spark: Java regular expressions without backslashes, $1 back-references. -#}
{% macro spark__month_text_normalized(column) -%}
    regexp_replace(trim({{ column }}), '^([0-9]{4})[-/]([0-9]{2})$', '$1-$2-01')
{%- endmacro %}
