"""An incremental build after new rows arrive gives what a full rebuild gives, and reads only those rows.

A warehouse is built from 20,000 generated payments; `append_day` then appends a day of payments and
late rows dated months back (some reactivating customers who had lapsed) to the same files, and
`dbt build` runs again on that warehouse without --full-refresh. Its marts, set-aside rows and row
counts must equal those of a full build of the appended files, and the second run must have read
only the appended rows: it rewrote the months of the customers they belong to (`load_batch` 2) and
kept every other row of the first run (1).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from baselines.compare import compare_with_warehouse
from dbt_project_runner import MARTS, run_dbt
from lifecycle.generate import DEFAULT_END, DEFAULT_START, Appended, append_day, generate, write_table

# The segment models (tag `segments`) are plain tables, rebuilt whole by every run: they are left out
# here, where the incremental models are compared with full rebuilds, and checked after appends and
# re-exports by tests/test_pipeline_reexports.py, which compares every mart's checksum.
SKIP_SEGMENTS = ["--exclude", "tag:segments"]
BUILD = ["build", "--exclude", "test_type:unit", "tag:segments"]

# Nineteen dbt builds on generated data.
pytestmark = pytest.mark.slow
SUMMARIZED = "intermediate.int_payments_summarized"
QUARANTINE = ["quarantine.payments", "quarantine.customers", "quarantine.input_row_counts"]
# Bookkeeping that differs between an incremental and a full build by design: which run wrote a row.
BOOKKEEPING = {"load_batch"}


def fingerprint(text: str) -> int:
    """The number the models store for a settings text (macros/incremental_state.sql, fingerprint)."""
    return int(text.encode("utf-8").hex(), 16) % (2**63 - 25)


def write_generated(data: Path) -> int:
    """20,000 generated payments (and their customers) as Parquet in `data`; returns the row count."""
    payments, customers = generate(20_000, 7, DEFAULT_START, DEFAULT_END)
    write_table(payments, data / "payments.parquet", "parquet")
    write_table(customers, data / "customers.parquet", "parquet")
    return payments.num_rows


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A first build, a day appended, the incremental build on top, and a full build of the appended
    files for reference."""
    data = tmp_path_factory.mktemp("incremental_data")
    original_rows = write_generated(data)
    incremental = tmp_path_factory.mktemp("incremental_dbt")
    run_dbt(BUILD, incremental, vars={"raw_data_dir": str(data)})
    added = append_day(data, seed=3, late=12)
    assert pq.read_metadata(data / "payments.parquet").num_rows == added.total_rows
    run_dbt(BUILD, incremental, vars={"raw_data_dir": str(data)})
    full = tmp_path_factory.mktemp("full_dbt")
    run_dbt([*BUILD, "--full-refresh"], full, vars={"raw_data_dir": str(data)})
    return {
        "data": data,
        "original_rows": original_rows,
        "added": added,
        "incremental": incremental,
        "full": full,
    }


def warehouse(workdir: Path) -> Path:
    return workdir / "warehouse.duckdb"


def read(database: Path, relations: list[str]) -> dict[str, pa.Table]:
    """`relations` of one warehouse as Arrow tables, each read through a connection of its own.

    dbt-duckdb names the catalog after the file (`warehouse`) and a model materialized as a view
    refers to its inputs through that name; with two warehouses attached to one connection, a view
    of one could read the other's tables and a comparison pass for the wrong reason."""
    with duckdb.connect(str(database), read_only=True) as con:
        return {relation: con.execute(f"select * from {relation}").to_arrow_table() for relation in relations}


def compare_marts(workdir: Path, reference: Path) -> list[str]:
    """compare_with_warehouse for the marts of the build in `workdir`, read on their own (see `read`);
    `reference` is attached as `warehouse`, its own catalog name."""
    assert reference.name == "warehouse.duckdb"
    marts = read(warehouse(workdir), [f"marts.{name}" for name in MARTS])
    return compare_with_warehouse({name: marts[f"marts.{name}"] for name in MARTS}, reference)


def load_batches(workdir: Path) -> dict[int, int]:
    """How many input rows the rows written by each run sum (every input row is counted once)."""
    with duckdb.connect(str(warehouse(workdir)), read_only=True) as con:
        return dict(
            con.execute(f"select load_batch, sum(payments) from {SUMMARIZED} group by all").fetchall()
        )


def customers_written_by_run(workdir: Path, batch: int) -> set[str]:
    with duckdb.connect(str(warehouse(workdir)), read_only=True) as con:
        rows = con.execute(
            f"select distinct customer_id from {SUMMARIZED} "
            "where load_batch = ? and set_aside_reason is null",
            [batch],
        ).fetchall()
    return {customer_id for (customer_id,) in rows}


def row_set_differences(first: Path, second: Path, relation: str) -> list[str]:
    """How `relation` differs between two warehouses as a multiset of rows (order ignored)."""
    tables = {"first": read(first, [relation])[relation], "second": read(second, [relation])[relation]}
    if tables["first"].schema != tables["second"].schema:
        return [f"{relation}: columns {tables['first'].schema} vs {tables['second'].schema}"]
    selected = ", ".join(f'"{c}"' for c in tables["first"].column_names if c not in BOOKKEEPING)
    differences = []
    with duckdb.connect() as con:
        for side, table in tables.items():
            con.register(side, table)
        for only_in, other in (("first", "second"), ("second", "first")):
            rows = con.execute(
                f"select * from (select {selected} from {only_in} except all select {selected} from {other}) "
                "order by all limit 3"
            ).fetchall()
            if rows:
                differences.append(f"{relation}: rows only in the {only_in} warehouse, e.g. {rows}")
    return differences


def test_the_appended_rows_reach_the_marts(builds: dict) -> None:
    """The reference build sees the appended day; otherwise the comparisons below prove nothing."""
    added: Appended = builds["added"]
    assert added.new_day_rows > 0 and added.late_rows == 12 and added.lapsed_customers >= 1
    with duckdb.connect(str(warehouse(builds["full"])), read_only=True) as con:
        as_of = con.execute("select max(as_of_date) from marts.dim_customers").fetchone()[0]
    assert as_of == added.day


def test_incremental_build_gives_the_marts_of_a_full_build(builds: dict) -> None:
    assert compare_marts(builds["incremental"], warehouse(builds["full"])) == []


@pytest.mark.parametrize("relation", QUARANTINE)
def test_incremental_build_sets_aside_and_counts_the_same_rows(builds: dict, relation: str) -> None:
    assert row_set_differences(warehouse(builds["incremental"]), warehouse(builds["full"]), relation) == []


def test_incremental_build_reads_only_the_appended_rows(builds: dict) -> None:
    """The second run rewrote the months of exactly the customers with appended payments (however old
    the months) and kept the rest from the first run; every input row is counted once."""
    added: Appended = builds["added"]
    with duckdb.connect(str(warehouse(builds["full"])), read_only=True) as con:
        appended_customers = {
            customer_id
            for (customer_id,) in con.execute(
                "select distinct customer_id from staging.stg_billing__payments "
                "where source_line > ? and rejection_reason is null",
                [builds["original_rows"]],  # Parquet rows are numbered from 1
            ).fetchall()
        }
    rewritten = customers_written_by_run(builds["incremental"], 2)
    assert rewritten == appended_customers
    kept = customers_written_by_run(builds["incremental"], 1)
    assert not kept & rewritten and len(rewritten) < len(kept) / 5
    batches = load_batches(builds["incremental"])
    assert set(batches) == {1, 2} and sum(batches.values()) == added.total_rows
    # The customers too: the second run rewrote those with appended payments (and new sign-ups).
    with duckdb.connect(str(warehouse(builds["incremental"])), read_only=True) as con:
        customers = dict(
            con.execute(
                "select built_from_load_batch, list(customer_id) from intermediate.int_customers_unioned "
                "group by all"
            ).fetchall()
        )
        staged = dict(
            con.execute(
                "select load_batch, count(*) from staging.stg_billing__customers group by all"
            ).fetchall()
        )
    assert set(customers) == {1, 2}
    assert rewritten <= set(customers[2]) and len(customers[2]) < len(customers[1]) / 5
    # The customers input was typed once per row: its rows from the first run, the appended ones after.
    assert staged[1] == pq.read_metadata(builds["data"] / "customers.parquet").num_rows - staged[2] > 0
    assert load_batches(builds["full"]) == {1: added.total_rows}


def test_rebuild_without_new_rows_changes_nothing(tmp_path: Path) -> None:
    """Building again on unchanged files adds no load batch and leaves the marts and set-aside rows as
    they were (compared with a copy of the warehouse taken after the first build)."""
    data, workdir = tmp_path / "data", tmp_path / "dbt"
    data.mkdir()
    original_rows = write_generated(data)
    run_dbt(BUILD, workdir, vars={"raw_data_dir": str(data)})
    before = warehouse(tmp_path / "before")  # same file name, so its views still resolve
    before.parent.mkdir()
    shutil.copyfile(warehouse(workdir), before)
    run_dbt(BUILD, workdir, vars={"raw_data_dir": str(data)})
    assert load_batches(workdir) == {1: original_rows}  # the second run wrote no row
    assert compare_marts(workdir, before) == []
    for relation in QUARANTINE:
        assert row_set_differences(warehouse(workdir), before, relation) == []


def test_a_changed_as_of_date_or_time_zone_rebuilds_to_the_full_builds(tmp_path: Path) -> None:
    """The customer-month sums depend on an as_of_date var (payments after it are set aside) and on
    reporting_timezone (the months); built with other values, they rebuild themselves whole. Moving
    as_of_date back, forward again and changing the time zone each give what a full build gives."""
    data = tmp_path / "data"
    data.mkdir()
    write_generated(data)
    moving = tmp_path / "moving"
    run_dbt(BUILD, moving, vars={"raw_data_dir": str(data)})
    for settings in (
        {"as_of_date": "2024-06-15"},
        {"as_of_date": "2024-09-30"},
        {"as_of_date": "2024-09-30", "reporting_timezone": "Asia/Tokyo"},
    ):
        run_dbt(BUILD, moving, vars={"raw_data_dir": str(data), **settings})
        full = tmp_path / ("full_" + "_".join(settings.values()).replace("/", "_"))
        run_dbt(BUILD, full, vars={"raw_data_dir": str(data), **settings})
        assert compare_marts(moving, warehouse(full)) == []
        assert row_set_differences(warehouse(moving), warehouse(full), "quarantine.payments") == []
        with duckdb.connect(str(warehouse(moving)), read_only=True) as con:
            assert con.execute(
                f"select distinct load_batch, build_settings from {SUMMARIZED}"
            ).fetchall() == [
                (
                    1,
                    fingerprint(
                        f"reporting_timezone={settings.get('reporting_timezone', 'UTC')};"
                        f"as_of_date={settings['as_of_date']};input_mapping=None"
                    ),
                )
            ]


def test_a_new_row_with_an_old_id_is_a_duplicate_of_it(tmp_path: Path) -> None:
    """An appended row whose id (trimmed) is on an earlier row is set aside as a duplicate of it, as a
    full build does: with the same text elsewhere exact, else a conflict, whether the spaces are
    around the old id or the new one. The incremental run looks for the new ids among the old rows
    in two parts (macros/duplicate_rows.sql); each part is hit here."""
    data = tmp_path / "data"
    data.mkdir()
    original_rows = write_generated(data)
    payments = pq.read_table(data / "payments.parquet")
    ids = payments["payment_id"].to_pylist()
    ids[4] = f" {ids[4]} "  # line 5: spaces around an old id
    payments = payments.set_column(0, "payment_id", pa.array(ids))
    write_table(payments, data / "payments.parquet", "parquet")
    customers = pq.read_table(data / "customers.parquet")
    customer_ids = customers["customer_id"].to_pylist()
    customer_ids[2] = f"{customer_ids[2]} "  # line 3
    customers = customers.set_column(0, "customer_id", pa.array(customer_ids))
    write_table(customers, data / "customers.parquet", "parquet")
    incremental = tmp_path / "incremental"
    run_dbt(["run", *SKIP_SEGMENTS], incremental, vars={"raw_data_dir": str(data)})

    def with_values(table: pa.Table, row: int, **values: str) -> pa.Table:
        one = table.slice(row, 1)
        for column, value in values.items():
            one = one.set_column(one.schema.get_field_index(column), column, pa.array([value]))
        return one

    new_payments = [
        with_values(payments, 0),  # line n+1: the text of line 1 again
        with_values(payments, 1, amount="1234.5"),  # n+2: line 2's id, another amount
        with_values(payments, 4, payment_id=ids[4].strip()),  # n+3: line 5's id without its spaces
        with_values(payments, 2, payment_id=f"  {ids[2]}"),  # n+4: line 3's id with spaces
    ]
    write_table(pa.concat_tables([payments, *new_payments]), data / "payments.parquet", "parquet")
    customer_rows = customers.num_rows
    new_customers = [
        with_values(customers, 2, customer_id=customer_ids[2].strip()),  # line 3's id, no spaces
        with_values(customers, 0, country="ZZ"),  # line 1's id, another country
    ]
    write_table(pa.concat_tables([customers, *new_customers]), data / "customers.parquet", "parquet")
    run_dbt(["run", *SKIP_SEGMENTS], incremental, vars={"raw_data_dir": str(data)})
    full = tmp_path / "full"
    run_dbt(["run", *SKIP_SEGMENTS], full, vars={"raw_data_dir": str(data)})

    n = original_rows
    with duckdb.connect(str(warehouse(incremental)), read_only=True) as con:
        assert con.execute(
            "select source_line, reason from quarantine.payments where source_line > ? order by 1", [n]
        ).fetchall() == [
            (n + 1, "duplicate_payment_id_exact"),
            (n + 2, "duplicate_payment_id_conflict"),
            (n + 3, "duplicate_payment_id_exact"),
            (n + 4, "duplicate_payment_id_exact"),
        ]
        assert con.execute(
            "select source_line, reason from quarantine.customers where source_line > ? order by 1",
            [customer_rows],
        ).fetchall() == [
            (customer_rows + 1, "duplicate_customer_id_exact"),
            (customer_rows + 2, "duplicate_customer_id_conflict"),
        ]
    for relation in QUARANTINE:
        assert row_set_differences(warehouse(incremental), warehouse(full), relation) == []
    assert compare_marts(incremental, warehouse(full)) == []
