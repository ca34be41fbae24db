"""Inputs that are not the earlier input with rows appended: a billing system's full re-export in another
order, a shorter customers file, another source altogether. The stored models rebuild themselves whole,
the run says so in one line and exits 0, and the marts, set-aside rows and row counts equal those of a
full build of the same files.

Plain dbt (`raw_data_dir`) is checked here; `lifecycle run`, which also compares the content of every
earlier row, in tests/test_pipeline_reexports.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from dbt_project_runner import run_dbt
from lifecycle.generate import DEFAULT_END, DEFAULT_START, append_day, generate, write_table
from test_incremental import QUARANTINE, compare_marts, load_batches, row_set_differences, warehouse

RUN = ["run"]
REBUILT = "the input is not the earlier input with rows appended"

# Several dbt runs per test, like tests/test_incremental.py: left out of `make test-fast`.
pytestmark = pytest.mark.slow


def write_generated(data: Path, seed: int, payments: int = 5_000) -> int:
    data.mkdir(parents=True, exist_ok=True)
    generated, customers = generate(payments, seed, DEFAULT_START, DEFAULT_END)
    write_table(generated, data / "payments.parquet", "parquet")
    write_table(customers, data / "customers.parquet", "parquet")
    return generated.num_rows


def reshuffle(path: Path, seed: int) -> None:
    """The same rows in another order, as a billing system's full re-export may give them."""
    table = pq.read_table(path)
    write_table(table.take(np.random.default_rng(seed).permutation(table.num_rows)), path, "parquet")


def full_build_of(data: Path, workdir: Path) -> Path:
    run_dbt(RUN, workdir, vars={"raw_data_dir": str(data)})
    return warehouse(workdir)


def differences(incremental: Path, full: Path) -> list[str]:
    found = compare_marts(incremental, full)
    for relation in QUARANTINE:
        found += row_set_differences(warehouse(incremental), full, relation)
    return found


@pytest.fixture()
def built(tmp_path: Path) -> tuple[Path, Path]:
    """A warehouse built from 5,000 generated payments, and the folder of its input files."""
    data = tmp_path / "data"
    write_generated(data, seed=7)
    workdir = tmp_path / "dbt"
    run_dbt(RUN, workdir, vars={"raw_data_dir": str(data)})
    return data, workdir


def test_a_reshuffled_reexport_with_one_more_day_equals_a_full_build(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    data, workdir = built
    added = append_day(data, seed=3, late=12)
    reshuffle(data / "payments.parquet", seed=1)
    reshuffle(data / "customers.parquet", seed=2)
    completed = run_dbt(RUN, workdir, vars={"raw_data_dir": str(data)})
    rebuilt = [line for line in completed.stdout.splitlines() if REBUILT in line]
    assert len(rebuilt) == 2, completed.stdout[-3000:]  # one line per input
    assert "payments:" in rebuilt[0] + rebuilt[1] and "customers:" in rebuilt[0] + rebuilt[1]
    # Rebuilt whole: every input row is summed by this run's rows, none kept from the first run.
    assert load_batches(workdir) == {1: added.total_rows}
    assert differences(workdir, full_build_of(data, tmp_path / "full")) == []


def test_another_source_rebuilds_whole(built: tuple[Path, Path], tmp_path: Path) -> None:
    """`raw_data_dir` pointed at another company's files: nothing of the first source stays."""
    _, workdir = built
    other = tmp_path / "other"
    rows = write_generated(other, seed=11, payments=4_000)
    completed = run_dbt(RUN, workdir, vars={"raw_data_dir": str(other)})
    assert REBUILT in completed.stdout
    assert load_batches(workdir) == {1: rows}
    full = full_build_of(other, tmp_path / "full")
    assert differences(workdir, full) == []
    with duckdb.connect(str(warehouse(workdir)), read_only=True) as con:
        [(customers,)] = con.execute("select count(*) from marts.dim_customers").fetchall()
    with duckdb.connect(str(full), read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_customers").fetchall() == [(customers,)]


def test_a_shorter_customers_file_rebuilds_the_customers_whole(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    """The payments appended to as usual, the customers file cut short: the typed customers are typed
    again whole (under the next load batch), and every customer row is rebuilt from them."""
    data, workdir = built
    customers = pq.read_table(data / "customers.parquet")
    append_day(data, seed=3, late=12)
    write_table(customers.slice(0, customers.num_rows - 10), data / "customers.parquet", "parquet")
    completed = run_dbt(RUN, workdir, vars={"raw_data_dir": str(data)})
    assert "lifecycle: customers: " + REBUILT in completed.stdout
    assert "lifecycle: payments: " not in completed.stdout  # the payments were appended to
    with duckdb.connect(str(warehouse(workdir)), read_only=True) as con:
        assert con.execute(
            "select load_batch, count(*) from staging.stg_billing__customers group by all"
        ).fetchall() == [(2, customers.num_rows - 10)]
        assert con.execute(
            "select distinct built_from_customers_batch from intermediate.int_customers_unioned"
        ).fetchall() == [(2,)]
    assert set(load_batches(workdir)) == {1, 2}  # the payments stayed incremental
    assert differences(workdir, full_build_of(data, tmp_path / "full")) == []


def test_docs_generate_works_on_a_warehouse_built_from_other_inputs(built: tuple[Path, Path]) -> None:
    """`dbt docs generate` (and compile) render the incremental models without looking at what they
    stored, so a warehouse built from files works with the demo-seed defaults too."""
    _, workdir = built
    before = (workdir / "warehouse.duckdb").read_bytes()
    shutil.rmtree(workdir / "target", ignore_errors=True)
    run_dbt(["docs", "generate"], workdir)
    assert (workdir / "target" / "catalog.json").exists()
    assert (workdir / "warehouse.duckdb").read_bytes() == before


def snapshot_versions(workdir: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse(workdir)), read_only=True) as con:
        return con.execute(
            "select customer_id, lifecycle_state, cast(dbt_valid_from as date), cast(dbt_valid_to as date) "
            "from snapshots.snp_customer_lifecycle_states order by all"
        ).fetchall()


def test_the_snapshot_stays_true_when_customers_leave_and_as_of_date_moves_back(tmp_path: Path) -> None:
    """Customers no longer in the data have their current version closed on the new as_of_date; a
    build for an earlier as_of_date leaves the history as it is. `dbt build` runs the data test
    assert_snapshot_versions_are_valid (no version ends before it starts, one current version per
    customer) each time."""
    data, workdir = tmp_path / "data", tmp_path / "dbt"
    write_generated(data, seed=7)
    build = ["build", "--exclude", "test_type:unit"]
    run_dbt(build, workdir, vars={"raw_data_dir": str(data), "as_of_date": "2024-06-30"})
    first = snapshot_versions(workdir)
    assert {valid_from.isoformat() for _, _, valid_from, _ in first} == {"2024-06-30"}
    payments = pq.read_table(data / "payments.parquet")
    leaving = sorted({row[0] for row in first})[:5]
    kept = payments.filter(pc.invert(pc.is_in(payments["customer_id"], pa.array(leaving))))
    write_table(kept, data / "payments.parquet", "parquet")
    customers = pq.read_table(data / "customers.parquet")
    write_table(
        customers.filter(pc.invert(pc.is_in(customers["customer_id"], pa.array(leaving)))),
        data / "customers.parquet",
        "parquet",
    )
    run_dbt(build, workdir, vars={"raw_data_dir": str(data), "as_of_date": "2024-09-30"})
    second = snapshot_versions(workdir)
    for customer_id in leaving:
        versions = [row for row in second if row[0] == customer_id]
        assert versions[-1][3] is not None and versions[-1][3].isoformat() == "2024-09-30", versions
    moved_back = run_dbt(build, workdir, vars={"raw_data_dir": str(data), "as_of_date": "2024-03-31"})
    assert (
        "lifecycle: as_of_date 2024-03-31 is before the latest lifecycle-state version" in moved_back.stdout
    )
    assert snapshot_versions(workdir) == second
