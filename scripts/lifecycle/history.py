"""Run history: the record files under target/runs/, from a run's start to their pruning.

A run writes `target/runs/<run_id>.json` with outcome "running" as soon as it holds the warehouse lock,
and again when it ends. A "running" record of the same warehouse found by a later run that holds the
lock belongs to a run that did not end (killed, or its machine went down): it is marked "killed"
before the later run copies the records into ops.pipeline_runs. At the end of each run the records of
its warehouse beyond the newest LIFECYCLE_KEEP_RUNS (default 50) are deleted with their dbt target
folders `target/runs/<run_id>/`. docs/pipeline.md, "Run history".
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from lifecycle.paths import PROJECT_DIR

# dbt target folders with no record file (those of `lifecycle check`, or of a run killed before its
# record was written) are deleted once they are this old; younger ones may belong to a command still
# running.
ORPHAN_FOLDER_SECONDS = 24 * 3600


def records_dir() -> Path:
    return PROJECT_DIR / "target" / "runs"


def write(record: dict) -> Path:
    directory = records_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{record['run_id']}.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(record, indent=2, default=str))
    os.replace(temporary, path)
    return path


def _records(warehouse: str) -> list[tuple[Path, dict]]:
    """The record files of runs on `warehouse`, oldest first (run ids start with their start time)."""
    directory = records_dir()
    if not directory.exists():
        return []
    found = []
    for path in sorted(directory.glob("*.json")):
        try:
            item = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if item.get("warehouse") == warehouse and item.get("command") == "run":
            found.append((path, item))
    return found


def mark_killed(warehouse: str, current_run_id: str) -> list[str]:
    """Mark the unfinished runs of `warehouse` as killed. Call only while holding the warehouse lock:
    a run that still lived would hold it, so a "running" record of another run is one that died."""
    marked = []
    for _path, item in _records(warehouse):
        if item.get("outcome") == "running" and item.get("run_id") != current_run_id:
            item.update(
                outcome="killed",
                exit_code=None,
                message=f"found unfinished by run {current_run_id}: the run was killed or crashed",
            )
            write(item)
            marked.append(item["run_id"])
    return marked


def prune(warehouse: str, keep: int) -> list[str]:
    """Delete the records of `warehouse` beyond the newest `keep`, and their dbt target folders, and
    record-less target folders older than a day. Running records are never deleted."""
    records = _records(warehouse)
    deleted = []
    for path, item in records[: max(len(records) - keep, 0)]:
        if item.get("outcome") == "running":
            continue
        shutil.rmtree(path.with_suffix(""), ignore_errors=True)
        path.unlink(missing_ok=True)
        deleted.append(item["run_id"])
    directory = records_dir()
    if directory.exists():
        now = time.time()
        for folder in directory.iterdir():
            try:
                orphan = folder.is_dir() and not folder.with_suffix(".json").exists()
                old = now - folder.stat().st_mtime > ORPHAN_FOLDER_SECONDS
            except OSError:
                continue
            if orphan and old:
                shutil.rmtree(folder, ignore_errors=True)
    return deleted
