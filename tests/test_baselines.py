"""The hand-written baselines (DuckDB SQL, pandas, polars) give exactly the dbt marts.

Each baseline reads the generator's Parquet files; the dbt project is built on the same input, and
`compare_with_warehouse` matches every mart row by key (money to the cent, rates to 1e-9). The demo
seeds are converted to Parquet for the baselines and compared with a dbt build on the seeds themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from baselines import duckdb_sql, pandas_impl, polars_impl
from baselines.compare import compare_with_warehouse, write_marts
from dbt_project_runner import MARTS, PROJECT_DIR, run_dbt
from lifecycle.generate import DEFAULT_END, DEFAULT_START, generate, write_table

IMPLEMENTATIONS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "duckdb_sql": duckdb_sql.build,
    "pandas": pandas_impl.build,
    "polars": polars_impl.build,
}
BUILD = ["build", "--exclude", "test_type:unit"]

# Two dbt builds and three implementations on 20,000 payments: the benchmark's, not the quick loop's.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(data directory, dbt warehouse) for 20,000 generated payments."""
    data = tmp_path_factory.mktemp("generated")
    payments, customers = generate(20_000, 7, DEFAULT_START, DEFAULT_END)
    write_table(payments, data / "payments.parquet", "parquet")
    write_table(customers, data / "customers.parquet", "parquet")
    workdir = tmp_path_factory.mktemp("generated_dbt")
    run_dbt(BUILD, workdir, vars={"raw_data_dir": str(data)})
    return data, workdir / "warehouse.duckdb"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_build: Path) -> tuple[Path, Path]:
    """(the demo seeds as Parquet, the session's dbt warehouse built on the seeds: conftest.py)."""
    data = tmp_path_factory.mktemp("demo")
    for name in ("payments", "customers"):
        seed = PROJECT_DIR / "seeds" / f"raw_{name}.csv"
        duckdb.sql(f"select * from read_csv('{seed}', all_varchar = true)").write_parquet(
            str(data / f"{name}.parquet")
        )
    return data, demo_build / "warehouse.duckdb"


@pytest.mark.parametrize("dataset", ["generated", "demo"])
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_baseline_matches_the_dbt_marts(
    implementation: str, dataset: str, request: pytest.FixtureRequest
) -> None:
    data, warehouse = request.getfixturevalue(dataset)
    tables = IMPLEMENTATIONS[implementation](data)
    assert sorted(tables) == sorted(MARTS)
    assert compare_with_warehouse(tables, warehouse) == []


def test_duckdb_baseline_writes_the_marts_to_a_database(generated: tuple[Path, Path], tmp_path: Path) -> None:
    data, warehouse = generated
    database = tmp_path / "baseline.duckdb"
    counts = duckdb_sql.build(data, database)
    assert compare_with_warehouse(database, warehouse) == []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert counts == {
            name: con.execute(f"select count(*) from marts.{name}").fetchone()[0] for name in MARTS
        }


@pytest.mark.parametrize("kept", ["in memory", "as parquet"])
def test_comparison_reports_each_kind_of_difference(
    generated: tuple[Path, Path], kept: str, tmp_path: Path
) -> None:
    data, warehouse = generated
    tables = duckdb_sql.build(data)
    tables["dim_customers"] = tables["dim_customers"].drop_columns(["as_of_date"])
    months = tables["fct_customer_months"] = tables["fct_customer_months"].slice(1)
    cohorts = tables["fct_cohort_retention"]
    tables["fct_cohort_retention"] = cohorts.set_column(
        cohorts.schema.get_field_index("retention_rate"),
        "retention_rate",
        pc.add(cohorts["retention_rate"], 1e-6),
    )
    del tables["fct_churn_monthly"]
    revenue = tables["fct_revenue_monthly"]
    tables["fct_revenue_monthly"] = revenue.set_column(
        revenue.schema.get_field_index("refunds"),
        "refunds",
        pc.subtract(revenue["refunds"].cast(pa.float64()), 0.01),
    )

    # As the benchmark compares a dataframe implementation: from Parquet files, under a memory limit.
    compared = tables if kept == "in memory" else write_marts(tables, tmp_path / "marts")
    differences = compare_with_warehouse(compared, warehouse, "500MB", tmp_path)
    summary = [difference.split(" (e.g.")[0] for difference in differences]
    assert summary[0].startswith("dim_customers: columns differ")
    assert summary[1:] == [
        f"fct_customer_months: {months.num_rows} rows, expected {months.num_rows + 1}",
        "fct_customer_months: missing rows: 1",
        f"fct_cohort_retention: column retention_rate: {cohorts.num_rows}",
        "fct_churn_monthly: missing",
        f"fct_revenue_monthly: column refunds: {revenue.num_rows}",
    ]


def test_benchmark_compares_a_dataframe_build_in_a_process_of_its_own(
    generated: tuple[Path, Path], tmp_path: Path, benchmark: Any
) -> None:
    """benchmark/benchmark.py times polars' build in one process, which writes its marts to Parquet
    beside the database path, and compares them with the dbt marts in another, then removes them."""
    data, warehouse = generated

    figures = benchmark.baseline("polars_impl", data, warehouse, tmp_path / "polars_impl.duckdb")

    assert figures.seconds > 0 and figures.peak_mb > 0
    assert figures.note == "identical to the dbt marts"
    assert list(tmp_path.iterdir()) == []
