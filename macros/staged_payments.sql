{#- The payments input, typed and classified: one row per input row with `rejection_reason` (null when
    the row is accepted). The body of stg_billing__payments, and of an incremental run of
    int_payments_summarized, which types only the rows past the last line it read
    (`after_line`): a repeated payment_id is found among all rows of the input either way
    (duplicate_rows), so a new row with the id of an old one is a duplicate of it. -#}
{% macro staged_payments(after_line=none) -%}
{%- set raw_columns = ['payment_id', 'customer_id', 'paid_at', 'amount', 'currency', 'status'] -%}
{%- set payment_id = customer_lifecycle.trimmed_text('payment_id') -%}
{%- set input_mapping = customer_lifecycle.input_mapping_for('payments') -%}
with

duplicates as (

    {{ customer_lifecycle.duplicate_rows(
        raw_table('payments', raw_columns), 'payment_id',
        ['customer_id', 'paid_at', 'amount', 'currency', 'status'], after_line
    ) }}

),

parsed as (

    select
        source_file,
        source_line,
        payment_id as raw_payment_id,
        customer_id as raw_customer_id,
        paid_at as raw_paid_at,
        amount as raw_amount,
        currency as raw_currency,
        status as raw_status,
        {{ payment_id }} as payment_id,
        {{ customer_lifecycle.trimmed_text('customer_id') }} as customer_id,
        {{ customer_lifecycle.mapped_timestamp_utc('paid_at', input_mapping) }} as paid_at,
        {{ customer_lifecycle.mapped_amount('amount', 'status', input_mapping) }} as amount,
        upper(trim(currency)) as currency,
        {{ customer_lifecycle.mapped_status('status', input_mapping) }} as status
    from {{ raw_table('payments', raw_columns) }}
    {%- if after_line is not none %}
    where source_line > {{ after_line }}
    {%- endif %}

),

validated as (

    select
        parsed.*,
        case
            when parsed.payment_id is null then 'missing_payment_id'
            when duplicates.is_exact then 'duplicate_payment_id_exact'
            when duplicates.source_line is not null then 'duplicate_payment_id_conflict'
            when parsed.customer_id is null then 'missing_customer_id'
            when parsed.paid_at is null then 'invalid_paid_at'
            when not {{ customer_lifecycle.is_plausible_timestamp('parsed.paid_at') }} then 'paid_at_out_of_range'
            when parsed.amount is null then 'invalid_amount'
            when parsed.status is null or parsed.status not in ('succeeded', 'failed', 'pending') then 'invalid_status'
            when parsed.currency is null or parsed.currency not in ('{{ iso_4217_codes() | join("', '") }}')
                then 'invalid_currency'
        end as rejection_reason
    from parsed
    left join duplicates
        on parsed.source_line = duplicates.source_line

)

select
    payment_id,
    customer_id,
    paid_at,
    cast({{ to_reporting_timestamp('paid_at') }} as date) as paid_date,
    cast({{ dbt.date_trunc('month', to_reporting_timestamp('paid_at')) }} as date) as paid_month,
    amount,
    currency,
    status,
    coalesce(status = 'succeeded' and amount > 0 and rejection_reason is null, false) as is_purchase,
    coalesce(status = 'succeeded' and amount < 0 and rejection_reason is null, false) as is_refund,
    rejection_reason,
    source_file,
    source_line,
    {%- for column in raw_columns %}
    raw_{{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
from validated
{%- endmacro %}

{#- A condition that holds for every row whose `value` (an expression over `relation`'s columns) occurs
    more than once in `relation`, and for few others: a cheap first filter before values are compared.
    DuckDB: the value's 64-bit hash occurs more than once, found by sorting the hashes and comparing
    each with the one before, which costs about half of an aggregate over them (a group per row;
    docs/decisions.md, "Where the time goes"). Elsewhere: true. -#}
{% macro may_repeat(value, relation) -%}
    {{ return(adapter.dispatch('may_repeat', 'customer_lifecycle')(value, relation)) }}
{%- endmacro %}

{% macro default__may_repeat(value, relation) -%}
    true
{%- endmacro %}

{% macro duckdb__may_repeat(value, relation) -%}
    hash({{ value }}) in (
        select value_hash from (select hash({{ value }}) as value_hash from {{ relation }}) as hashes
        qualify value_hash = lag(value_hash) over (order by value_hash)
    )
{%- endmacro %}

{#- Text without surrounding spaces, or null when nothing is left. -#}
{% macro trimmed_text(column) -%}
    {{ return(adapter.dispatch('trimmed_text', 'customer_lifecycle')(column)) }}
{%- endmacro %}

{% macro default__trimmed_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{#- DuckDB: trim() costs more than the rest of a row's parsing; text rarely has spaces around it, and
    checking for them is cheap. -#}
{% macro duckdb__trimmed_text(column) -%}
    nullif({{ customer_lifecycle.spaces_trimmed(column) }}, '')
{%- endmacro %}

{#- `column` without leading and trailing spaces (DuckDB: trimmed only when it has any). -#}
{% macro spaces_trimmed(column) -%}
    {{ return(adapter.dispatch('spaces_trimmed', 'customer_lifecycle')(column)) }}
{%- endmacro %}

{% macro default__spaces_trimmed(column) -%}
    trim({{ column }})
{%- endmacro %}

{% macro duckdb__spaces_trimmed(column) -%}
    case when {{ column }} like ' %' or {{ column }} like '% ' then trim({{ column }}) else {{ column }} end
{%- endmacro %}
