{#- Every input payment row, typed, classified, and with the reason it is set aside (null when it is
    accepted). Rows are never dropped here: accepted rows flow on, set-aside rows go to
    quarantine.payments with their original text.

    Incremental: inputs are append-only, so a run reads only the rows past the last line already
    loaded (docs/decisions.md, "Incremental runs"); a new row whose payment_id was loaded before is a
    duplicate of that earlier row. `load_batch` numbers the runs that added rows. -#}
{{ config(materialized='table' if target.type == 'spark' else 'incremental', on_schema_change='fail') }}
{%- set raw_columns = ['payment_id', 'customer_id', 'paid_at', 'amount', 'currency', 'status'] -%}
{%- set fingerprint_columns = ['raw_customer_id', 'raw_paid_at', 'raw_amount', 'raw_currency', 'raw_status'] -%}
{%- set settings = customer_lifecycle.build_settings(['reporting_timezone']) -%}
{%- set loaded = customer_lifecycle.incremental_watermark('payments', raw_columns, settings) if is_incremental() else none %}
with

source as (

    select * from {{ raw_table('payments', raw_columns) }}
    {%- if loaded is not none %}
    where source_line > {{ loaded.last_line }}
    {%- endif %}

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
        nullif(trim(payment_id), '') as payment_id,
        nullif(trim(customer_id), '') as customer_id,
        {{ parse_timestamp_utc('paid_at') }} as paid_at,
        {{ parse_money('amount') }} as amount,
        upper(trim(currency)) as currency,
        lower(trim(status)) as status
    from source

),

{#- Duplicate ids are rare: find them with an aggregate and number only their rows, instead of a
    window over every row. -#}
repeated_ids as (

    select payment_id
    from (
        select payment_id from parsed
        {%- if loaded is not none %}
        union all
        select payment_id from {{ this }}
        where payment_id in (select payment_id from parsed)
        {%- endif %}
    ) as ids
    where payment_id is not null
    group by payment_id
    having count(*) > 1

),

repeated_rows as (

    select
        {{ loaded.next_batch if loaded is not none else 1 }} as load_batch,
        source_file,
        source_line,
        {{ dbt.hash(row_fingerprint(fingerprint_columns)) }} as fingerprint,
        payment_id
    from parsed
    where payment_id in (select payment_id from repeated_ids)
    {%- if loaded is not none %}
    union all
    {#- Earlier rows keep their text only when set aside: read it again from the input, which still
        holds them. #}
    select
        loaded.load_batch,
        loaded.source_file,
        loaded.source_line,
        {{ dbt.hash(row_fingerprint(['input_rows.customer_id', 'input_rows.paid_at', 'input_rows.amount', 'input_rows.currency', 'input_rows.status'])) }} as fingerprint,
        loaded.payment_id
    from {{ this }} as loaded
    inner join (select * from {{ raw_table('payments', raw_columns) }}) as input_rows
        on loaded.source_file = input_rows.source_file and loaded.source_line = input_rows.source_line
    where loaded.payment_id in (select payment_id from repeated_ids)
    {%- endif %}

),

occurrences as (

    select
        load_batch,
        source_file,
        source_line,
        row_number() over (partition by payment_id order by load_batch, source_file, source_line) as occurrence,
        first_value(fingerprint) over (
            partition by payment_id order by load_batch, source_file, source_line
            rows between unbounded preceding and current row
        ) = fingerprint as is_same_as_first_occurrence
    from repeated_rows

),

validated as (

    select
        parsed.*,
        case
            when parsed.payment_id is null then 'missing_payment_id'
            when occurrences.occurrence > 1 and occurrences.is_same_as_first_occurrence
                then 'duplicate_payment_id_exact'
            when occurrences.occurrence > 1 then 'duplicate_payment_id_conflict'
            when parsed.customer_id is null then 'missing_customer_id'
            when parsed.paid_at is null then 'invalid_paid_at'
            when parsed.amount is null then 'invalid_amount'
            when parsed.status is null or parsed.status not in ('succeeded', 'failed', 'pending') then 'invalid_status'
            when parsed.currency is null or parsed.currency not in ('{{ iso_4217_codes() | join("', '") }}')
                then 'invalid_currency'
        end as rejection_reason
    from parsed
    left join occurrences
        on
            occurrences.load_batch = {{ loaded.next_batch if loaded is not none else 1 }}
            and parsed.source_file = occurrences.source_file and parsed.source_line = occurrences.source_line

),

final as (

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
        {{ loaded.next_batch if loaded is not none else 1 }} as load_batch,
        '{{ settings }}' as build_settings,
        {#- The original text is kept for set-aside rows only: storing it for every row would double
            the cost of writing this table. -#}
        {%- for column in raw_columns %}
        case when rejection_reason is not null then raw_{{ column }} end as raw_{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from validated

)

select * from final
