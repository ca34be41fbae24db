"""Every mart column has the type the definitions promise (docs/definitions.md, "Column types").

Counts are BIGINT, money the one decimal of macros/money.sql, rates, ratios and per-customer
averages DOUBLE, days and months DATE, instants TIMESTAMP. The expected map is written out column by
column, so adding, dropping or retyping a column fails here until the map (and the docs) follow.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from dbt_project_runner import MARTS, SEGMENT_MARTS

COUNT = "BIGINT"
MONEY = "DECIMAL(18,4)"  # macros/money.sql, default__money_type()
RATE = "DOUBLE"
DAY = "DATE"
INSTANT = "TIMESTAMP"
TEXT = "VARCHAR"
FLAG = "BOOLEAN"

EXPECTED: dict[str, dict[str, str]] = {
    "dim_customers": {
        "customer_id": TEXT,
        "has_customer_record": FLAG,
        "created_at": INSTANT,
        "country": TEXT,
        "acquisition_channel": TEXT,
        "first_purchase_at": INSTANT,
        "last_purchase_at": INSTANT,
        "first_purchase_date": DAY,
        "last_purchase_date": DAY,
        "cohort_month": DAY,
        "purchase_count": COUNT,
        "gross_revenue": MONEY,
        "refunds": MONEY,
        "net_revenue": MONEY,
        "average_order_value": RATE,
        "days_since_last_purchase": COUNT,
        "tenure_days": COUNT,
        "tenure_months": COUNT,
        "customer_type": TEXT,
        "is_in_base": FLAG,
        "lifecycle_state": TEXT,
        "as_of_date": DAY,
    },
    "fct_customer_months": {
        "customer_id": TEXT,
        "month": DAY,
        "cohort_month": DAY,
        "months_since_first": COUNT,
        "month_end_date": DAY,
        "purchases": COUNT,
        "gross_revenue": MONEY,
        "refunds": MONEY,
        "net_revenue": MONEY,
        "is_active": FLAG,
        "was_in_base_at_start": FLAG,
        "is_in_base_at_end": FLAG,
        "is_new": FLAG,
        "is_reactivated": FLAG,
        "is_churned": FLAG,
        "status": TEXT,
    },
    "fct_cohort_retention": {
        "cohort_month": DAY,
        "months_since_first": COUNT,
        "month": DAY,
        "cohort_size": COUNT,
        "active_customers": COUNT,
        "retention_rate": RATE,
        "customers_in_base": COUNT,
        "survival_rate": RATE,
        "net_revenue": MONEY,
        "cumulative_net_revenue": MONEY,
        "cumulative_net_revenue_per_customer": RATE,
        "is_complete": FLAG,
    },
    "fct_churn_monthly": {
        "month": DAY,
        "customers_start": COUNT,
        "new_customers": COUNT,
        "reactivated_customers": COUNT,
        "churned_customers": COUNT,
        "customers_end": COUNT,
        "churn_rate": RATE,
        "retention_rate": RATE,
        "net_revenue": MONEY,
        "arpu": RATE,
        "avg_customer_lifetime_months": RATE,
        "ltv": RATE,
        "churn_rate_trailing_6m": RATE,
        "arpu_trailing_6m": RATE,
        "avg_customer_lifetime_months_trailing_6m": RATE,
        "ltv_trailing_6m": RATE,
        "is_complete": FLAG,
    },
    "fct_revenue_monthly": {
        "month": DAY,
        "active_customers": COUNT,
        "new_customers": COUNT,
        "returning_customers": COUNT,
        "purchases": COUNT,
        "first_purchases": COUNT,
        "repeat_purchases": COUNT,
        "gross_revenue": MONEY,
        "first_purchase_revenue": MONEY,
        "repeat_purchase_revenue": MONEY,
        "refunds": MONEY,
        "net_revenue": MONEY,
        "average_order_value": RATE,
        "is_complete": FLAG,
    },
    "fct_customer_status_monthly": {
        "month": DAY,
        "status": TEXT,
        "customers": COUNT,
        "net_revenue": MONEY,
        "is_complete": FLAG,
    },
    "dim_customer_segments": {
        "customer_id": TEXT,
        "acquisition_channel": TEXT,
        "cohort_month": DAY,
        "customer_type": TEXT,
        "is_in_base": FLAG,
        "lifecycle_state": TEXT,
        "days_since_last_purchase": COUNT,
        "net_revenue": MONEY,
        "window_net_revenue": MONEY,
        "regularity": TEXT,
        "typical_gap_months": RATE,
        "purchases_per_month": RATE,
        "frequency_class": TEXT,
        "recency_score": COUNT,
        "frequency_score": COUNT,
        "monetary_score": COUNT,
        "rfm_segment": TEXT,
        "inactivity_stage": TEXT,
        "is_hidden_churn": FLAG,
        "purchase_drop_share": RATE,
        "net_revenue_drop": RATE,
        "p_alive": RATE,
        "expected_purchases": RATE,
        "expected_average_order_value": RATE,
        "predicted_clv": RATE,
        "customer_acquisition_cost": RATE,
        "as_of_date": DAY,
    },
    "fct_segment_monthly": {
        "month": DAY,
        "classification": TEXT,
        "segment": TEXT,
        "customers": COUNT,
        "customers_in_base_at_end": COUNT,
        "active_customers": COUNT,
        "purchases": COUNT,
        "net_revenue": MONEY,
        "net_revenue_share": RATE,
        "is_complete": FLAG,
    },
    "fct_segment_transitions": {
        "month": DAY,
        "classification": TEXT,
        "from_segment": TEXT,
        "to_segment": TEXT,
        "customers": COUNT,
    },
    "fct_ltv": {
        "grouping": TEXT,
        "cohort_month": DAY,
        "acquisition_channel": TEXT,
        "rfm_segment": TEXT,
        "customers": COUNT,
        "horizon_customers": COUNT,
        "horizon_months": COUNT,
        "average_order_value": RATE,
        "purchases_per_year": RATE,
        "monthly_churn_rate": RATE,
        "expected_years_retained": RATE,
        "formula_ltv": RATE,
        "arpu": RATE,
        "arpu_churn_ltv": RATE,
        "realized_ltv_3m": RATE,
        "realized_ltv_6m": RATE,
        "realized_ltv_12m": RATE,
        "realized_ltv_24m": RATE,
        "predicted_clv": RATE,
        "marketing_spend": MONEY,
        "acquired_customers": COUNT,
        "customer_acquisition_cost": RATE,
        "ltv_to_cac": RATE,
        "payback_month": COUNT,
        "as_of_date": DAY,
    },
    "fct_win_back_list": {
        "customer_id": TEXT,
        "acquisition_channel": TEXT,
        "cohort_month": DAY,
        "reasons": TEXT,
        "value_at_stake": RATE,
        "priority": COUNT,
        "days_since_last_purchase": COUNT,
        "inactivity_stage": TEXT,
        "rfm_segment": TEXT,
        "frequency_class": TEXT,
        "regularity": TEXT,
        "is_hidden_churn": FLAG,
        "net_revenue_drop": RATE,
        "window_net_revenue": MONEY,
        "net_revenue": MONEY,
        "predicted_clv": RATE,
        "p_alive": RATE,
        "as_of_date": DAY,
    },
}


def mart_types(warehouse: Path) -> dict[str, dict[str, str]]:
    """Column name -> DuckDB type of every column of every mart, in column order."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' order by table_name, ordinal_position"
        ).fetchall()
    types: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        types.setdefault(table, {})[column] = data_type
    return types


def test_expected_map_covers_every_mart() -> None:
    assert sorted(EXPECTED) == sorted(MARTS + SEGMENT_MARTS)


def test_every_mart_column_has_its_documented_type(demo_build: Path) -> None:
    actual = mart_types(demo_build / "warehouse.duckdb")
    assert sorted(actual) == sorted(MARTS + SEGMENT_MARTS)
    for mart in MARTS + SEGMENT_MARTS:
        # Dicts compare names and types; the lists also pin the column order BI tools see.
        assert actual[mart] == EXPECTED[mart], mart
        assert list(actual[mart]) == list(EXPECTED[mart]), mart


def test_monthly_counts_read_into_pandas_as_integers(demo_build: Path) -> None:
    """The symptom of issue 16: fct_churn_monthly's HUGEINT counts arrived in pandas as float64."""
    with duckdb.connect(str(demo_build / "warehouse.duckdb"), read_only=True) as con:
        for mart in ["fct_churn_monthly", "fct_revenue_monthly"]:
            counts = [name for name, kind in EXPECTED[mart].items() if kind == COUNT]
            frame = con.execute(f"select {', '.join(counts)} from marts.{mart}").df()
            assert {str(dtype) for dtype in frame.dtypes} == {"int64"}, (mart, dict(frame.dtypes))
