"""The six lifecycle marts in hand-written DuckDB SQL, one in-memory connection.

Input: the generator's Parquet files, every column text, assumed clean (see the package docstring).
`LIFECYCLE_THREADS` and `LIFECYCLE_MEMORY_LIMIT` set DuckDB's `threads` and `memory_limit`.

It stores what the dbt build stores: the customer-month sums as a table (with each customer's
latest purchase so far and next month with money, from windows) and the customers as tables,
`fct_customer_months` and `dim_customers` as views over them, and the other four marts as tables.
The view expands each month in which a customer has money (purchases or refunds) into itself and
the empty months up to the next one, which carry the same latest purchase date, rather than cross
joining customers and months; the cohort, churn, status and customer marts are summed from the view,
as one writes it by hand. Money columns stay DECIMAL(18, 4), the type of the amounts; row order is
not kept.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa

from . import CHURN_INACTIVITY_DAYS, MARTS

# ISO-8601 text -> UTC timestamp: the cast to timestamptz applies any offset (naive text and bare
# dates are taken in the session time zone, UTC); going through epoch microseconds avoids a slow
# calendar conversion back to a naive timestamp.
_UTC = "make_timestamp(epoch_us(cast({} as timestamptz)))"

# Payments summed per customer and month (any status) with each customer's history around the month,
# the reporting window, and the customers.
PREPARE_SQL = f"""
create table intermediate.customer_month_payments as
with payments as (
    select
        payment_id,
        customer_id,
        paid_at,
        amount,
        status = 'succeeded' and amount > 0 as is_purchase,
        status = 'succeeded' and amount < 0 as is_refund
    from (
        select
            payment_id,
            customer_id,
            {_UTC.format("paid_at")} as paid_at,
            cast(amount as decimal(18, 4)) as amount,
            status
        from raw_payments
    )
),

by_month as (
    select
        customer_id,
        cast(date_trunc('month', paid_at) as date) as month,
        cast(max(paid_at) as date) as last_paid_date,
        count(*) filter (where is_purchase) as purchases,
        cast(coalesce(sum(amount) filter (where is_purchase), 0) as decimal(18, 4)) as gross_revenue,
        cast(coalesce(sum(amount) filter (where is_refund), 0) as decimal(18, 4)) as refunds,
        min(paid_at) filter (where is_purchase) as first_purchase_at,
        max(paid_at) filter (where is_purchase) as last_purchase_at,
        arg_min(amount, (paid_at, amount)) filter (where is_purchase) as first_purchase_amount
    from payments
    group by customer_id, month
)

select
    *,
    cast(max(last_purchase_at) over (w rows between unbounded preceding and current row) as date)
        as last_purchase_to_date,
    cast(max(last_purchase_at) over (w rows between unbounded preceding and 1 preceding) as date)
        as last_purchase_before,
    min(month) filter (where purchases > 0 or refunds < 0) over (
        w rows between 1 following and unbounded following
    ) as next_money_month
from by_month
window w as (partition by customer_id order by month);

create table intermediate.reporting_window as
select
    as_of_date,
    cast(date_trunc('month', as_of_date) as date) as as_of_month,
    first_month
from (
    select
        max(last_paid_date) as as_of_date,
        min(month) filter (where purchases > 0 or refunds < 0) as first_month
    from intermediate.customer_month_payments
);

create table intermediate.customers as
with

registered as (
    select parsed.*
    from (
        select
            customer_id,
            {_UTC.format("created_at")} as created_at,
            country,
            acquisition_channel
        from raw_customers
    ) as parsed
    cross join intermediate.reporting_window as reporting_window
    where parsed.created_at is null or cast(parsed.created_at as date) <= reporting_window.as_of_date
),

paid as (
    select
        customer_id,
        min(first_purchase_at) as first_purchase_at,
        max(last_purchase_at) as last_purchase_at,
        arg_min(first_purchase_amount, first_purchase_at) as first_purchase_amount,
        sum(purchases) as purchase_count,
        sum(gross_revenue) as gross_revenue,
        sum(refunds) as refunds
    from intermediate.customer_month_payments
    group by customer_id
)

select
    customer_id,
    registered.customer_id is not null as has_customer_record,
    registered.created_at,
    registered.country,
    registered.acquisition_channel,
    paid.first_purchase_at,
    paid.last_purchase_at,
    cast(paid.first_purchase_at as date) as first_purchase_date,
    cast(paid.last_purchase_at as date) as last_purchase_date,
    cast(date_trunc('month', paid.first_purchase_at) as date) as cohort_month,
    paid.first_purchase_amount,
    cast(coalesce(paid.purchase_count, 0) as bigint) as purchase_count,
    coalesce(paid.gross_revenue, 0) as gross_revenue,
    coalesce(paid.refunds, 0) as refunds
from registered
full join paid using (customer_id);
"""

MARTS_SQL = f"""
create view marts.fct_customer_months as
with

anchors as (
    select
        money.customer_id,
        customers.cohort_month,
        money.month as anchor_month,
        coalesce(money.next_money_month - interval 1 month, reporting_window.as_of_month) as span_end,
        money.purchases,
        money.gross_revenue,
        money.refunds,
        money.last_purchase_to_date,
        money.last_purchase_before,
        reporting_window.as_of_date
    from intermediate.customer_month_payments as money
    inner join intermediate.customers as customers
        on money.customer_id = customers.customer_id and money.month >= customers.cohort_month
    cross join intermediate.reporting_window as reporting_window
    where money.purchases > 0 or money.refunds < 0
),

expanded as (
    select
        *,
        cast(unnest(generate_series(anchor_month, span_end, interval 1 month)) as date) as month
    from anchors
),

flagged as (
    select
        customer_id,
        month,
        cohort_month,
        date_diff('month', cohort_month, month) as months_since_first,
        least(last_day(month), as_of_date) as month_end_date,
        if(month = anchor_month, purchases, 0) as purchases,
        if(month = anchor_month, gross_revenue, 0) as gross_revenue,
        if(month = anchor_month, refunds, 0) as refunds,
        month = anchor_month and purchases > 0 as is_active,
        -- in the base at the end of the previous month, whose last day is month - 1
        coalesce(
            if(month = anchor_month, last_purchase_before, last_purchase_to_date)
            >= month - 1 - {CHURN_INACTIVITY_DAYS - 1},
            false
        ) as was_in_base_at_start,
        last_purchase_to_date >= month_end_date - {CHURN_INACTIVITY_DAYS - 1} as is_in_base_at_end,
        month = cohort_month as is_new
    from expanded
),

moved as (
    select
        *,
        is_active and not is_new and not was_in_base_at_start as is_reactivated
    from flagged
)

select
    customer_id,
    month,
    cohort_month,
    months_since_first,
    month_end_date,
    purchases,
    gross_revenue,
    refunds,
    cast(gross_revenue + refunds as decimal(18, 4)) as net_revenue,
    is_active,
    was_in_base_at_start,
    is_in_base_at_end,
    is_new,
    is_reactivated,
    (was_in_base_at_start or is_new or is_reactivated) and not is_in_base_at_end as is_churned,
    case
        when is_new then 'new'
        when is_reactivated then 'reactivated'
        when was_in_base_at_start and not is_in_base_at_end then 'churned'
        when was_in_base_at_start then 'retained'
        else 'lapsed'
    end as status
from moved;

create view marts.dim_customers as
select
    customers.customer_id,
    customers.has_customer_record,
    customers.created_at,
    customers.country,
    customers.acquisition_channel,
    customers.first_purchase_at,
    customers.last_purchase_at,
    customers.first_purchase_date,
    customers.last_purchase_date,
    customers.cohort_month,
    customers.purchase_count,
    customers.gross_revenue,
    customers.refunds,
    customers.gross_revenue + customers.refunds as net_revenue,
    cast(customers.gross_revenue as double) / nullif(customers.purchase_count, 0) as average_order_value,
    date_diff('day', customers.last_purchase_date, reporting_window.as_of_date) as days_since_last_purchase,
    date_diff('day', customers.first_purchase_date, reporting_window.as_of_date) as tenure_days,
    date_diff('month', customers.cohort_month, reporting_window.as_of_month) as tenure_months,
    case customers.purchase_count when 0 then 'prospect' when 1 then 'one_time' else 'repeat' end
        as customer_type,
    coalesce(as_of_month.is_in_base_at_end, false) as is_in_base,
    case
        when customers.purchase_count = 0 then 'prospect'
        when not as_of_month.is_in_base_at_end then 'churned'
        else as_of_month.status
    end as lifecycle_state,
    reporting_window.as_of_date
from intermediate.customers as customers
cross join intermediate.reporting_window as reporting_window
left join marts.fct_customer_months as as_of_month
    on customers.customer_id = as_of_month.customer_id and as_of_month.month = reporting_window.as_of_month;

create table marts.fct_cohort_retention as
with cells as (
    select
        cohort_month,
        months_since_first,
        month,
        count(*) as cohort_size,
        count(*) filter (where is_active) as active_customers,
        count(*) filter (where is_in_base_at_end) as customers_in_base,
        sum(net_revenue) as net_revenue
    from marts.fct_customer_months
    group by cohort_month, months_since_first, month
)

select
    cells.cohort_month,
    cells.months_since_first,
    cells.month,
    cells.cohort_size,
    cells.active_customers,
    cells.active_customers / cells.cohort_size as retention_rate,
    cells.customers_in_base,
    cells.customers_in_base / cells.cohort_size as survival_rate,
    cells.net_revenue,
    sum(cells.net_revenue) over cohort as cumulative_net_revenue,
    cast(sum(cells.net_revenue) over cohort as double) / cells.cohort_size
        as cumulative_net_revenue_per_customer,
    last_day(cells.month) <= reporting_window.as_of_date as is_complete
from cells
cross join intermediate.reporting_window as reporting_window
window cohort as (
    partition by cells.cohort_month order by cells.months_since_first
    rows between unbounded preceding and current row
);

create table marts.fct_revenue_monthly as
with

months as (
    select cast(unnest(generate_series(first_month, as_of_month, interval 1 month)) as date) as month
    from intermediate.reporting_window as reporting_window
),

money as (
    select
        month,
        count(*) filter (where purchases > 0) as active_customers,
        sum(purchases) as purchases,
        sum(gross_revenue) as gross_revenue,
        sum(refunds) as refunds
    from intermediate.customer_month_payments
    group by month
),

first_purchases as (
    select
        cohort_month as month,
        count(*) as first_purchases,
        sum(first_purchase_amount) as first_purchase_revenue
    from intermediate.customers as customers
    where cohort_month is not null
    group by cohort_month
),

summed as (
    select
        months.month,
        coalesce(money.active_customers, 0) as active_customers,
        coalesce(first_purchases.first_purchases, 0) as first_purchases,
        cast(coalesce(money.purchases, 0) as bigint) as purchases,
        coalesce(money.gross_revenue, 0) as gross_revenue,
        coalesce(first_purchases.first_purchase_revenue, 0) as first_purchase_revenue,
        coalesce(money.refunds, 0) as refunds
    from months
    left join money on months.month = money.month
    left join first_purchases on months.month = first_purchases.month
)

select
    summed.month,
    active_customers,
    first_purchases as new_customers,
    active_customers - first_purchases as returning_customers,
    purchases,
    first_purchases,
    purchases - first_purchases as repeat_purchases,
    gross_revenue,
    first_purchase_revenue,
    gross_revenue - first_purchase_revenue as repeat_purchase_revenue,
    refunds,
    gross_revenue + refunds as net_revenue,
    cast(gross_revenue as double) / nullif(purchases, 0) as average_order_value,
    last_day(summed.month) <= reporting_window.as_of_date as is_complete
from summed
cross join intermediate.reporting_window as reporting_window;

create table marts.fct_churn_monthly as
with

bridge as (
    select
        revenue.month,
        coalesce(counts.customers_start, 0) as customers_start,
        coalesce(counts.new_customers, 0) as new_customers,
        coalesce(counts.reactivated_customers, 0) as reactivated_customers,
        coalesce(counts.customers_end, 0) as customers_end,
        revenue.net_revenue
    from marts.fct_revenue_monthly as revenue
    left join (
        select
            month,
            count(*) filter (where was_in_base_at_start) as customers_start,
            count(*) filter (where is_new) as new_customers,
            count(*) filter (where is_reactivated) as reactivated_customers,
            count(*) filter (where is_in_base_at_end) as customers_end
        from marts.fct_customer_months
        group by month
    ) as counts on revenue.month = counts.month
),

rates as (
    select
        *,
        customers_start + new_customers + reactivated_customers - customers_end as churned_customers,
        churned_customers / nullif(customers_start, 0) as churn_rate,
        (customers_end - new_customers - reactivated_customers) / nullif(customers_start, 0)
            as retention_rate,
        cast(net_revenue as double) / nullif((customers_start + customers_end) / 2, 0) as arpu,
        sum(churned_customers) over last_six_months / nullif(sum(customers_start) over last_six_months, 0)
            as churn_rate_trailing_6m,
        avg(arpu) over last_six_months as arpu_trailing_6m
    from bridge
    window last_six_months as (order by month rows between 5 preceding and current row)
)

select
    rates.month,
    customers_start,
    new_customers,
    reactivated_customers,
    churned_customers,
    customers_end,
    churn_rate,
    retention_rate,
    net_revenue,
    arpu,
    1 / nullif(churn_rate, 0) as avg_customer_lifetime_months,
    arpu / nullif(churn_rate, 0) as ltv,
    churn_rate_trailing_6m,
    arpu_trailing_6m,
    1 / nullif(churn_rate_trailing_6m, 0) as avg_customer_lifetime_months_trailing_6m,
    arpu_trailing_6m / nullif(churn_rate_trailing_6m, 0) as ltv_trailing_6m,
    last_day(rates.month) <= reporting_window.as_of_date as is_complete
from rates
cross join intermediate.reporting_window as reporting_window;

-- Every month of fct_revenue_monthly x every status, 0 where nobody had the status.
create table marts.fct_customer_status_monthly as
with counts as (
    select
        month,
        status,
        count(*) as customers,
        sum(net_revenue) as net_revenue
    from marts.fct_customer_months
    group by month, status
)

select
    revenue.month,
    statuses.status,
    coalesce(counts.customers, 0) as customers,
    cast(coalesce(counts.net_revenue, 0) as decimal(18, 4)) as net_revenue,
    revenue.is_complete
from marts.fct_revenue_monthly as revenue
cross join (values ('new'), ('reactivated'), ('churned'), ('retained'), ('lapsed')) as statuses (status)
left join counts on revenue.month = counts.month and statuses.status = counts.status;
"""


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory connection in UTC, with threads and memory limit from the environment."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    con.execute("set preserve_insertion_order = false")
    if threads := os.environ.get("LIFECYCLE_THREADS"):
        con.execute(f"set threads = {int(threads)}")
    if memory_limit := os.environ.get("LIFECYCLE_MEMORY_LIMIT"):
        con.execute(f"set memory_limit = '{_literal(memory_limit)}'")
    return con


def _literal(text: Path | str) -> str:
    return str(text).replace("'", "''")


def build(data_dir: Path, database: Path | None = None) -> dict[str, pa.Table] | dict[str, int]:
    """Build the marts from `data_dir`; return them as Arrow tables, or, with `database`, write them to
    schema `marts` of that DuckDB file (replacing it) and return their row counts."""
    con = connect()
    try:
        if database is not None:
            database.unlink(missing_ok=True)
            database.with_name(database.name + ".wal").unlink(missing_ok=True)
            con.execute(f"attach '{_literal(database)}' as warehouse")
            con.execute("use warehouse")
        con.execute("create schema marts")
        con.execute("create schema intermediate")
        for name in ("payments", "customers"):
            path = _literal(data_dir / f"{name}.parquet")
            con.execute(f"create temp view raw_{name} as select * from read_parquet('{path}')")
        con.execute(PREPARE_SQL)
        con.execute(MARTS_SQL)
        if database is not None:
            return {name: con.execute(f"select count(*) from marts.{name}").fetchone()[0] for name in MARTS}
        return {name: con.execute(f"select * from marts.{name}").to_arrow_table() for name in MARTS}
    finally:
        con.close()
