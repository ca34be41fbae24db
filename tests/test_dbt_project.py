"""The dbt project built end to end on the demo seeds and through the raw_data_dir input path.

`dbt build` here runs every dbt unit test (hand-computed rows for each definition) and every data
test (reconciliation to the cent, the bridge identity, month-0 retention, cohort sizes, no gaps,
grains). The Python side re-derives a few headline numbers straight from the seed files.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dbt_project_runner import MARTS, PROJECT_DIR, DbtFailed, read_marts, read_table, run_dbt

SEEDS = PROJECT_DIR / "seeds"


def results_by_type(workdir: Path) -> dict[str, dict[str, int]]:
    """Counts of run_results statuses per resource type (model, seed, test, unit_test, snapshot)."""
    results = json.loads((workdir / "target" / "run_results.json").read_text())["results"]
    counts: dict[str, dict[str, int]] = {}
    for result in results:
        resource_type = result["unique_id"].split(".")[0]
        per_type = counts.setdefault(resource_type, {})
        per_type[result["status"]] = per_type.get(result["status"], 0) + 1
    return counts


def test_demo_build_runs_every_unit_and_data_test(demo_build: Path) -> None:
    counts = results_by_type(demo_build)
    assert counts["unit_test"] == {"pass": 29}
    assert counts["test"] == {"pass": 72}
    assert counts["model"] == {"success": 31}
    assert counts["seed"] == {"success": 3}
    assert counts["snapshot"] == {"success": 1}


def test_demo_marts_reconcile_with_the_seed_files(demo_build: Path) -> None:
    payments = pd.read_csv(SEEDS / "raw_payments.csv", dtype=str)
    succeeded = payments[payments["status"] == "succeeded"]
    amounts = succeeded["amount"].map(Decimal)
    net_in_files = sum(amounts, Decimal(0))
    buyers = succeeded.loc[amounts > 0, "customer_id"].nunique()

    marts = read_marts(demo_build)
    revenue = marts["fct_revenue_monthly"]
    # as_of_date defaults to the latest payment, so every payment in the files is inside the window.
    assert Decimal(str(revenue["net_revenue"].sum())).quantize(Decimal("0.01")) == net_in_files
    assert revenue["purchases"].sum() == (amounts > 0).sum() == 23_168
    assert (amounts < 0).sum() == 513
    cohorts = marts["fct_cohort_retention"]
    assert cohorts.loc[cohorts["months_since_first"] == 0, "cohort_size"].sum() == buyers == 2_923
    dim = marts["dim_customers"]
    assert len(dim) == 3_039
    assert (dim["lifecycle_state"] == "prospect").sum() == 116
    assert (~dim["has_customer_record"]).sum() == 45
    counts = read_table(demo_build, "quarantine.input_row_counts").set_index("input_table")
    assert counts.loc["payments"].tolist() == [len(payments), len(payments), 0]
    window = read_table(demo_build, "intermediate.int_reporting_window")
    assert str(window["as_of_date"][0])[:10] == "2025-10-31"
    churn = marts["fct_churn_monthly"]
    assert len(churn) == 34  # Jan 2023 .. Oct 2025

    # The status mix is the customer-month grid summed, five rows a month; new and reactivated are
    # the bridge's.
    grid = marts["fct_customer_months"]
    mix = marts["fct_customer_status_monthly"]
    assert len(mix) == 34 * 5
    assert mix["customers"].sum() == len(grid) == 42_198
    by_status = mix.pivot(index="month", columns="status", values="customers")
    bridge = churn.set_index("month")
    assert (by_status["new"] == bridge["new_customers"]).all()
    assert (by_status["reactivated"] == bridge["reactivated_customers"]).all()
    october = mix[mix["month"].astype(str).str.startswith("2025-10")].set_index("status")
    assert october["customers"].to_dict() == {
        "churned": 135,
        "lapsed": 1_715,
        "new": 157,
        "reactivated": 59,
        "retained": 857,
    }
    assert Decimal(str(october.loc["retained", "net_revenue"])) == Decimal("49294.24")


@pytest.mark.slow
def test_snapshot_versions_are_stamped_with_as_of_date(tmp_path: Path) -> None:
    """Two builds at successive as_of dates: changed customers get a second version from the later date."""
    run_dbt(["build", "--exclude", "test_type:unit"], tmp_path, vars={"as_of_date": "2025-06-30"})
    run_dbt(["build", "--exclude", "test_type:unit"], tmp_path, vars={"as_of_date": "2025-09-30"})
    run_dbt(["build", "--exclude", "test_type:unit"], tmp_path, vars={"as_of_date": "2025-09-30"})
    history = read_table(tmp_path, "snapshots.snp_customer_lifecycle_states")
    valid_from = history["dbt_valid_from"].dt.date.astype(str)
    assert set(valid_from) == {"2025-06-30", "2025-09-30"}
    current = history[history["dbt_valid_to"].isna()]
    assert current["customer_id"].is_unique
    dim = read_table(tmp_path, "marts.dim_customers")
    merged = current.merge(dim, on="customer_id", suffixes=("_snapshot", ""))
    assert len(merged) == len(dim)
    assert (merged["lifecycle_state_snapshot"] == merged["lifecycle_state"]).all()
    changed = history.groupby("customer_id").size()
    # Rebuilding the same as_of_date added nothing; the later date added versions only for changes.
    assert changed.max() == 2
    closed = history[history["dbt_valid_to"].notna()]
    assert set(closed["dbt_valid_to"].dt.date.astype(str)) == {"2025-09-30"}


@pytest.fixture(scope="module")
def demo_as_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo seeds copied to a CSV folder and a Parquet folder, as a user's export would look."""
    root = tmp_path_factory.mktemp("exports")
    folders = {"csv": root / "csv", "parquet": root / "parquet"}
    for folder in folders.values():
        folder.mkdir()
    with duckdb.connect() as con:
        for name in ["payments", "customers"]:
            source = SEEDS / f"raw_{name}.csv"
            (folders["csv"] / f"{name}.csv").write_bytes(source.read_bytes())
            con.execute(
                f"copy (select * from read_csv('{source}', all_varchar = true)) "
                f"to '{folders['parquet'] / (name + '.parquet')}' (format parquet)"
            )
    return folders


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_raw_data_dir_builds_the_same_marts_as_the_seeds(
    demo_build: Path, demo_as_files: dict[str, Path], tmp_path: Path, fmt: str
) -> None:
    run_dbt(["build"], tmp_path, vars={"raw_data_dir": str(demo_as_files[fmt])})
    from_seeds = read_marts(demo_build)
    from_files = read_marts(tmp_path)
    for mart in MARTS:
        key = list(from_seeds[mart].columns[:2])
        expected = from_seeds[mart].sort_values(key).reset_index(drop=True)
        actual = from_files[mart].sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(actual, expected, check_exact=True, obj=mart)


@pytest.mark.slow
def test_raw_data_dir_without_customers_derives_them_from_payments(
    demo_as_files: dict[str, Path], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "payments.csv").write_bytes((demo_as_files["csv"] / "payments.csv").read_bytes())
    run_dbt(["build", "--exclude", "test_type:unit"], tmp_path / "build", vars={"raw_data_dir": str(data)})
    dim = read_table(tmp_path / "build", "marts.dim_customers")
    # Without a customers table: every payer is a customer row, none has a record; the 47 sign-ups
    # who never paid are unknown.
    assert len(dim) == 3_039 - 47
    assert not dim["has_customer_record"].any()
    assert dim["cohort_month"].notna().sum() == 2_923


@pytest.mark.slow
def test_raw_data_dir_reading_parquet_with_typed_columns(tmp_path: Path) -> None:
    """A Parquet export with real types (timestamp with time zone, double) reads like text would."""
    data = tmp_path / "data"
    data.mkdir()
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(
            f"""
            copy (
                select * from (values
                    ('p1', 'c1', timestamptz '2024-01-31 22:00:00+00', 10.5::double, 'USD', 'succeeded'),
                    ('p2', 'c1', timestamptz '2024-02-29 23:30:00+00', -0.5::double, 'USD', 'succeeded'),
                    ('p3', 'c2', timestamptz '2024-02-15 08:00:00+00', 7.25::double, 'USD', 'succeeded')
                ) as t(payment_id, customer_id, paid_at, amount, currency, status)
            ) to '{data / "payments.parquet"}' (format parquet)
            """
        )
    run_dbt(["build", "--exclude", "test_type:unit"], tmp_path / "build", vars={"raw_data_dir": str(data)})
    revenue = read_table(tmp_path / "build", "marts.fct_revenue_monthly").set_index("month")
    assert revenue["net_revenue"].tolist() == [10.5, 6.75]
    assert revenue["first_purchases"].tolist() == [1, 1]


def test_missing_payments_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with pytest.raises(DbtFailed, match=r"payments\.csv or payments\.parquet not found in .*data"):
        run_dbt(["build"], tmp_path / "build", vars={"raw_data_dir": str(tmp_path / "data")})


def test_missing_column_names_expected_and_found(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "payments.csv").write_text(
        "payment_id,customer_id,created,amount,currency,status\np1,c1,2024-01-01,10,USD,succeeded\n"
    )
    with pytest.raises(
        DbtFailed, match=r"payments\.csv: missing column\(s\) paid_at; expected .*; found .*created"
    ):
        run_dbt(["build"], tmp_path / "build", vars={"raw_data_dir": str(data)})


def test_two_currencies_fail_the_build_naming_the_check(tmp_path: Path) -> None:
    """Revenue is summed without conversion, so a second money currency stops the build."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "payments.csv").write_text(
        "payment_id,customer_id,paid_at,amount,currency,status\n"
        "p1,c1,2024-01-01T10:00:00Z,10,USD,succeeded\n"
        "p2,c2,2024-01-02T10:00:00Z,12,EUR,succeeded\n"
    )
    build = tmp_path / "build"
    with pytest.raises(DbtFailed, match=r"assert_accepted_payments_are_complete"):
        run_dbt(
            ["build", "--exclude", "test_type:unit", "--store-failures"],
            build,
            vars={"raw_data_dir": str(data)},
        )
    with duckdb.connect(str(build / "warehouse.duckdb"), read_only=True) as con:
        failed = con.execute(
            "select failed_check, failing_count from dbt_test__audit.assert_accepted_payments_are_complete"
        ).fetchall()
    assert failed == [("more than one currency moves money", 2)]
