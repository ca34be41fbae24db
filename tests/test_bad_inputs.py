"""The bad-input corpus: every folder under tests/bad_inputs/ is one case, run through `lifecycle`.

A case folder holds small text input files and `case.json`:

    description      what is wrong with the input and what should happen
    command          "run" or "check"
    args             extra CLI arguments, e.g. ["--as-of", "2024-03-31"]
    exit_code        0 ok, 2 usage, 3 invalid input files, ...
    stderr_regex     searched (multi-line) in stderr; for file-level cases it names the file and the problem
    stdout_regex     optional, searched (multi-line) in stdout
    set_aside        {"payments": {reason: count}, "customers": {...}, "marketing_spend": {...}}: every
                     set-aside row, by reason
    quarantine_rows  exact set-aside rows: table, source_line, reason and any original-text columns
                     ("" also matches NULL: an empty CSV field is loaded as NULL)
    rows             {"payments": {"read": N, "accepted": N, "set_aside": N}, "customers": {...}};
                     a table left out must have read nothing (marketing_spend is then absent from
                     quarantine.input_row_counts, which lists it only when its input has rows)
    sql_checks       optional [{"sql": ..., "expect": [[...], ...]}] run on the published warehouse
    generate         optional {file name: spec}: files built here at run time, so nothing binary is
                     committed (encodings, byte order marks, CRLF, cut-off bytes, Parquet)
    data_dir         optional path, relative to the case's data folder, passed as --data-dir instead
    existing_warehouse  optional: publish a sentinel warehouse first and check it is left byte for byte
    env              optional extra environment variables for the command

Cases exiting non-zero must leave the warehouse as it was (absent, or the sentinel unchanged). Cases
exiting 0 are checked against the published warehouse's quarantine tables and the run record.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

pytestmark = pytest.mark.pipeline

CASES_DIR = Path(__file__).parent / "bad_inputs"
CASES = sorted(path.name for path in CASES_DIR.iterdir() if (path / "case.json").is_file())
LIFECYCLE = Path(sys.executable).with_name("lifecycle")
TIMEOUT_SECONDS = 600
TRACEBACK = "Traceback (most recent call last)"
INPUT_TABLES = ("payments", "customers", "marketing_spend")
# Optional inputs with a row in quarantine.input_row_counts only when they have rows.
COUNTED_WHEN_READ = ("marketing_spend",)
BOMS = {"utf-8": codecs.BOM_UTF8, "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}


def load_case(name: str) -> dict:
    spec = json.loads((CASES_DIR / name / "case.json").read_text(encoding="utf-8"))
    assert spec["command"] in ("run", "check"), name
    return spec


# ------------------------------------------------------------------------------------ input files


def build_data_dir(name: str, spec: dict, data_dir: Path) -> None:
    """The case's committed files plus the ones its spec says to generate."""
    data_dir.mkdir(parents=True)
    for path in (CASES_DIR / name).iterdir():
        if path.is_file() and path.name != "case.json":
            shutil.copyfile(path, data_dir / path.name)
    for file_name, file_spec in spec.get("generate", {}).items():
        write_generated(data_dir / file_name, file_spec)


def write_generated(path: Path, spec: dict) -> None:
    if "parquet" in spec:
        write_parquet(path, spec["parquet"])
        data = path.read_bytes()
        if "keep_fraction" in spec:
            path.write_bytes(data[: int(len(data) * spec["keep_fraction"])])
        return
    newline = spec.get("newline", "\n")
    text = newline.join(spec["lines"]) + (newline if spec.get("final_newline", True) else "")
    encoding = spec.get("encoding", "utf-8")
    data = (BOMS[encoding] if spec.get("bom") else b"") + text.encode(encoding)
    if spec.get("truncate_bytes"):
        data = data[: -spec["truncate_bytes"]]
    path.write_bytes(data)


def write_parquet(path: Path, spec: dict) -> None:
    """A Parquet file with typed columns; values are given as text (null = None) and cast to the type."""
    columns = list(spec["columns"])
    frame = pd.DataFrame(spec["rows"], columns=columns, dtype=object)
    frame["_row"] = range(len(frame))
    selected = ", ".join(f'cast("{name}" as {kind}) as "{name}"' for name, kind in spec["columns"].items())
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.register("source_rows", frame)
        con.execute(f"copy (select {selected} from source_rows order by _row) to '{path}' (format parquet)")


# ---------------------------------------------------------------------------------------- running


def run_lifecycle(spec: dict, data_dir: Path, warehouse: Path, workdir: Path) -> subprocess.CompletedProcess:
    # The corpus is about what is read and set aside: its runs leave the report out (test_report.py).
    report = ["--no-report"] if spec["command"] == "run" else []
    command = [str(LIFECYCLE), spec["command"], "--data-dir", str(data_dir), *report, *spec.get("args", [])]
    env = {key: value for key, value in os.environ.items() if key != "LIFECYCLE_DEBUG"}
    env.update({"LIFECYCLE_DUCKDB_PATH": str(warehouse), "DO_NOT_TRACK": "1", **spec.get("env", {})})
    return subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
    )


def publish_sentinel(warehouse: Path) -> str:
    """A stand-in for an earlier published warehouse; returns its sha256."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table sentinel as select 42 as answer")
        con.execute("checkpoint")
    return sha256(warehouse)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(warehouse: Path) -> list[str]:
    """Build or write-ahead files a run must not leave next to the published warehouse."""
    names = [f".{warehouse.name}.building", warehouse.name + ".wal"]
    return [name for name in names if warehouse.with_name(name).exists()]


def run_record(stdout: str) -> dict:
    lines = stdout.rstrip().splitlines()
    assert lines, "no output on stdout"
    match = re.fullmatch(r"run record: (.+)", lines[-1])
    assert match, f"the last stdout line is not 'run record: <path>': {lines[-1]!r}"
    return json.loads(Path(match.group(1)).read_text())


# ------------------------------------------------------------------------------------------ checks


def same_text(expected, actual) -> bool:
    """Original text compared exactly, except that an empty field ("") may have been loaded as NULL."""
    if expected == "":
        return actual in ("", None)
    return expected == actual


def normalized(value):
    if isinstance(value, float) and not math.isnan(value):
        return round(value, 6)
    if isinstance(value, (list, tuple)):
        return [normalized(item) for item in value]
    return value


def input_file_name(data_dir: Path, table: str) -> str:
    present = [f"{table}.{ext}" for ext in ("csv", "parquet") if (data_dir / f"{table}.{ext}").exists()]
    assert len(present) == 1, f"{table}: expected one input file, found {present}"
    return present[0]


def check_published(spec: dict, data_dir: Path, warehouse: Path, stdout: str) -> None:
    assert warehouse.exists(), "exit 0 but no warehouse was published"
    assert not leftovers(warehouse), f"left behind: {leftovers(warehouse)}"
    expected_reasons = {table: spec.get("set_aside", {}).get(table, {}) for table in INPUT_TABLES}
    empty = {"read": 0, "accepted": 0, "set_aside": 0}
    expected_rows = {table: spec.get("rows", {}).get(table, empty) for table in INPUT_TABLES}
    for table, counts in expected_rows.items():
        assert counts["read"] == counts["accepted"] + counts["set_aside"], f"case.json rows for {table}"
        assert counts["set_aside"] == sum(expected_reasons[table].values()), f"case.json reasons, {table}"
    expected_rows = {
        table: counts
        for table, counts in expected_rows.items()
        if table not in COUNTED_WHEN_READ or counts["read"] > 0
    }

    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in INPUT_TABLES:
            reasons = dict(
                con.execute(f"select reason, count(*) from quarantine.{table} group by reason").fetchall()
            )
            assert reasons == expected_reasons[table], f"quarantine.{table} by reason"

        counts = {
            table: {"read": read, "accepted": accepted, "set_aside": set_aside}
            for table, read, accepted, set_aside in con.execute(
                "select input_table, rows_read, rows_accepted, rows_set_aside "
                "from quarantine.input_row_counts"
            ).fetchall()
        }
        assert counts == expected_rows, "quarantine.input_row_counts"

        for expected in spec.get("quarantine_rows", []):
            table, line = expected["table"], expected["source_line"]
            cursor = con.execute(f"select * from quarantine.{table} where source_line = ?", [line])
            names = [column[0] for column in cursor.description]
            found = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            assert len(found) == 1, f"quarantine.{table}: {len(found)} rows with source_line {line}: {found}"
            row = found[0]
            file_name = input_file_name(data_dir, table)
            assert row["source_file"].endswith("/" + file_name), f"quarantine.{table} line {line}: {row}"
            assert row["reason"] == expected["reason"], f"quarantine.{table} line {line}: {row}"
            for column, value in expected.items():
                if column not in ("table", "source_line", "reason"):
                    assert same_text(value, row[column]), f"quarantine.{table} line {line} {column}: {row}"

        for check in spec.get("sql_checks", []):
            actual = normalized([list(row) for row in con.execute(check["sql"]).fetchall()])
            assert actual == normalized(check["expect"]), check["sql"]

    record = run_record(stdout)
    assert record["exit_code"] == 0 and record["outcome"] == "success", record.get("message")
    record_counts = {
        row["table"]: {
            "read": row["rows_read"],
            "accepted": row["rows_accepted"],
            "set_aside": row["rows_set_aside"],
        }
        for row in record["row_counts"]
    }
    assert record_counts == expected_rows, "run record row_counts"
    assert record["set_aside_by_reason"] == expected_reasons, "run record set_aside_by_reason"


def check_untouched(spec: dict, warehouse: Path, sentinel: str | None, stdout: str, stderr: str) -> None:
    if sentinel is None:
        assert not warehouse.exists(), "a failed command created the warehouse"
    else:
        assert warehouse.exists() and sha256(warehouse) == sentinel, "a failed command changed the warehouse"
    assert not leftovers(warehouse), f"left behind: {leftovers(warehouse)}"
    if spec["command"] == "run" and spec["exit_code"] != 2:
        record = run_record(stdout)
        assert record["exit_code"] == spec["exit_code"] and record["outcome"] == "failed"
        assert record["message"] and record["message"] in stderr, "the run record's message is not on stderr"


# -------------------------------------------------------------------------------------------- test


@pytest.mark.parametrize("name", CASES)
def test_bad_input(name: str, tmp_path: Path) -> None:
    spec = load_case(name)
    data_dir = tmp_path / "data"
    build_data_dir(name, spec, data_dir)
    warehouse = tmp_path / "published" / "warehouse.duckdb"
    sentinel = publish_sentinel(warehouse) if spec.get("existing_warehouse") else None

    result = run_lifecycle(spec, data_dir / spec.get("data_dir", "."), warehouse, tmp_path)

    output = f"\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert TRACEBACK not in result.stdout + result.stderr, "a traceback was printed" + output
    assert result.returncode == spec["exit_code"], f"{spec['description']}{output}"
    if spec.get("stderr_regex"):
        assert re.search(spec["stderr_regex"], result.stderr, re.MULTILINE), (
            f"stderr does not match {spec['stderr_regex']!r}{output}"
        )
    if spec.get("stdout_regex"):
        assert re.search(spec["stdout_regex"], result.stdout, re.MULTILINE), (
            f"stdout does not match {spec['stdout_regex']!r}{output}"
        )
    if spec["exit_code"] == 0:
        check_published(spec, data_dir, warehouse, result.stdout)
        assert not warehouse.with_name("warehouse_report.html").exists(), "--no-report wrote the report"
        assert "Report: " not in result.stdout
    else:
        check_untouched(spec, warehouse, sentinel, result.stdout, result.stderr)


def test_corpus_is_complete() -> None:
    """Every case is well-formed and the corpus keeps at least 24 cases."""
    assert len(CASES) >= 24
    for name in CASES:
        spec = load_case(name)
        assert spec["description"] and isinstance(spec["exit_code"], int), name
        if spec["exit_code"] == 0:
            assert spec["command"] == "run" and "rows" in spec, name
        else:
            assert spec["stderr_regex"], name
