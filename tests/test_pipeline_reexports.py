"""`lifecycle run` on inputs that change shape between runs, as a scheduled daily run meets them: a plain
append stays incremental; a full re-export (newest first) with one more day and a corrected row, or
another data folder, is recognized by content, rebuilt whole with one line saying why, and exits 0.
Every time the published marts equal those of a fresh build of the same files, and the
lifecycle-state history and the run records survive the rebuilds and `--full-refresh`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from dbt_project_runner import run_dbt
from lifecycle.generate import DEFAULT_END, DEFAULT_START, generate, write_table
from lifecycle.pipeline import mart_checksums
from test_pipeline import lifecycle, record_of

pytestmark = pytest.mark.pipeline

REBUILT = "rebuilding the models whole"


def write_export(folder: Path, seed: int, payments: int = 3_000) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    generated, customers = generate(payments, seed, DEFAULT_START, DEFAULT_END)
    write_table(generated, folder / "payments.csv", "csv")
    write_table(customers, folder / "customers.csv", "csv")


def rows_of(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *rows])


def next_day(rows: list[list[str]], paid_at: int, count: int, prefix: str) -> list[list[str]]:
    """`count` copies of the last rows with new ids, dated a day after the latest payment."""
    latest = max(row[paid_at] for row in rows)
    day = f"{latest[:8]}{int(latest[8:10]) + 1:02d}" if latest[8:10] < "28" else latest[:10]
    return [
        [
            f"{prefix}{i}" if n == 0 else (day + "T12:00:00Z" if n == paid_at else value)
            for n, value in enumerate(row)
        ]
        for i, row in enumerate(rows[-count:])
    ]


def fresh_checksums(data: Path, workdir: Path) -> dict:
    """The marts of a plain full build of `data` into a new file."""
    run_dbt(["run"], workdir, vars={"raw_data_dir": str(data)})
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as con:
        return mart_checksums(con)


def history(warehouse: Path) -> tuple[int, int]:
    """(snapshot rows, recorded runs) of the published warehouse."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(versions,)] = con.execute("select count(*) from snapshots.snp_customer_lifecycle_states").fetchall()
        [(runs,)] = con.execute("select count(*) from ops.pipeline_runs").fetchall()
    return versions, runs


def test_reexports_appends_and_switched_sources(tmp_path: Path) -> None:
    data, warehouse = tmp_path / "data", tmp_path / "published" / "warehouse.duckdb"
    write_export(data, seed=5)
    first = lifecycle(["run", "--data-dir", str(data)], warehouse)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert REBUILT not in first.stdout

    # Day 2: rows appended at the end of the same file: incremental, no rebuild.
    header, rows = rows_of(data / "payments.csv")
    paid_at = header.index("paid_at")
    rows += next_day(rows, paid_at, 40, "day2_")
    write_rows(data / "payments.csv", header, rows)
    appended = lifecycle(["run", "--data-dir", str(data)], warehouse)
    assert appended.returncode == 0, appended.stdout[-3000:] + appended.stderr[-3000:]
    assert REBUILT not in appended.stdout
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "select distinct load_batch from intermediate.int_payments_summarized order by 1"
        ).fetchall() == [(1,), (2,)]
    assert record_of(appended)["mart_checksums"] == fresh_checksums(data, tmp_path / "fresh_append")

    # Day 3: the billing system re-exports its whole history newest first, with one more day and a
    # corrected amount on an old row.
    read_before = len(rows)
    rows += next_day(rows, paid_at, 25, "day3_")
    amount = header.index("amount")
    rows[10][amount] = f"{float(rows[10][amount]) + 1:.2f}"
    rows.sort(key=lambda row: row[paid_at], reverse=True)
    write_rows(data / "payments.csv", header, rows)
    reexported = lifecycle(["run", "--data-dir", str(data)], warehouse)
    assert reexported.returncode == 0, reexported.stdout[-3000:] + reexported.stderr[-3000:]
    rebuilt = [line for line in reexported.stdout.splitlines() if REBUILT in line]
    assert len(rebuilt) == 1, reexported.stdout[-3000:]
    expected = f"payments: not the earlier input with rows appended (the first {read_before:,} rows changed"
    assert expected in rebuilt[0], rebuilt
    assert record_of(reexported)["rebuilt_whole"]
    assert record_of(reexported)["mart_checksums"] == fresh_checksums(data, tmp_path / "fresh_reexport")

    # Another company's files in another folder: rebuilt whole, the line names both folders.
    other = tmp_path / "other"
    write_export(other, seed=9, payments=2_000)
    versions_before, runs_before = history(warehouse)
    switched = lifecycle(["run", "--data-dir", str(other)], warehouse)
    assert switched.returncode == 0, switched.stdout[-3000:] + switched.stderr[-3000:]
    assert str(other / "payments.csv") in "\n".join(
        line for line in switched.stdout.splitlines() if REBUILT in line
    )
    assert record_of(switched)["mart_checksums"] == fresh_checksums(other, tmp_path / "fresh_other")
    versions, runs = history(warehouse)
    assert versions >= versions_before and runs == runs_before + 1

    # --full-refresh rebuilds the models and keeps the history.
    refreshed = lifecycle(["run", "--data-dir", str(other), "--full-refresh"], warehouse)
    assert refreshed.returncode == 0, refreshed.stdout[-3000:] + refreshed.stderr[-3000:]
    assert history(warehouse) == (versions, runs + 1)
    assert record_of(refreshed)["mart_checksums"] == record_of(switched)["mart_checksums"]
