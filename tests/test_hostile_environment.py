"""Hostile paths and environment: glob characters and quotes in input paths, LIFECYCLE_TARGET set to
another engine, LIFECYCLE_DUCKDB_PATH naming a file that is not a DuckDB database."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dbt_project_runner import DbtFailed, read_table, run_dbt

pytestmark = pytest.mark.pipeline

LIFECYCLE = Path(sys.executable).with_name("lifecycle")
HEADER = "payment_id,customer_id,paid_at,amount,currency,status\n"


def lifecycle(args: list[str], warehouse: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LIFECYCLE_DUCKDB_PATH": str(warehouse), "DO_NOT_TRACK": "1", **(env or {})}
    return subprocess.run([str(LIFECYCLE), *args], env=env, capture_output=True, text=True, timeout=600)


def record_of(completed: subprocess.CompletedProcess) -> dict:
    last = completed.stdout.strip().splitlines()[-1]
    assert last.startswith("run record: "), completed.stdout[-2000:] + completed.stderr[-2000:]
    return json.loads(Path(last.removeprefix("run record: ")).read_text())


def payments(folder: Path, customer: str, rows: int = 3) -> Path:
    """A small payments.csv whose customer ids say which folder it came from."""
    folder.mkdir(parents=True)
    lines = [f"p{n},{customer},2024-0{n}-05T10:00:00Z,{10 * n},USD,succeeded\n" for n in range(1, rows + 1)]
    path = folder / "payments.csv"
    path.write_text(HEADER + "".join(lines))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["data[1]", "d?", "it's data"])
def test_a_data_dir_is_read_as_a_path_not_a_pattern(name: str, tmp_path: Path) -> None:
    """`data[1]` and `d?` would match the sibling folders data1 and d1 as glob patterns; a quote must
    not break the SQL. The run reads exactly the named folder's file and records its checksum."""
    wanted = payments(tmp_path / name, "wanted")
    payments(tmp_path / "data1", "decoy", rows=2)
    payments(tmp_path / "d1", "decoy", rows=2)
    warehouse = tmp_path / "warehouse.duckdb"
    completed = lifecycle(["run", "--data-dir", str(tmp_path / name), "--as-of", "2024-03-31"], warehouse)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select customer_id, purchase_count from marts.dim_customers").fetchall() == [
            ("wanted", 3)
        ]
        files = con.execute("select distinct _source_file from raw.payments").fetchall()
        assert files == [(str(wanted),)]
    [read] = record_of(completed)["inputs"]
    assert read["path"] == str(wanted) and read["sha256"] == sha256(wanted)


def test_check_reads_a_parquet_file_under_a_glob_named_folder(tmp_path: Path) -> None:
    for folder, customer in (("data[1]", "wanted"), ("data1", "decoy")):
        (tmp_path / folder).mkdir()
        with duckdb.connect() as con:
            con.execute(
                f"copy (select 'p1' as payment_id, '{customer}' as customer_id, "
                "'2024-01-05T10:00:00Z' as paid_at, '10' as amount, 'USD' as currency, "
                f"'succeeded' as status) to '{tmp_path / folder / 'payments.parquet'}' (format parquet)"
            )
    (tmp_path / "data1" / "payments.parquet").write_bytes(b"not parquet at all")
    completed = lifecycle(["check", "--data-dir", str(tmp_path / "data[1]")], tmp_path / "w.duckdb")
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "1 read =" in completed.stdout


def test_plain_dbt_refuses_a_raw_data_dir_with_glob_characters(tmp_path: Path) -> None:
    payments(tmp_path / "data[1]", "wanted")
    payments(tmp_path / "data1", "decoy")
    with pytest.raises(
        DbtFailed, match=r"invalid setting: raw_data_dir = .*data\[1\] contains a glob"
    ) as failed:
        run_dbt(["run"], tmp_path / "build", vars={"raw_data_dir": str(tmp_path / "data[1]")})
    assert "Parser Error" not in str(failed.value)


def test_plain_dbt_reads_a_raw_data_dir_with_a_quote(tmp_path: Path) -> None:
    payments(tmp_path / "it's data", "quoted")
    run_dbt(
        ["run", "--select", "+stg_billing__payments"],
        tmp_path / "build",
        vars={"raw_data_dir": str(tmp_path / "it's data")},
    )
    staged = read_table(tmp_path / "build", "staging.stg_billing__payments")
    assert staged["customer_id"].tolist() == ["quoted"] * 3


def test_lifecycle_target_of_another_engine_does_not_change_where_the_run_builds(tmp_path: Path) -> None:
    data = tmp_path / "data"
    payments(data, "c1")
    warehouse = tmp_path / "warehouse.duckdb"
    completed = lifecycle(
        ["run", "--data-dir", str(data), "--as-of", "2024-03-31"],
        warehouse,
        env={"LIFECYCLE_TARGET": "postgres"},
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select as_of_date from marts.dim_customers").fetchall() == [
            (dt.date(2024, 3, 31),)
        ]


def test_a_warehouse_path_that_is_not_a_duckdb_file_is_refused_untouched(tmp_path: Path) -> None:
    csv = tmp_path / "payments.csv"
    csv.write_text(HEADER + "p1,c1,2024-01-05T10:00:00Z,10,USD,succeeded\n" * 20)
    before = sha256(csv)
    completed = lifecycle(["run"], csv)
    assert completed.returncode == 2, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert completed.stderr.strip() == (
        f"usage error: LIFECYCLE_DUCKDB_PATH: {csv} is not a DuckDB database (no DUCK at byte 8) and was "
        "left untouched; point LIFECYCLE_DUCKDB_PATH at a DuckDB file or at a new path"
    )
    assert sha256(csv) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["payments.csv"]
