"""The same models on PostgreSQL and on Spark give the same marts as on DuckDB: money to the cent,
rates to 1e-9."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import psycopg2
import pytest

from dbt_project_runner import MARTS, SEGMENT_MARTS, read_marts, run_dbt
from engines import postgres_server, spark_session_env

GRAINS = {
    "dim_customers": ["customer_id"],
    "fct_customer_months": ["customer_id", "month"],
    "fct_cohort_retention": ["cohort_month", "months_since_first"],
    "fct_churn_monthly": ["month"],
    "fct_revenue_monthly": ["month"],
    "fct_customer_status_monthly": ["month", "status"],
    "dim_customer_segments": ["customer_id"],
    "fct_segment_monthly": ["month", "classification", "segment"],
    "fct_segment_transitions": ["month", "classification", "from_segment", "to_segment"],
    "fct_ltv": ["grouping", "cohort_month", "acquisition_channel", "rfm_segment"],
    "fct_win_back_list": ["customer_id"],
}
# The predicted CLV is a Python model that runs on DuckDB only: its columns, and the win-back
# ranking by it, are null or fall back elsewhere, and are left out of the comparison.
PREDICTED = {
    "p_alive",
    "expected_purchases",
    "expected_average_order_value",
    "predicted_clv",
    "value_at_stake",
    "priority",
}
COMPARED = MARTS + SEGMENT_MARTS
# Seeds, models and the snapshot: the marts are compared with DuckDB's, where the session's demo build
# runs every unit and data test; running them again on a JVM cost a minute and a half of `make test`.
WITHOUT_TESTS = ["--exclude-resource-type", "test", "unit_test"]


@pytest.fixture(scope="module")
def duckdb_marts(demo_build: Path) -> dict[str, pd.DataFrame]:
    """The marts of the session's demo build on DuckDB (conftest.py)."""
    marts = read_marts(demo_build)
    with duckdb.connect(str(demo_build / "warehouse.duckdb"), read_only=True) as con:
        marts.update({name: con.execute(f"select * from marts.{name}").df() for name in SEGMENT_MARTS})
    return marts


def normalized(frame: pd.DataFrame, mart: str) -> pd.DataFrame:
    """Comparable values: dates as dates, money and rates as floats, sorted by the grain."""
    frame = frame.drop(columns=[column for column in frame.columns if column in PREDICTED])
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series) or column.endswith(
            ("_month", "month", "_date", "_at")
        ):
            frame[column] = pd.to_datetime(series).dt.tz_localize(None) if series.notna().any() else series
        elif series.dtype == object and series.map(lambda value: hasattr(value, "as_tuple")).any():
            frame[column] = series.astype(float)
    return frame.sort_values(GRAINS[mart]).reset_index(drop=True)


MONEY = {"gross_revenue", "refunds", "net_revenue", "average_order_value", "arpu", "ltv", "marketing_spend"}


def tolerance(column: str) -> float:
    """Money to the cent; rates and counts to 1e-9."""
    is_money = column in MONEY or column.startswith(("arpu", "ltv")) or "revenue" in column
    return 0.005 if is_money else 1e-9


def assert_same_marts(actual: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    for mart in COMPARED:
        left, right = normalized(actual[mart], mart), normalized(expected[mart], mart)
        assert list(left.columns) == list(right.columns), mart
        assert len(left) == len(right), mart
        for column in left.columns:
            if pd.api.types.is_float_dtype(right[column]) or pd.api.types.is_float_dtype(left[column]):
                pd.testing.assert_series_equal(
                    left[column].astype(float),
                    right[column].astype(float),
                    rtol=1e-9,
                    atol=tolerance(column),
                    obj=f"{mart}.{column}",
                )
            else:
                pd.testing.assert_series_equal(
                    left[column].astype(object).where(left[column].notna(), None),
                    right[column].astype(object).where(right[column].notna(), None),
                    check_dtype=False,
                    obj=f"{mart}.{column}",
                )


@pytest.mark.engines
def test_postgres_builds_the_same_marts_as_duckdb(
    duckdb_marts: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    with postgres_server() as env:
        run_dbt(["build", "--target", "postgres", *WITHOUT_TESTS], tmp_path, env=env)
        connection = psycopg2.connect(
            host=env["LIFECYCLE_PG_HOST"],
            port=env["LIFECYCLE_PG_PORT"],
            user=env["LIFECYCLE_PG_USER"],
            password=env["LIFECYCLE_PG_PASSWORD"],
            dbname=env["LIFECYCLE_PG_DATABASE"],
        )
        try:
            postgres_marts = {
                mart: pd.read_sql(f"select * from marts.{mart}", connection) for mart in COMPARED
            }
        finally:
            connection.close()
    assert_same_marts(postgres_marts, duckdb_marts)


@pytest.mark.engines
def test_spark_builds_the_same_marts_as_duckdb(duckdb_marts: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    with spark_session_env() as env:
        run_dbt(["build", "--target", "spark", *WITHOUT_TESTS], tmp_path, env=env)
        # The marts are parquet tables (fct_customer_months too, on Spark): read their files (the
        # Derby metastore admits one process).
        warehouse = Path(env["LIFECYCLE_SPARK_WAREHOUSE"])
        spark_marts = {mart: pd.read_parquet(warehouse / "marts.db" / mart) for mart in COMPARED}
    assert_same_marts(spark_marts, duckdb_marts)
