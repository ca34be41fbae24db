"""`lifecycle run` end to end: publishing, run records, reruns, a killed run and concurrent readers."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.pipeline

LIFECYCLE = Path(sys.executable).with_name("lifecycle")


def lifecycle(args: list[str], warehouse: Path, **popen) -> subprocess.CompletedProcess:
    env = {**os.environ, "LIFECYCLE_DUCKDB_PATH": str(warehouse), "DO_NOT_TRACK": "1"}
    return subprocess.run([str(LIFECYCLE), *args], env=env, capture_output=True, text=True, **popen)


def killed_when(
    command: list[str], env: dict[str, str], reached: Callable[[str], bool], **popen
) -> list[str]:
    """Start `command` in a session of its own, read its output until `reached(line)`, then kill the
    whole session with SIGKILL; returns the lines seen."""
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        **popen,
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if reached(line):
            break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return seen


def dbt_under_way(line: str) -> bool:
    """A progress line of `lifecycle run` from inside dbt build."""
    return " dbt " in line and " of " in line


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record_of(completed: subprocess.CompletedProcess) -> dict:
    last = completed.stdout.strip().splitlines()[-1]
    assert last.startswith("run record: "), completed.stdout[-2000:]
    return json.loads(Path(last.removeprefix("run record: ")).read_text())


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The demo data run once into a fresh warehouse."""
    warehouse = tmp_path_factory.mktemp("published") / "warehouse.duckdb"
    completed = lifecycle(["run"], warehouse)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return warehouse, record_of(completed)


def test_run_publishes_the_marts_and_records_the_run(published: tuple[Path, dict]) -> None:
    warehouse, record = published
    assert record["outcome"] == "success" and record["exit_code"] == 0
    assert {row["table"]: row["rows_read"] for row in record["row_counts"]} == {
        "payments": 25_040,
        "customers": 2_994,
        "marketing_spend": 238,
    }
    assert all(
        row["rows_read"] == row["rows_accepted"] + row["rows_set_aside"] for row in record["row_counts"]
    )
    assert record["mart_checksums"]["dim_customers"]["rows"] == 3_039
    # Unit tests run in `make test` and CI, not in production runs.
    assert "unit_test" not in record["dbt"]["counts"]
    assert record["checks"] and all(check["success"] for check in record["checks"])
    assert not (warehouse.parent / f".{warehouse.name}.building").exists()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # Views still resolve after the swap (they name the catalog after the file).
        assert con.execute("select count(*) from staging.stg_billing__payments").fetchone() == (25_040,)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        runs = con.execute(
            "select run_id, outcome, rows_read, rows_set_aside from ops.pipeline_runs"
        ).fetchall()
        assert runs == [(record["run_id"], "success", 25_040 + 2_994 + 238, 0)]
        assert con.execute("select count(*) from marts.fct_churn_monthly").fetchone() == (34,)
    # The report beside the warehouse (tests/test_report.py checks what it shows).
    page = warehouse.with_name("warehouse_report.html").read_text(encoding="utf-8")
    assert "Customer lifecycle report" in page and f"Run <code>{record['run_id']}</code>" in page


def test_rerun_on_the_same_inputs_gives_identical_marts(published: tuple[Path, dict], tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(published[0].read_bytes())
    completed = lifecycle(["run"], warehouse)
    assert completed.returncode == 0, completed.stderr[-3000:]
    rerun = record_of(completed)
    assert rerun["mart_checksums"] == published[1]["mart_checksums"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from ops.pipeline_runs").fetchone() == (2,)
        # The snapshot saw the same as_of_date twice: no new versions.
        versions = con.execute(
            "select count(*), count(distinct customer_id) from snapshots.snp_customer_lifecycle_states"
        )
        rows, customers = versions.fetchone()
        assert rows == customers == 3_039


def test_check_validates_without_touching_the_warehouse(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    completed = lifecycle(["check"], warehouse)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "payments" in completed.stdout and "25,040 read = " in completed.stdout
    assert not warehouse.exists()


def test_inputs_with_nothing_accepted_are_invalid_input_found_by_dbt(tmp_path: Path) -> None:
    """dbt finds that no payment can be used (macros/input_checks.sql): exit 3, the cause and a fix on
    screen, not only the failed model's name; nothing is published."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "payments.csv").write_text(
        "payment_id,customer_id,paid_at,amount,currency,status\n"
        "p1,c1,not a date,10,USD,succeeded\n"
        "p2,c1,2024-01-01,ten,USD,succeeded\n"
    )
    warehouse = tmp_path / "warehouse.duckdb"
    # Every row set aside is allowed here, so the set-aside limit (checked after dbt) is not what fails.
    completed = lifecycle(["run", "--data-dir", str(data), "--max-set-aside-share", "1"], warehouse)
    assert completed.returncode == 3, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert (
        "  quarantine_input_row_counts (error): invalid input: payments: none of the 2 rows read could be "
        "used; every row was set aside" in completed.stderr
    )
    assert "    fix: compare the file with the input contract" in completed.stderr
    assert "run failed: dbt build failed: quarantine_input_row_counts (error)" in completed.stderr
    assert not warehouse.exists()
    record = record_of(completed)
    assert record["outcome"] == "failed" and record["exit_code"] == 3


def test_a_run_without_marketing_spend_says_so_in_one_line_and_succeeds(tmp_path: Path) -> None:
    """marketing_spend is optional: without it the run says in one line that the CAC-based columns are
    null, publishes, counts no spend input and leaves the monthly spend empty, with its columns."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "payments.csv").write_text(
        "payment_id,customer_id,paid_at,amount,currency,status\n"
        "p1,c1,2024-01-05T10:00:00Z,49.00,USD,succeeded\n"
        "p2,c2,2024-02-10T12:00:00Z,19.00,USD,succeeded\n"
    )
    warehouse = tmp_path / "warehouse.duckdb"
    completed = lifecycle(["run", "--data-dir", str(data)], warehouse)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    # The progress lines about the input, without their elapsed time (dbt's lines name the models).
    lines = [line.split("]", 1)[-1].strip() for line in completed.stdout.splitlines()]
    assert [line for line in lines if line.startswith("marketing_spend")] == [
        f"marketing_spend: not found in {data} (marketing_spend.csv or .parquet); "
        "CAC, LTV:CAC and payback columns are null"
    ]
    record = record_of(completed)
    assert [row["table"] for row in record["row_counts"]] == ["payments", "customers"]
    assert record["set_aside_by_reason"]["marketing_spend"] == {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from intermediate.int_marketing_spend_monthly").fetchone() == (0,)
        columns = con.execute("describe intermediate.int_marketing_spend_monthly").fetchall()
        assert [(name, kind) for name, kind, *_ in columns] == [
            ("month", "DATE"),
            ("acquisition_channel", "VARCHAR"),
            ("spend", "DECIMAL(18,4)"),
            ("spend_rows", "BIGINT"),
            ("new_customers", "BIGINT"),
            ("channel_has_customers", "BOOLEAN"),
        ]


def test_killed_run_leaves_the_published_warehouse_intact(
    published: tuple[Path, dict], tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(published[0].read_bytes())
    before = sha256(warehouse)
    env = {**os.environ, "LIFECYCLE_DUCKDB_PATH": str(warehouse), "DO_NOT_TRACK": "1"}
    seen = killed_when([str(LIFECYCLE), "run", "--as-of", "2025-06-30"], env, dbt_under_way)
    assert any(" dbt " in line for line in seen), "".join(seen)
    assert sha256(warehouse) == before
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert (
            con.execute("select max(month) from marts.fct_churn_monthly").fetchone()[0].isoformat()
            == "2025-10-01"
        )
    # The next run clears the half-built file and publishes.
    completed = lifecycle(["run", "--as-of", "2025-06-30"], warehouse)
    assert completed.returncode == 0, completed.stderr[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert (
            con.execute("select max(month) from marts.fct_churn_monthly").fetchone()[0].isoformat()
            == "2025-06-01"
        )


READER = textwrap.dedent(
    """
    import os, sys, time, duckdb
    path, mode, stop = sys.argv[1], sys.argv[2], sys.argv[3]
    held = duckdb.connect(path, read_only=True) if mode == "held" else None
    seen, errors, queries = set(), 0, 0
    deadline = time.monotonic() + 600  # a safety net: the test creates `stop` once the run is over
    while time.monotonic() < deadline and not os.path.exists(stop):
        try:
            con = held or duckdb.connect(path, read_only=True)
            seen.add(str(con.execute("select max(month) from marts.fct_churn_monthly").fetchone()[0]))
            con.execute("select count(*) from marts.fct_customer_months").fetchone()
            if held is None:
                con.close()
            queries += 1
        except Exception as error:
            errors += 1
            print("ERROR", type(error).__name__, error, flush=True)
        time.sleep(0.05)
    print("RESULT", queries, errors, ",".join(sorted(seen)), flush=True)
    """
)


def test_readers_keep_working_while_a_run_builds_and_publishes(
    published: tuple[Path, dict], tmp_path: Path
) -> None:
    """A reader holding one connection keeps reading the old warehouse; a reader opening new
    connections sees the old one, then the new one after the swap, and never an error or a half build."""
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(published[0].read_bytes())
    stop = tmp_path / "stop"
    readers = {
        mode: subprocess.Popen(
            [sys.executable, "-c", READER, str(warehouse), mode, str(stop)], stdout=subprocess.PIPE, text=True
        )
        for mode in ("held", "fresh")
    }
    time.sleep(1.0)
    completed = lifecycle(["run", "--as-of", "2025-06-30"], warehouse)
    assert completed.returncode == 0, completed.stderr[-3000:]
    # The readers go on for a moment after the swap, however long the run took, then stop.
    time.sleep(1.0)
    stop.touch()
    results = {}
    for mode, reader in readers.items():
        output, _ = reader.communicate(timeout=120)
        result = [line for line in output.splitlines() if line.startswith("RESULT")][0].split()
        results[mode] = (int(result[1]), int(result[2]), result[3].split(","))
        assert results[mode][1] == 0, output
        assert results[mode][0] > 50, output
    assert results["held"][2] == ["2025-10-01"]
    assert results["fresh"][2] == ["2025-06-01", "2025-10-01"]
