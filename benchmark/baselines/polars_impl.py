"""The six lifecycle marts in polars.

Input: the generator's Parquet files, every column text, assumed clean (see the package docstring):
`paid_at` is `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS` followed by nothing (UTC),
`Z` or an offset `+HH:MM`; `amount` has at most four decimals.

Money is summed exactly as Int64 1/10000 units and returned as Float64 currency units; months are
integer month numbers (year * 12 + month - 1) until the frames are built. The customer-month table is
built from the months in which a customer has money: each is expanded (int_ranges + explode) into
itself and the empty months up to the next one, so there is no customer x month cross join.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from . import CHURN_INACTIVITY_DAYS

UNITS = 10_000
STATUSES = ["new", "reactivated", "churned", "retained", "lapsed"]
CUSTOMER_MONTH_COLUMNS = [
    "customer_id",
    "month",
    "cohort_month",
    "months_since_first",
    "month_end_date",
    "purchases",
    "gross_revenue",
    "refunds",
    "net_revenue",
    "is_active",
    "was_in_base_at_start",
    "is_in_base_at_end",
    "is_new",
    "is_reactivated",
    "is_churned",
    "status",
]


def build(data_dir: Path) -> dict[str, pl.DataFrame]:
    """Build the marts from `data_dir`/payments.parquet and customers.parquet."""
    payments = (
        pl.scan_parquet(data_dir / "payments.parquet")
        .select(
            "customer_id",
            _parse_utc(pl.col("paid_at")).alias("paid_at"),
            (pl.col("amount").cast(pl.Float64) * UNITS).round().cast(pl.Int64).alias("units"),
            (pl.col("status") == "succeeded").alias("succeeded"),
        )
        .with_columns(
            is_purchase=pl.col("succeeded") & (pl.col("units") > 0),
            is_refund=pl.col("succeeded") & (pl.col("units") < 0),
            month=_month_number(pl.col("paid_at")),
        )
        .collect()
    )
    as_of_date = payments["paid_at"].max().date()
    calendar = _calendar(
        payments.filter(pl.col("is_purchase") | pl.col("is_refund"))["month"].min(), as_of_date
    )

    # One row per customer and month with a payment of any status.
    by_month = (
        payments.lazy()
        .with_columns(
            purchase_at=pl.when("is_purchase").then("paid_at"),
            gross=pl.when("is_purchase").then("units").otherwise(0),
            refunds=pl.when("is_refund").then("units").otherwise(0),
        )
        .group_by("customer_id", "month")
        .agg(
            pl.col("is_purchase").sum().alias("purchases"),
            pl.col("gross").sum(),
            pl.col("refunds").sum(),
            pl.col("purchase_at").min().alias("first_at"),
            pl.col("purchase_at").max().alias("last_at"),
        )
        .collect()
    )
    customers = (
        by_month.lazy()
        .group_by("customer_id")
        .agg(
            pl.col("purchases").sum().alias("purchase_count"),
            pl.col("gross").sum(),
            pl.col("refunds").sum(),
            pl.col("first_at").min(),
            pl.col("last_at").max(),
        )
        .with_columns(
            cohort=_month_number(pl.col("first_at")),
            cohort_month=pl.col("first_at").dt.date().dt.month_start(),
        )
        .with_row_index("number")
        .collect()
    )
    first_amounts = (
        payments.lazy()
        .filter("is_purchase")
        .join(
            customers.lazy().select("customer_id", "first_at"),
            left_on=["customer_id", "paid_at"],
            right_on=["customer_id", "first_at"],
        )
        .group_by("customer_id")
        .agg(pl.col("units").min().alias("first_amount"))
    )
    customers = customers.lazy().join(first_amounts, on="customer_id", how="left").collect()
    # Everything else reads the monthly sums: the payments can go before the customer-month grid,
    # the largest frame, is built.
    del payments

    customer_months = _customer_months(by_month, customers, calendar)
    revenue = _revenue_monthly(by_month, customers, calendar)
    return {
        "dim_customers": _dim_customers(data_dir, customers, customer_months, as_of_date),
        "fct_customer_months": customer_months.select(CUSTOMER_MONTH_COLUMNS),
        "fct_cohort_retention": _cohort_retention(customer_months, calendar),
        "fct_churn_monthly": _churn_monthly(customer_months, revenue),
        "fct_revenue_monthly": revenue,
        "fct_customer_status_monthly": _status_monthly(customer_months, revenue),
    }


def _parse_utc(text: pl.Expr) -> pl.Expr:
    """ISO-8601 text -> UTC Datetime (see the module docstring)."""
    local = text.str.slice(0, 19).str.replace("T", " ", literal=True)
    local = pl.when(local.str.len_bytes() == 10).then(local + " 00:00:00").otherwise(local)
    suffix = text.str.slice(19)
    offset_minutes = (
        pl.when(suffix.str.len_bytes() > 1)
        .then(
            (suffix.str.slice(1, 2).cast(pl.Int64) * 60 + suffix.str.slice(-2).cast(pl.Int64))
            * pl.when(suffix.str.starts_with("-")).then(-1).otherwise(1)
        )
        .otherwise(0)
    )
    return local.str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us") - pl.duration(minutes=offset_minutes)


def _month_number(timestamp: pl.Expr) -> pl.Expr:
    return timestamp.dt.year().cast(pl.Int64) * 12 + timestamp.dt.month() - 1


def _calendar(first_month: int, as_of_date: dt.date) -> pl.DataFrame:
    """One row per month of the window (month number): its dates, completeness and base thresholds.

    A customer is in the base at the end of a month when their latest purchase is on or after
    `in_base_from`, and was in it at the start when their latest purchase before the month is on or
    after `was_in_base_from` (the previous month's threshold).
    """
    as_of_month = as_of_date.year * 12 + as_of_date.month - 1
    return (
        pl.DataFrame({"month": pl.int_range(first_month, as_of_month + 1, eager=True)})
        .with_columns(month_date=pl.date(pl.col("month") // 12, pl.col("month") % 12 + 1, 1))
        .with_columns(
            month_end_date=pl.min_horizontal(pl.col("month_date").dt.month_end(), pl.lit(as_of_date))
        )
        .with_columns(
            is_complete=pl.col("month_date").dt.month_end() <= pl.lit(as_of_date),
            in_base_from=pl.col("month_end_date") - pl.duration(days=CHURN_INACTIVITY_DAYS - 1),
            was_in_base_from=pl.col("month_date") - pl.duration(days=CHURN_INACTIVITY_DAYS),
        )
    )


def _customer_months(by_month: pl.DataFrame, customers: pl.DataFrame, calendar: pl.DataFrame) -> pl.DataFrame:
    """fct_customer_months, plus month_number and net_units for the aggregates."""
    new_customer = pl.col("number") != pl.col("number").shift(1)
    last_of_customer = pl.col("number") != pl.col("number").shift(-1)
    anchors = (
        by_month.lazy()
        .join(customers.lazy().select("customer_id", "number", "cohort", "cohort_month"), on="customer_id")
        .filter(((pl.col("purchases") > 0) | (pl.col("refunds") < 0)) & (pl.col("month") >= pl.col("cohort")))
        .sort("number", "month")
        # Forward fill runs across customers safely: each customer's first row (cohort month) has a purchase.
        .with_columns(last_to_date=pl.col("last_at").dt.date().forward_fill())
        .with_columns(
            last_before=pl.when(new_customer.fill_null(True))
            .then(None)
            .otherwise(pl.col("last_to_date").shift(1)),
            span_end=pl.when(last_of_customer.fill_null(True))
            .then(calendar["month"].max() + 1)
            .otherwise(pl.col("month").shift(-1)),
        )
    )
    months = calendar.lazy().select(
        "month", "month_date", "month_end_date", "in_base_from", "was_in_base_from"
    )
    is_anchor = pl.col("month") == pl.col("anchor_month")
    return (
        anchors.rename({"month": "anchor_month"})
        .with_columns(month=pl.int_ranges("anchor_month", "span_end"))
        .explode("month")
        .join(months, on="month", how="left")
        .with_columns(
            purchases=pl.when(is_anchor).then("purchases").otherwise(0),
            gross=pl.when(is_anchor).then("gross").otherwise(0),
            refunds=pl.when(is_anchor).then("refunds").otherwise(0),
            is_active=is_anchor & (pl.col("purchases") > 0),
            was_in_base_at_start=(
                pl.when(is_anchor).then("last_before").otherwise("last_to_date") >= pl.col("was_in_base_from")
            ).fill_null(False),
            is_in_base_at_end=pl.col("last_to_date") >= pl.col("in_base_from"),
            is_new=pl.col("month") == pl.col("cohort"),
        )
        .with_columns(
            is_reactivated=pl.col("is_active") & ~pl.col("is_new") & ~pl.col("was_in_base_at_start"),
        )
        .with_columns(
            is_churned=(pl.col("was_in_base_at_start") | pl.col("is_new") | pl.col("is_reactivated"))
            & ~pl.col("is_in_base_at_end")
        )
        .select(
            pl.col("month").alias("month_number"),
            (pl.col("gross") + pl.col("refunds")).alias("net_units"),
            "customer_id",
            pl.col("month_date").alias("month"),
            "cohort_month",
            (pl.col("month") - pl.col("cohort")).alias("months_since_first"),
            "month_end_date",
            "purchases",
            (pl.col("gross") / UNITS).alias("gross_revenue"),
            (pl.col("refunds") / UNITS).alias("refunds"),
            ((pl.col("gross") + pl.col("refunds")) / UNITS).alias("net_revenue"),
            "is_active",
            "was_in_base_at_start",
            "is_in_base_at_end",
            "is_new",
            "is_reactivated",
            "is_churned",
            pl.when("is_new")
            .then(pl.lit("new"))
            .when("is_reactivated")
            .then(pl.lit("reactivated"))
            .when("is_churned")
            .then(pl.lit("churned"))
            .when("was_in_base_at_start")
            .then(pl.lit("retained"))
            .otherwise(pl.lit("lapsed"))
            .alias("status"),
        )
        .collect()
    )


def _dim_customers(
    data_dir: Path,
    customers: pl.DataFrame,
    customer_months: pl.DataFrame,
    as_of_date: dt.date,
) -> pl.DataFrame:
    registered = (
        pl.scan_parquet(data_dir / "customers.parquet")
        .with_columns(created_at=_parse_utc(pl.col("created_at")))
        .filter(pl.col("created_at").is_null() | (pl.col("created_at").dt.date() <= as_of_date))
        .with_columns(has_customer_record=pl.lit(True))
    )
    at_as_of = customer_months.lazy().filter(pl.col("month") == pl.lit(as_of_date).dt.month_start())
    count = pl.col("purchase_count")
    return (
        registered.join(customers.lazy(), on="customer_id", how="full", coalesce=True)
        .join(at_as_of.select("customer_id", "is_in_base_at_end", "status"), on="customer_id", how="left")
        .with_columns(pl.col("purchase_count", "gross", "refunds").fill_null(0))
        .select(
            "customer_id",
            pl.col("has_customer_record").fill_null(False),
            "created_at",
            "country",
            "acquisition_channel",
            pl.col("first_at").alias("first_purchase_at"),
            pl.col("last_at").alias("last_purchase_at"),
            pl.col("first_at").dt.date().alias("first_purchase_date"),
            pl.col("last_at").dt.date().alias("last_purchase_date"),
            "cohort_month",
            "purchase_count",
            (pl.col("gross") / UNITS).alias("gross_revenue"),
            (pl.col("refunds") / UNITS).alias("refunds"),
            ((pl.col("gross") + pl.col("refunds")) / UNITS).alias("net_revenue"),
            pl.when(count > 0).then(pl.col("gross") / UNITS / count).alias("average_order_value"),
            (pl.lit(as_of_date) - pl.col("last_at").dt.date())
            .dt.total_days()
            .alias("days_since_last_purchase"),
            (pl.lit(as_of_date) - pl.col("first_at").dt.date()).dt.total_days().alias("tenure_days"),
            (as_of_date.year * 12 + as_of_date.month - 1 - pl.col("cohort")).alias("tenure_months"),
            pl.when(count == 0)
            .then(pl.lit("prospect"))
            .when(count == 1)
            .then(pl.lit("one_time"))
            .otherwise(pl.lit("repeat"))
            .alias("customer_type"),
            pl.col("is_in_base_at_end").fill_null(False).alias("is_in_base"),
            pl.when(count == 0)
            .then(pl.lit("prospect"))
            .when(~pl.col("is_in_base_at_end"))
            .then(pl.lit("churned"))
            .otherwise("status")
            .alias("lifecycle_state"),
            pl.lit(as_of_date).alias("as_of_date"),
        )
        .collect()
    )


def _cohort_retention(customer_months: pl.DataFrame, calendar: pl.DataFrame) -> pl.DataFrame:
    cumulative = pl.col("net_units").cum_sum().over("cohort_month", order_by="months_since_first")
    months = calendar.lazy().select(pl.col("month").alias("month_number"), "is_complete")
    return (
        customer_months.lazy()
        .group_by("cohort_month", "months_since_first", "month", "month_number")
        .agg(
            pl.len().cast(pl.Int64).alias("cohort_size"),
            pl.col("is_active").sum().cast(pl.Int64).alias("active_customers"),
            pl.col("is_in_base_at_end").sum().cast(pl.Int64).alias("customers_in_base"),
            pl.col("net_units").sum(),
        )
        .join(months, on="month_number")
        .select(
            "cohort_month",
            "months_since_first",
            "month",
            "cohort_size",
            "active_customers",
            (pl.col("active_customers") / pl.col("cohort_size")).alias("retention_rate"),
            "customers_in_base",
            (pl.col("customers_in_base") / pl.col("cohort_size")).alias("survival_rate"),
            (pl.col("net_units") / UNITS).alias("net_revenue"),
            (cumulative / UNITS).alias("cumulative_net_revenue"),
            (cumulative / UNITS / pl.col("cohort_size")).alias("cumulative_net_revenue_per_customer"),
            "is_complete",
        )
        .sort("cohort_month", "months_since_first")
        .collect()
    )


def _revenue_monthly(by_month: pl.DataFrame, customers: pl.DataFrame, calendar: pl.DataFrame) -> pl.DataFrame:
    money = (
        by_month.lazy()
        .group_by("month")
        .agg(
            (pl.col("purchases") > 0).sum().cast(pl.Int64).alias("active_customers"),
            pl.col("purchases").sum().cast(pl.Int64),
            pl.col("gross").sum(),
            pl.col("refunds").sum(),
        )
    )
    firsts = (
        customers.lazy()
        .filter(pl.col("purchase_count") > 0)
        .group_by(pl.col("cohort").alias("month"))
        .agg(pl.len().cast(pl.Int64).alias("first_purchases"), pl.col("first_amount").sum())
    )
    first, purchases, gross = pl.col("first_purchases"), pl.col("purchases"), pl.col("gross")
    return (
        calendar.lazy()
        .select("month", "month_date", "is_complete")
        .join(money, on="month", how="left")
        .join(firsts, on="month", how="left")
        .fill_null(0)
        .sort("month")
        .select(
            pl.col("month_date").alias("month"),
            "active_customers",
            first.alias("new_customers"),
            (pl.col("active_customers") - first).alias("returning_customers"),
            "purchases",
            "first_purchases",
            (purchases - first).alias("repeat_purchases"),
            (gross / UNITS).alias("gross_revenue"),
            (pl.col("first_amount") / UNITS).alias("first_purchase_revenue"),
            ((gross - pl.col("first_amount")) / UNITS).alias("repeat_purchase_revenue"),
            (pl.col("refunds") / UNITS).alias("refunds"),
            ((gross + pl.col("refunds")) / UNITS).alias("net_revenue"),
            pl.when(purchases > 0).then(gross / UNITS / purchases).alias("average_order_value"),
            "is_complete",
        )
        .collect()
    )


def _churn_monthly(customer_months: pl.DataFrame, revenue: pl.DataFrame) -> pl.DataFrame:
    counts = (
        customer_months.lazy()
        .group_by("month")
        .agg(
            pl.col("was_in_base_at_start").sum().cast(pl.Int64).alias("customers_start"),
            pl.col("is_new").sum().cast(pl.Int64).alias("new_customers"),
            pl.col("is_reactivated").sum().cast(pl.Int64).alias("reactivated_customers"),
            pl.col("is_in_base_at_end").sum().cast(pl.Int64).alias("customers_end"),
        )
    )
    start, end = pl.col("customers_start"), pl.col("customers_end")
    churned = pl.col("churned_customers")
    churn_rate, churn_rate_6m = pl.col("churn_rate"), pl.col("churn_rate_trailing_6m")
    return (
        revenue.lazy()
        .select("month", "net_revenue", "is_complete")
        .join(counts, on="month", how="left")
        .fill_null(0)
        .sort("month")
        .with_columns(
            churned_customers=start + pl.col("new_customers") + pl.col("reactivated_customers") - end
        )
        .with_columns(
            churn_rate=pl.when(start > 0).then(churned / start),
            retention_rate=pl.when(start > 0).then(
                (end - pl.col("new_customers") - pl.col("reactivated_customers")) / start
            ),
            arpu=pl.when(start + end > 0).then(pl.col("net_revenue") / ((start + end) / 2)),
            churn_rate_trailing_6m=pl.when(start.rolling_sum(6, min_samples=1) > 0).then(
                churned.rolling_sum(6, min_samples=1) / start.rolling_sum(6, min_samples=1)
            ),
        )
        .with_columns(arpu_trailing_6m=pl.col("arpu").rolling_mean(6, min_samples=1))
        .select(
            "month",
            "customers_start",
            "new_customers",
            "reactivated_customers",
            "churned_customers",
            "customers_end",
            "churn_rate",
            "retention_rate",
            "net_revenue",
            "arpu",
            pl.when(churn_rate > 0).then(1 / churn_rate).alias("avg_customer_lifetime_months"),
            pl.when(churn_rate > 0).then(pl.col("arpu") / churn_rate).alias("ltv"),
            "churn_rate_trailing_6m",
            "arpu_trailing_6m",
            pl.when(churn_rate_6m > 0)
            .then(1 / churn_rate_6m)
            .alias("avg_customer_lifetime_months_trailing_6m"),
            pl.when(churn_rate_6m > 0)
            .then(pl.col("arpu_trailing_6m") / churn_rate_6m)
            .alias("ltv_trailing_6m"),
            "is_complete",
        )
        .collect()
    )


def _status_monthly(customer_months: pl.DataFrame, revenue: pl.DataFrame) -> pl.DataFrame:
    """Every month of fct_revenue_monthly x every status, 0 where nobody had the status."""
    counts = (
        customer_months.lazy()
        .group_by("month", "status")
        .agg(pl.len().cast(pl.Int64).alias("customers"), pl.col("net_units").sum())
    )
    return (
        revenue.lazy()
        .select("month", "is_complete")
        .join(pl.LazyFrame({"status": STATUSES}), how="cross")
        .join(counts, on=["month", "status"], how="left")
        .fill_null(0)
        .select(
            "month",
            "status",
            "customers",
            (pl.col("net_units") / UNITS).alias("net_revenue"),
            "is_complete",
        )
        .collect()
    )
