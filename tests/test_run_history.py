"""Run history: a run's record is written at its start as "running"; a later run marks a run that died
as killed in ops.pipeline_runs; only the newest LIFECYCLE_KEEP_RUNS records of a warehouse are kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from test_pipeline import dbt_under_way, killed_when

pytestmark = pytest.mark.pipeline

LIFECYCLE = Path(sys.executable).with_name("lifecycle")
RUNS = Path(__file__).resolve().parents[1] / "target" / "runs"


def records_of(warehouse: Path) -> dict[str, dict]:
    """The record files of runs on this warehouse, by run id."""
    found = {}
    for path in RUNS.glob("*.json"):
        try:
            item = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # another test's record being written
        if item.get("warehouse") == str(warehouse.resolve()):
            found[item["run_id"]] = item
    return found


def test_a_killed_run_is_recorded_as_killed_and_old_records_are_pruned(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    rows = [
        f"p{n},c{n % 7},2024-{1 + n % 6:02d}-{1 + n:02d}T10:00:00Z,{n}.50,USD,succeeded\n" for n in range(20)
    ]
    (data / "payments.csv").write_text(
        "payment_id,customer_id,paid_at,amount,currency,status\n" + "".join(rows)
    )
    warehouse = tmp_path / "warehouse.duckdb"
    env = {
        **os.environ,
        "LIFECYCLE_DUCKDB_PATH": str(warehouse),
        "DO_NOT_TRACK": "1",
        "LIFECYCLE_KEEP_RUNS": "2",
    }
    command = [str(LIFECYCLE), "run", "--data-dir", str(data)]

    seen = killed_when(command, env, dbt_under_way)
    assert any(" dbt " in line for line in seen), "".join(seen)
    [(killed_id, killed)] = records_of(warehouse).items()
    assert killed["outcome"] == "running" and killed["exit_code"] is None  # written at the start
    assert (RUNS / killed_id).is_dir()

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    second_id = json.loads(
        Path(second.stdout.strip().splitlines()[-1].removeprefix("run record: ")).read_text()
    )["run_id"]
    assert f"run {killed_id} did not finish (killed or crashed); recorded as killed" in second.stdout
    with duckdb.connect(str(warehouse), read_only=True) as con:
        runs = con.execute(
            "select run_id, outcome, exit_code, message from ops.pipeline_runs order by run_id"
        ).fetchall()
    assert runs == [
        (killed_id, "killed", None, f"found unfinished by run {second_id}: the run was killed or crashed"),
        (second_id, "success", 0, None),
    ]

    third = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
    kept = records_of(warehouse)
    assert len(kept) == 2 and killed_id not in kept and second_id in kept
    assert not (RUNS / killed_id).exists() and (RUNS / second_id).is_dir()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        outcomes = con.execute("select outcome from ops.pipeline_runs order by run_id").fetchall()
    assert outcomes == [("killed",), ("success",), ("success",)]


def test_a_bad_keep_runs_is_a_usage_error(tmp_path: Path) -> None:
    env = {**os.environ, "LIFECYCLE_DUCKDB_PATH": str(tmp_path / "w.duckdb"), "LIFECYCLE_KEEP_RUNS": "0"}
    completed = subprocess.run([str(LIFECYCLE), "run"], env=env, capture_output=True, text=True)
    assert completed.returncode == 2
    assert completed.stderr.strip() == (
        "usage error: LIFECYCLE_KEEP_RUNS: '0' is not allowed; give a whole number of runs, 1 or more"
    )
