{#- The payments input in one pass: every accepted row summed into its customer and month, and every
    row set aside kept on its own with its reason, position and original text. Every input row is
    counted in exactly one row here (`payments` for a customer-month, 1 for a set-aside row), and
    everything downstream reads these rows, never the payments again.

    A customer-month row also carries what the customer's months before and after it say (windows
    over the customer's months): the latest purchase date before the month and up to its end, the
    next month with money, and the cohort month. They are the customer's whole history as far as base
    membership needs it.

    Set aside here besides staging's reasons: with an `as_of_date` var, accepted payments dated after
    it (paid_at_after_as_of_date).

    Incremental (inputs are append-only): a run types only the input rows past the last line it read,
    sums them, merges them into the stored months of their customers (however old), recomputes those
    customers' windows and replaces their rows; new set-aside rows are added. Built with another
    reporting_timezone, as_of_date or input_mapping var, or from an input that is not the earlier one
    with rows appended (a re-export in another order, another source), it rebuilds itself whole and
    the run says so in one line. -#}
{%- set setting_vars = ['reporting_timezone', 'as_of_date', 'input_mapping'] -%}
{{ config(
    materialized='table' if target.type == 'spark' else 'incremental',
    incremental_strategy='delete+insert',
    unique_key='customer_id',
    on_schema_change='fail',
    pre_hook="{{ customer_lifecycle.empty_payments_if_rebuilding(" ~ setting_vars ~ ") }}"
) }}
-- depends_on: {{ ref('stg_billing__payments') }}
{#- An incremental run reads the input itself (staged_payments): -#}
-- depends_on: {{ raw_table('payments', ['payment_id']) if not execute else 'the payments input' }}
{%- set settings = customer_lifecycle.build_settings(setting_vars) -%}
{%- set loaded = customer_lifecycle.payments_read_so_far(settings) if is_incremental() else none -%}
{%- set money = money_type() -%}
{%- set set_aside_reasons = [
    'missing_payment_id', 'duplicate_payment_id_exact', 'duplicate_payment_id_conflict', 'missing_customer_id',
    'invalid_paid_at', 'invalid_amount', 'invalid_status', 'invalid_currency', 'paid_at_after_as_of_date',
    'paid_at_out_of_range'
] -%}
{%- set month_columns = [
    'payments', 'purchases', 'gross_revenue', 'refunds', 'first_purchase_at', 'first_purchase_amount',
    'last_purchase_at', 'last_paid_date', 'through_line'
] %}
with

payments as (

    {% if loaded is none -%}
    select * from {{ ref('stg_billing__payments') }}
    {%- else -%}
    {{ customer_lifecycle.staged_payments(after_line=loaded.last_line) }}
    {%- endif %}

),

{#- A set-aside row counts in nothing but itself. -#}
classified as (

    select
        *,
        is_purchase and set_aside_reason is null as is_kept_purchase,
        is_refund and set_aside_reason is null as is_kept_refund
    from (
        select
            *,
            coalesce(
                rejection_reason
                {%- if var('as_of_date', none) is not none %},
                case when paid_date > cast('{{ var("as_of_date") }}' as date) then 'paid_at_after_as_of_date' end
                {%- endif %}
            ) as set_aside_reason
        from payments
    ) as with_reasons

),

{#- One pass over the rows: the accepted ones grouped by customer and month, each set-aside one alone
    (set_aside_line is its line; quarantine_payments reads its text from the input again). -#}
grouped as (

    select
        customer_id,
        paid_month as month,
        case when set_aside_reason is not null then source_line end as set_aside_line,
        {#- The reason as a small number: a text column among the keys costs a fifth of the pass. -#}
        max(case set_aside_reason
            {%- for reason in set_aside_reasons %} when '{{ reason }}' then {{ loop.index }}{% endfor %}
        end) as set_aside_code,
        cast(count(*) as {{ dbt.type_bigint() }}) as payments,
        cast(count(case when is_kept_purchase then 1 end) as {{ dbt.type_bigint() }}) as purchases,
        cast(coalesce(sum(case when is_kept_purchase then amount end), 0) as {{ money }}) as gross_revenue,
        cast(coalesce(sum(case when is_kept_refund then amount end), 0) as {{ money }}) as refunds,
        min(case when is_kept_purchase then paid_at end) as first_purchase_at,
        {{ customer_lifecycle.earliest_amount('paid_at', 'amount', 'is_kept_purchase') }} as first_purchase_amount,
        max(case when is_kept_purchase then paid_at end) as last_purchase_at,
        max(case when set_aside_reason is null then paid_date end) as last_paid_date,
        max(source_line) as through_line
    from classified
    group by
        customer_id,
        paid_month,
        case when set_aside_reason is not null then source_line end

),

{#- A set-aside row belongs to no customer-month: its customer and month are left out. -#}
read_rows as (

    select
        case when set_aside_line is null then customer_id end as customer_id,
        case when set_aside_line is null then month end as month,
        set_aside_line,
        payments,
        purchases,
        gross_revenue,
        refunds,
        first_purchase_at,
        first_purchase_amount,
        last_purchase_at,
        last_paid_date,
        through_line,
        case set_aside_code
            {%- for reason in set_aside_reasons %} when {{ loop.index }} then '{{ reason }}'{% endfor %}
        end as set_aside_reason
    from grouped

),

{% if loaded is not none -%}
{#- The months read merged with the stored months of the same customers, and the new set-aside rows. -#}
months as (

    select
        customer_id,
        month,
        cast(null as {{ dbt.type_bigint() }}) as set_aside_line,
        cast(sum(payments) as {{ dbt.type_bigint() }}) as payments,
        cast(sum(purchases) as {{ dbt.type_bigint() }}) as purchases,
        cast(sum(gross_revenue) as {{ money }}) as gross_revenue,
        cast(sum(refunds) as {{ money }}) as refunds,
        min(first_purchase_at) as first_purchase_at,
        {{ customer_lifecycle.earliest_amount('first_purchase_at', 'first_purchase_amount', 'purchases > 0') }}
            as first_purchase_amount,
        max(last_purchase_at) as last_purchase_at,
        max(last_paid_date) as last_paid_date,
        max(through_line) as through_line,
        cast(null as {{ dbt.type_string() }}) as set_aside_reason
    from (
        select customer_id, month, {{ month_columns | join(', ') }} from read_rows
        where set_aside_line is null
        union all
        select customer_id, month, {{ month_columns | join(', ') }} from {{ this }}
        where
            set_aside_reason is null
            and customer_id in (select customer_id from read_rows where set_aside_line is null)
    ) as stored_and_read
    group by customer_id, month
    union all
    select * from read_rows
    where set_aside_line is not null

),
{%- else -%}
months as (

    select * from read_rows

),
{%- endif %}

{#- Each customer's history around each month (set-aside rows, without a customer, have none). Days of
    purchases are not stored: int_customer_months_paid takes them from the timestamps. -#}
histories as (

    select
        customer_id,
        month,
        {{ month_columns | join(',\n        ') }},
        {#- Purchase dates and months grow with the month: -#}
        {{ customer_lifecycle.largest_before(
            'cast(' ~ to_reporting_timestamp('last_purchase_at') ~ ' as date)', 'customer_id', 'month'
        ) }} as last_purchase_date_before,
        {{ customer_lifecycle.smallest_after(
            'case when purchases > 0 or refunds < 0 then month end', 'customer_id', 'month'
        ) }} as next_money_month,
        {#- Over the whole partition, in the order of the windows above: one sort serves all three
            (DuckDB sorts once per window order; 2-3 s of a 50M-payment build). -#}
        min(case when purchases > 0 then month end) over (
            partition by customer_id order by month rows between unbounded preceding and unbounded following
        ) as cohort_month,
        set_aside_reason,
        set_aside_line as source_line
    from months

)

select
    *,
    {{ loaded.next_batch if loaded is not none else 1 }} as load_batch,
    cast({{ loaded.generation if loaded is not none else customer_lifecycle.fingerprint(invocation_id) }}
        as {{ dbt.type_bigint() }}) as generation,
    cast({{ customer_lifecycle.fingerprint(settings) }} as {{ dbt.type_bigint() }}) as build_settings
from histories
