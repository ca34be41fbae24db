"""Benchmark: the dbt build of the core marts against hand-written DuckDB SQL, pandas and polars.

    .venv/bin/python benchmark/benchmark.py                  # 1M and 10M payments
    .venv/bin/python benchmark/benchmark.py --sizes 1000000 10000000 50000000

The baselines are the `baselines` package beside this script (benchmark/baselines/), kept out of the
installed `lifecycle` package; the data comes from `lifecycle.generate`.

For each size: generate the payments (Parquet, deterministic), then run each implementation in its own
process and record its wall time and peak resident memory:
  - dbt models only: the core models (`dbt run --exclude tag:segments`, the marts the baselines also
    build) and every model (`dbt run`: segments, LTV and the predicted CLV included, with the time of
    each segment model in its note), and the full build with every data test and the snapshot
    (`dbt build --exclude test_type:unit`), from the raw files (`raw_data_dir`) into a fresh DuckDB
    file: the whole dbt process, start-up included; the project is parsed once beforehand (untimed)
    and every invocation shares the target folder, as a scheduled run's would;
  - an incremental `dbt run` on a copy of the models-only warehouse after `append_day` added one day
    (and a few late rows) to a copy of the data, compared with its full build;
  - the hand-written DuckDB SQL baseline (into a DuckDB file), and pandas and polars (in memory). These
    time only the build inside their process, without interpreter start-up and imports.
Every result is compared with the dbt marts (the baselines with `dbt run`'s, the incremental run with
the hand-written SQL on the appended data) in a process of its own, under DuckDB's memory limit,
after the build's timing and peak memory are taken, so the check costs nothing in the figures: the
hand-written SQL's DuckDB file is read as it is, and pandas and polars write their marts to Parquet
once their build is timed. A difference is reported in the note, not raised. Prints the figures,
ratios and the targets' verdicts, and writes them to docs/benchmarks.md.

Each timed run is repeated (`--repeat`, by default 3 times up to 10M payments and once above) and
the median wall time is reported, with the largest peak memory. After the other measurements of a
size, `--rounds` more rounds (by default 2 at a size measured once) run the core `dbt run` and each baseline
once, back to back, and their rows report the medians of all their runs: the machine's speed drifts
over a benchmark by more than some of the ratios measure, and runs made close together share it.
DuckDB's memory limit is `--memory-limit` (default 3GB, or LIFECYCLE_MEMORY_LIMIT) for dbt and the
hand-written SQL alike; LIFECYCLE_THREADS sets threads. pandas and polars have no such setting: a run
of theirs that grows past `--dataframe-memory-cap` (default 80% of the machine's memory) is stopped
and reported as not finished, rather than letting the machine swap or the kernel kill something
else; stopped after its build reported its time (while writing its marts out), its build time
counts, uncompared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]
NOT_FINISHED = "DID NOT FINISH: "  # how the note of a run stopped at the memory cap starts
PYTHON = sys.executable
DBT = str(Path(sys.executable).with_name("dbt"))
LIFECYCLE = str(Path(sys.executable).with_name("lifecycle"))
SEED = 20241123
APPEND_SEED = 1
ANSI = re.compile(r"\x1b\[[0-9;]*m")
RESULT = "BENCHMARK-RESULT "  # prefix of the JSON lines an implementation's process prints

DBT_RUN = "dbt run (models only)"
# The models before segments, LTV and the predicted CLV (issue 17): the same marts the baselines build.
DBT_CORE_RUN = "dbt run without tag:segments"
SEGMENTS = "tag:segments"
DBT_BUILD = "dbt build (models + data tests)"
DBT_INCREMENTAL = "dbt incremental run (one appended day)"
DBT_REEXPORT = "dbt run after a re-export (reshuffled, one more day)"
RESHUFFLE_SEED = 2
# Dashboard queries (issue 18): benchmark/dashboard_queries.sql against the models-only warehouse,
# with fct_customer_months and dim_customers as views (the default) and stored as tables.
DASHBOARD_QUERIES = PROJECT_DIR / "benchmark" / "dashboard_queries.sql"
DASHBOARD_VIEWS = "dashboard queries (customer marts as views)"
DASHBOARD_STORED = "dashboard queries (customer marts stored)"
DBT_STORE = "dbt run storing the customer marts as tables"
STORE_VARS = {"store_customer_marts": True}
QUERY_RUNS = 20  # runs of each query, fewer once a query has taken QUERY_BUDGET_SECONDS (at least 3)
QUERY_BUDGET_SECONDS = 15.0
SQL = "hand-written DuckDB SQL"
BASELINES = {"duckdb_sql": SQL, "polars_impl": "polars", "pandas_impl": "pandas"}


@dataclass
class Measurement:
    name: str
    seconds: float | None  # None: the run failed
    peak_mb: float | None
    note: str = ""
    stopped_after: float | None = None  # seconds, for a run stopped at the memory cap
    latencies: dict[str, list[float]] | None = None  # dashboard queries: name -> [p50, p95, runs, rows]


def measure(
    name: str, command: list[str], env: dict[str, str] | None = None, memory_cap_mb: float | None = None
) -> tuple[Measurement, str]:
    """Run `command` to completion: its wall time and peak RSS (wait4), and its output. A failure is
    recorded in the note, with the end of the output printed, so one broken run does not lose the rest.
    With `memory_cap_mb`, the process is stopped once its resident memory passes the cap."""
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=PROJECT_DIR,
        env={**os.environ, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.append(process.stdout.read() if process.stdout else ""))
    reader.start()
    capped = False
    while True:
        # wait4 (not Popen.poll, which would reap the child first) gives the child's peak RSS.
        pid, status, usage = os.wait4(process.pid, 0 if memory_cap_mb is None else os.WNOHANG)
        if pid != 0:
            break
        if resident_mb(process.pid) > memory_cap_mb:
            capped = True
            process.kill()
            _, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.2)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    reader.join()
    output = "".join(chunks)
    code = os.waitstatus_to_exitcode(status)
    if capped:
        note = f"{NOT_FINISHED}stopped after {seconds:.0f} s at the {memory_cap_mb / 1024:.0f} GB memory cap"
        print(f"  {name}: {note}", flush=True)
        return Measurement(name, None, usage.ru_maxrss / 1024, note, stopped_after=seconds), output
    if code != 0:
        print(f"  {name} failed ({code}):\n{output[-4000:]}", flush=True)
        return Measurement(name, None, None, f"FAILED (exit {code}): {failure_line(output)[:200]}"), output
    return Measurement(name, seconds, usage.ru_maxrss / 1024), output


def resident_mb(pid: int) -> float:
    """A running process's resident memory (0 once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def repeated(times: int, run: Callable[[int], Measurement]) -> Measurement:
    """`run(i)` for i in range(times), `combined`."""
    return combined([run(i) for i in range(times)])


def combined(runs: list[Measurement]) -> Measurement:
    """Runs of one measurement as one: the median wall time and the largest peak memory, the note of
    the first run, and every run's time; a failed (or stopped) run makes the measurement failed, its
    note followed by how every run ended."""
    times = len(runs)
    failed = next((r for r in runs if r.seconds is None), None)
    if failed is not None:
        if times == 1:
            return failed
        return replace(failed, note=f"{failed.note}; the {times} runs: {', '.join(map(outcome, runs))}")
    seconds = [r.seconds for r in runs if r.seconds is not None]
    median = statistics.median(seconds)
    peak = max(r.peak_mb or 0.0 for r in runs)
    note = runs[0].note
    if times > 1:
        note = f"median of {', '.join(f'{t:.1f}' for t in seconds)} s; {note}".rstrip("; ")
    return Measurement(runs[0].name, median, peak, note)


def outcome(run: Measurement) -> str:
    """How one run ended, in a few words."""
    if run.seconds is not None:
        return f"{run.seconds:.1f} s"
    if run.stopped_after is not None:
        return f"stopped after {run.stopped_after:.0f} s"
    return "failed"


def failure_line(output: str) -> str:
    """The line of a failed run's output that says what went wrong: a Python exception's last line,
    else dbt's first error line, else the last line."""
    lines = [ANSI.sub("", line).strip() for line in output.splitlines()]
    lines = [line for line in lines if line]
    exception = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Invalid)\b.*:", line)]
    errors = [line for line in lines if re.search(r"\bError\b", line)]
    return exception[-1] if exception else errors[0] if errors else lines[-1] if lines else ""


def generate(size: int, root: Path) -> Path:
    """The generated data for `size` payments, made once per work directory."""
    data = root / f"payments_{size}"
    if not (data / "payments.parquet").exists() or not (data / "customers.parquet").exists():
        data.mkdir(parents=True, exist_ok=True)
        measured, output = measure(
            f"generate {size:,}",
            [LIFECYCLE, "generate", "--payments", str(size), "--seed", str(SEED), "--out", str(data)],
        )
        if measured.seconds is None:
            raise SystemExit(f"could not generate {size:,} payments:\n{output[-2000:]}")
        print(f"  generated {size:,} payments in {measured.seconds:.1f} s", flush=True)
    return data


def warehouse_in(folder: Path) -> Path:
    """The DuckDB file of the dbt build in `folder`. Always named warehouse.duckdb: dbt-duckdb names
    the catalog after the file, views in it (models materialized as views) refer to that name, and
    `compare_with_warehouse` attaches the file under the name `warehouse`, so only then do they resolve."""
    return folder / "warehouse.duckdb"


def dbt_command(command: str, data: Path, target: Path, dbt_vars: dict | None = None) -> list[str]:
    """A dbt command on the files in `data` (and `dbt_vars`), with its target and log folders in `target`."""
    return [
        DBT,
        command,
        "--vars",
        json.dumps({"raw_data_dir": str(data), **(dbt_vars or {})}),
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
    ]


def dbt(
    name: str,
    command: str,
    data: Path,
    folder: Path,
    target: Path,
    fresh: bool = True,
    extra: list[str] | None = None,
    dbt_vars: dict | None = None,
) -> Measurement:
    """`dbt run` or `dbt build` (without unit tests) from the files in `data` into the warehouse in
    `folder`; with `fresh`, into a new file, else on top of what it holds (an incremental run).
    Every invocation of a size shares `target`, so dbt re-reads its parsed project as a scheduled run
    would (the first parse is done before any timing, by `warm_up`)."""
    database = warehouse_in(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if fresh:
        database.unlink(missing_ok=True)
        database.with_name(database.name + ".wal").unlink(missing_ok=True)
    args = dbt_command(command, data, target, dbt_vars)
    if command == "build":
        args += ["--exclude", "test_type:unit"]
    args += extra or []
    measured, output = measure(name, args, env={"LIFECYCLE_DUCKDB_PATH": str(database)})
    if measured.seconds is not None:
        done = [line for line in output.splitlines() if "Done. PASS=" in line]
        measured.note = done[-1].split("Done. ", 1)[1].strip() if done else ""
        if name == DBT_RUN:
            measured.note = "; ".join(part for part in (measured.note, segment_times(output)) if part)
    return measured


def segment_times(output: str) -> str:
    """Where a whole run's time beyond the core models goes: dbt's own time of each segment model."""
    times = {}
    for line in ANSI.sub("", output).splitlines():
        found = re.search(r"OK created \w+ \w+ model \w+\.(\w+) .*? in ([0-9.]+)s\]", line)
        if found and found.group(1) in SEGMENT_MODELS:
            times[found.group(1)] = float(found.group(2))
    if not times:
        return ""
    listed = ", ".join(
        f"{model} {seconds:.1f}" for model, seconds in sorted(times.items(), key=lambda kv: -kv[1])
    )
    return f"segment models {sum(times.values()):.1f} s: {listed}"


def tagged_models(tag: str) -> set[str]:
    """The models dbt_project.yml gives `tag` (as `model_name: {+tags: [...]}` entries)."""
    import yaml

    found: set[str] = set()

    def walk(config: Any) -> None:
        if isinstance(config, dict):
            for key, value in config.items():
                if isinstance(value, dict) and tag in (value.get("+tags") or []) and not key.startswith("+"):
                    found.add(key)
                walk(value)

    walk(yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text()).get("models"))
    return found


# The models tagged `segments` in dbt_project.yml.
SEGMENT_MODELS = tagged_models(SEGMENTS.split(":", 1)[1])


def baseline(
    kind: str,
    data: Path,
    warehouse: Path | None,
    database: Path,
    reference: str = "the dbt marts",
    memory_cap_mb: float | None = None,
) -> Measurement:
    """Run one implementation in its own process (`_implementation` below), then, with `warehouse`
    (described as `reference`), compare the marts it stored with it in another (`_compare`). The
    comparison reads the hand-written SQL's DuckDB file, or the Parquet files pandas and polars write
    their marts to after their build is timed; it runs under DuckDB's memory limit, and neither its
    time nor its memory is in the figures."""
    command = [PYTHON, __file__, "_implementation", kind, str(data), str(database), str(bool(warehouse))]
    measured, output = measure(BASELINES[kind], command, memory_cap_mb=memory_cap_mb)
    figures = build_figures(measured, output, reference)
    stored = reported(output, "stored")
    if warehouse is None or figures.seconds is None or figures.note or stored is None:
        return figures
    comparison = [PYTHON, __file__, "_compare", stored, str(warehouse), str(database.parent)]
    comparing, compared = measure(f"comparing {BASELINES[kind]}", comparison)
    if Path(stored).is_dir():
        shutil.rmtree(stored)
    if comparing.seconds is None:
        figures.note = f"not compared with {reference}: {comparing.note}"
    else:
        figures.note = identity_note(reported(compared, "differences"), reference)
    return figures


def reported(output: str, key: str) -> Any:
    """The value of `key` in the first result line of a child process's `output` that has it."""
    results = [json.loads(line[len(RESULT) :]) for line in output.splitlines() if line.startswith(RESULT)]
    return next((r[key] for r in results if key in r), None)


def build_figures(measured: Measurement, output: str, reference: str) -> Measurement:
    """An implementation's build time and peak memory, as its process reported them. A process
    stopped at the memory cap after it reported its build time had finished the build: it was stopped
    while writing its marts out, so its build counts, uncompared."""
    timing = reported(output, "seconds")
    if measured.stopped_after is not None and timing is not None:
        stopped = measured.note.removeprefix(NOT_FINISHED)
        note = f"not compared with {reference}: {stopped} while writing its marts"
        return Measurement(measured.name, timing, reported(output, "peak_mb"), note)
    if measured.seconds is None:
        return measured
    if timing is None:
        return Measurement(measured.name, None, None, "FAILED: no timing reported")
    return Measurement(measured.name, timing, reported(output, "peak_mb"))


def identity_note(differences: list[str] | None, reference: str) -> str:
    if differences is None:
        return f"not compared with {reference}: not built"
    if not differences:
        return f"identical to {reference}"
    shown = "; ".join(d[:160] for d in differences[:3])
    return f"DIFFERS from {reference} ({len(differences)} differences): {shown}"


def run_implementation(kind: str, data: str, database: str, store: str) -> int:
    """Inside an implementation's own process: build the marts (timed: only the build, after the
    imports) and report the time and the peak RSS so far; with `store` ("True"), report where the
    marts are for the comparison: the hand-written SQL's DuckDB file, or a folder of Parquet files
    beside it that pandas and polars write theirs to."""
    implementation = importlib.import_module(f"baselines.{kind}")
    started = time.perf_counter()
    if kind == "duckdb_sql":
        implementation.build(Path(data), database=Path(database))
    else:
        marts = implementation.build(Path(data))
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(RESULT + json.dumps({"seconds": seconds, "peak_mb": peak_mb}), flush=True)
    if store == "True":
        stored = Path(database)
        if kind != "duckdb_sql":
            from baselines.compare import write_marts

            stored = write_marts(marts, stored.with_suffix(".marts"))
        print(RESULT + json.dumps({"stored": str(stored)}), flush=True)
    return 0


def run_comparison(stored: str, warehouse: str, spill_directory: str) -> int:
    """Inside its own process: compare the marts in `stored` (a DuckDB file or a folder of Parquet
    files) with `warehouse`, under the benchmark's DuckDB memory limit."""
    from baselines.compare import compare_with_warehouse

    differences = compare_with_warehouse(
        Path(stored), Path(warehouse), os.environ.get("LIFECYCLE_MEMORY_LIMIT"), Path(spill_directory)
    )
    print(RESULT + json.dumps({"differences": differences}), flush=True)
    return 0


def run_append(data: str, seed: str) -> int:
    """Inside its own process: `append_day`, reporting what it added."""
    from lifecycle.generate import append_day

    added = append_day(Path(data), int(seed))
    print(RESULT + json.dumps({"new_day_rows": added.new_day_rows, "late_rows": added.late_rows}), flush=True)
    return 0


def run_reshuffle(data: str, seed: str) -> int:
    """Inside its own process: every input file of `data` rewritten with its rows in a random order, as
    a billing system's full re-export may give them."""
    import numpy as np
    import pyarrow.parquet as pq

    for path in sorted(Path(data).glob("*.parquet")):
        table = pq.read_table(path)
        order = np.random.default_rng(int(seed)).permutation(table.num_rows)
        partial = path.with_name(path.name + ".reshuffled")
        pq.write_table(table.take(order), partial, row_group_size=1_000_000)
        os.replace(partial, path)
    print(RESULT + json.dumps({"reshuffled": True}), flush=True)
    return 0


def warm_up(data: Path, live: Path, target: Path, dbt_vars: dict | None = None) -> None:
    """Parse the project once, untimed, with the vars and the warehouse path the timed runs use (dbt
    parses again from scratch when either changes, and the path is part of the profile)."""
    measure(
        "dbt parse",
        dbt_command("parse", data, target, dbt_vars),
        env={"LIFECYCLE_DUCKDB_PATH": str(warehouse_in(live))},
    )


def dashboard_queries() -> dict[str, str]:
    """The queries of benchmark/dashboard_queries.sql by name (each starts with a `-- name:` line)."""
    parts = re.split(r"^-- name: *", DASHBOARD_QUERIES.read_text(), flags=re.MULTILINE)[1:]
    return {part.split("\n", 1)[0].strip(): part.split("\n", 1)[1].strip().rstrip(";") for part in parts}


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value at least `share` of the values are at or below."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def query_latencies(warehouse: Path) -> dict[str, list[float]]:
    """Each dashboard query run QUERY_RUNS times (fewer past QUERY_BUDGET_SECONDS, at least 3) on one
    read-only connection, as a BI tool keeps one: name -> [p50, p95, runs, rows] (seconds; the first,
    cold run counts too)."""
    import duckdb

    results = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        threads = os.environ.get("LIFECYCLE_THREADS")
        if threads:
            con.execute(f"set threads = {int(threads)}")
        customer = con.execute("select customer_id from marts.fct_win_back_list order by priority limit 1")
        customer_id = (customer.fetchone() or [""])[0]
        for name, query in dashboard_queries().items():
            sql = query.replace("$customer_id", customer_id.replace("'", "''"))
            times: list[float] = []
            while len(times) < QUERY_RUNS and (len(times) < 3 or sum(times) < QUERY_BUDGET_SECONDS):
                started = time.perf_counter()
                rows = len(con.execute(sql).fetchall())
                times.append(time.perf_counter() - started)
            results[name] = [statistics.median(times), percentile(times, 0.95), len(times), rows]
    return results


def run_dashboard(warehouse: str) -> int:
    """Inside its own process: the dashboard queries' latencies on `warehouse`."""
    print(RESULT + json.dumps({"latencies": query_latencies(Path(warehouse))}), flush=True)
    return 0


def dashboard(name: str, warehouse: Path) -> Measurement:
    """The dashboard queries on `warehouse`, in a process of their own: the row's time is the worst
    p95 among the queries, its note names that query; the per-query figures go to their own table."""
    measured, output = measure(name, [PYTHON, __file__, "_dashboard", str(warehouse)])
    latencies = reported(output, "latencies")
    if measured.seconds is None or not latencies:
        return measured if measured.seconds is None else Measurement(name, None, None, "FAILED: no latencies")
    slowest = max(latencies, key=lambda query: latencies[query][1])
    note = f"p95 of the slowest of {len(latencies)} queries ({slowest}); p50 and p95 of each below"
    return Measurement(name, latencies[slowest][1], measured.peak_mb, note, latencies=latencies)


def store_customer_marts(data: Path, runs: Path, full_run: Path) -> Measurement:
    """The price of storing fct_customer_months and dim_customers as tables (var store_customer_marts)
    for dashboards: `dbt run` of those two models on a copy of the models-only warehouse, in a folder
    and target of their own (parsed untimed first with those vars)."""
    folder, target = runs / "stored", runs / "target_stored"
    folder.mkdir(parents=True, exist_ok=True)
    warm_up(data, folder, target, STORE_VARS)
    shutil.copyfile(warehouse_in(full_run), warehouse_in(folder))
    selected = ["--select", "fct_customer_months", "dim_customers"]
    return dbt(DBT_STORE, "run", data, folder, target, fresh=False, extra=selected, dbt_vars=STORE_VARS)


def incremental(data: Path, runs: Path, full_run: Path, target: Path, times: int) -> Measurement:
    """Append a day to the data, then time an incremental `dbt run` on a copy of the models-only
    warehouse (a fresh copy for each of `times` runs), and check the result against the hand-written
    SQL on the appended data.

    `append_day` runs in a process of its own: on Linux a child's peak RSS starts from its parent's
    (it is kept across fork and exec), so this process must stay small for the later figures."""
    appended = data
    appending, output = measure("append_day", [PYTHON, __file__, "_append", str(appended), str(APPEND_SEED)])
    if appending.seconds is None:
        return Measurement(DBT_INCREMENTAL, None, None, f"not run: append_day {appending.note}")
    new_day_rows, late_rows = reported(output, "new_day_rows"), reported(output, "late_rows")
    folder = runs / "live"

    def run(_: int) -> Measurement:
        shutil.copyfile(warehouse_in(full_run), warehouse_in(folder))
        return dbt(DBT_INCREMENTAL, "run", appended, folder, target, fresh=False)

    measured = repeated(times, run)
    rows = f"{new_day_rows:,} + {late_rows:,} late rows appended"
    if measured.seconds is None:
        measured.note = f"{rows}; {measured.note}"
        return measured
    reference = "a full build of the appended data (hand-written SQL)"
    check = baseline(
        "duckdb_sql", appended, warehouse_in(folder), runs / "duckdb_sql_appended.duckdb", reference
    )
    compared = check.note if check.seconds is not None else f"not compared: {check.note}"
    measured.note = "; ".join(part for part in (rows, measured.note, compared) if part)
    return measured


def reexport(data: Path, runs: Path, full_run: Path, target: Path, times: int) -> Measurement:
    """The appended data (`incremental` ran first) re-exported in another order, then `dbt run` on a
    copy of the models-only warehouse of the day before: the models find the input is not the earlier
    one with rows appended and rebuild whole (docs/decisions.md, "Incremental runs"). Checked against
    the hand-written SQL on the same files."""
    reshuffling, _ = measure("reshuffle", [PYTHON, __file__, "_reshuffle", str(data), str(RESHUFFLE_SEED)])
    if reshuffling.seconds is None:
        return Measurement(DBT_REEXPORT, None, None, f"not run: reshuffle {reshuffling.note}")
    folder = runs / "live"

    def run(_: int) -> Measurement:
        shutil.copyfile(warehouse_in(full_run), warehouse_in(folder))
        return dbt(DBT_REEXPORT, "run", data, folder, target, fresh=False)

    measured = repeated(times, run)
    if measured.seconds is None:
        return measured
    reference = "a full build of the re-exported data (hand-written SQL)"
    check = baseline("duckdb_sql", data, warehouse_in(folder), runs / "duckdb_sql_reexport.duckdb", reference)
    compared = check.note if check.seconds is not None else f"not compared: {check.note}"
    measured.note = "; ".join(part for part in ("rebuilt whole", measured.note, compared) if part)
    return measured


def benchmark_size(
    size: int, work_dir: Path, dataframes_up_to: int | None, times: int, rounds: int, memory_cap_mb: float
) -> list[Measurement]:
    print(f"{size:,} payments ({times} run{'s' if times > 1 else ''} of each)", flush=True)
    data = generate(size, work_dir)
    runs = work_dir / f"runs_{size}"
    runs.mkdir(parents=True, exist_ok=True)
    rows = []

    def report(row: Measurement) -> None:
        report_line(row)
        rows.append(row)

    # dbt reads a copy of the data, which the incremental step appends a day to at the end; the same
    # folder and vars throughout keep dbt's parsed project valid between invocations.
    live = runs / "data"
    shutil.rmtree(live, ignore_errors=True)
    shutil.copytree(data, live)
    # Every dbt invocation builds the warehouse at one path, as a scheduled run does, and the
    # models-only result is kept in `run` for the comparisons.
    target, building, full_run = runs / "target", runs / "live", runs / "run"
    building.mkdir(parents=True, exist_ok=True)
    full_run.mkdir(parents=True, exist_ok=True)
    warm_up(live, building, target)
    exclude = ["--exclude", SEGMENTS]
    report(repeated(times, lambda _: dbt(DBT_CORE_RUN, "run", live, building, target, extra=exclude)))
    report(repeated(times, lambda _: dbt(DBT_RUN, "run", live, building, target)))
    shutil.copyfile(warehouse_in(building), warehouse_in(full_run))
    report(repeated(times, lambda _: dbt(DBT_BUILD, "build", live, building, target)))
    warehouse = warehouse_in(full_run) if rows[1].seconds is not None else None
    # The dashboard queries on the models-only warehouse, and on a copy storing the customer marts.
    if warehouse is not None:
        report(dashboard(DASHBOARD_VIEWS, warehouse))
        stored = store_customer_marts(live, runs, full_run)
        report(stored)
        if stored.seconds is not None:
            report(dashboard(DASHBOARD_STORED, warehouse_in(runs / "stored")))
    # The incremental run is timed next to the full one, before pandas and polars, which can take
    # most of the machine's memory and push the warehouse out of the page cache.
    if warehouse is not None:
        report(incremental(live, runs, full_run, target, times))
        report(reexport(live, runs, full_run, target, times))
    else:
        report(Measurement(DBT_INCREMENTAL, None, None, "not run: the full dbt run failed"))
    # The baselines read the data as generated, not the copy the incremental step appended to.
    with_dataframes = dataframes_up_to is None or size <= dataframes_up_to
    kinds = ["duckdb_sql"] + (["polars_impl", "pandas_impl"] if with_dataframes else [])
    caps = {kind: None if kind == "duckdb_sql" else memory_cap_mb for kind in kinds}
    for kind in kinds:
        report(
            repeated(
                times,
                lambda i, kind=kind: baseline(
                    kind,
                    data,
                    warehouse if i == 0 else None,
                    runs / f"{kind}.duckdb",
                    memory_cap_mb=caps[kind],
                ),
            )
        )
    if rounds and warehouse is not None:
        # Head to head: `dbt run` and the baselines again, in rounds of one run of each back to back,
        # so that the machine's drift over the benchmark (15-30% here) falls on both sides of their
        # ratios alike; their rows become the medians of every run. dbt reads the data as generated
        # again, in the folder it has read from (the appended day removed).
        print(f"  {rounds} more round{'s' if rounds > 1 else ''} of `dbt run` and the baselines", flush=True)
        shutil.rmtree(live)
        shutil.copytree(data, live)
        names = [DBT_CORE_RUN] + [BASELINES[kind] for kind in kinds]
        runs_of = {row.name: [row] for row in rows if row.name in names}
        for number in range(2, rounds + 2):
            made = [dbt(DBT_CORE_RUN, "run", live, building, target, extra=exclude)] + [
                baseline(kind, data, None, runs / f"{kind}.duckdb", memory_cap_mb=caps[kind])
                for kind in kinds
            ]
            for run in made:
                print(f"    run {number} of {run.name}: {outcome(run)}", flush=True)
                runs_of[run.name].append(run)
        rows[:] = [combined(runs_of[row.name]) if row.name in runs_of else row for row in rows]
        for row in rows:
            if row.name in runs_of:
                report_line(row)
    return rows


def report_line(row: Measurement) -> None:
    figures = "failed" if row.seconds is None else f"{row.seconds:8.1f} s {row.peak_mb:9,.0f} MB"
    print(f"  {row.name:<40} {figures}  {row.note}", flush=True)


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{os.cpu_count()} cores ({cpu}), {memory_gb:.0f} GB RAM, {platform.system()} {platform.release()}"


def versions() -> str:
    """The engines' versions: figures move with them (docs/decisions.md, "Where the time goes")."""
    return ", ".join(f"{name} {version(name)}" for name in ("dbt-core", "duckdb", "polars", "pandas"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_implementation"]:
        return run_implementation(*argv[1:])
    if argv[:1] == ["_compare"]:
        return run_comparison(*argv[1:])
    if argv[:1] == ["_append"]:
        return run_append(*argv[1:])
    if argv[:1] == ["_reshuffle"]:
        return run_reshuffle(*argv[1:])
    if argv[:1] == ["_dashboard"]:
        return run_dashboard(*argv[1:])
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--work-dir", type=Path, default=PROJECT_DIR / "target" / "bench")
    parser.add_argument(
        "--dataframes-up-to", type=int, default=None, help="run pandas and polars only up to this size"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs of each measurement (default: 3 up to 10M payments, 1 above)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="rounds of `dbt run` and the baselines back to back after the other measurements"
        " (default: 2 at sizes measured once, 0 elsewhere)",
    )
    parser.add_argument(
        "--memory-limit",
        default=os.environ.get("LIFECYCLE_MEMORY_LIMIT", "3GB"),
        help="DuckDB memory_limit for dbt and the hand-written SQL (default 3GB)",
    )
    parser.add_argument(
        "--dataframe-memory-cap",
        type=float,
        default=0.8 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3,
        help="GB of resident memory at which a pandas or polars run is stopped (default 80%% of memory)",
    )
    parser.add_argument("--output", type=Path, default=PROJECT_DIR / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)

    os.environ["LIFECYCLE_MEMORY_LIMIT"] = args.memory_limit  # inherited by every process
    work_dir = args.work_dir.resolve()
    results = {}
    for size in args.sizes:
        times = args.repeat or (3 if size <= 10_000_000 else 1)
        rounds = args.rounds if args.rounds is not None else (2 if times == 1 else 0)
        results[size] = benchmark_size(
            size, work_dir, args.dataframes_up_to, times, rounds, args.dataframe_memory_cap * 1024
        )
    report = render(results, args.dataframes_up_to)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(f"\n{report}\nwrote {args.output}")
    return 0


def ratio(rows: dict[str, Measurement], name: str, base: str = SQL) -> float | None:
    """`name`'s wall time over `base`'s; None when either is missing or failed."""
    a, b = rows.get(name), rows.get(base)
    if a is None or b is None or a.seconds is None or not b.seconds:
        return None
    return a.seconds / b.seconds


Check = Callable[[dict[str, Measurement]], tuple[str, bool | None]]


def at_most(name: str, limit: float, base: str = SQL) -> Check:
    def check(rows: dict[str, Measurement]) -> tuple[str, bool | None]:
        value = ratio(rows, name, base)
        return ("-", None) if value is None else (f"{value:.2f}x", value <= limit)

    return check


def faster_than_dataframes(rows: dict[str, Measurement]) -> tuple[str, bool | None]:
    """The core dbt run's time over each dataframe implementation's (they build the same marts). One
    stopped at the memory cap counts as slower only when it had already run longer than dbt's whole
    run; stopped sooner, it might have finished first, and the comparison is unknown."""
    run = rows.get(DBT_CORE_RUN)
    if run is None or run.seconds is None:
        return "-", None
    figures, faster = [], []
    for other in ("pandas", "polars"):
        row = rows.get(other)
        if row is not None and row.stopped_after is not None:
            if row.stopped_after >= run.seconds:
                figures.append(f"{other} did not finish (stopped after {row.stopped_after:.0f} s)")
                faster.append(True)
            else:
                figures.append(
                    f"{other} stopped at the memory cap after {row.stopped_after:.0f} s, before dbt's "
                    f"{run.seconds:.0f} s: unknown"
                )
                faster.append(None)
            continue
        value = ratio(rows, DBT_CORE_RUN, other)
        if value is None:
            return "-", None
        figures.append(f"{value:.2f}x {other}")
        faster.append(value < 1)
    if False in faster:
        return ", ".join(figures), False
    return ", ".join(figures), None if None in faster else True


def under(limit: float, name: str, unit: str) -> Check:
    """Met when row `name`'s peak memory (unit "MB") or wall time (unit "s") is below `limit`."""

    def check(rows: dict[str, Measurement]) -> tuple[str, bool | None]:
        row = rows.get(name)
        value = None if row is None else row.peak_mb if unit == "MB" else row.seconds
        if value is None:
            return "-", None
        return (f"{value:,.0f} MB" if unit == "MB" else f"{value:.2f} s"), value < limit

    return check


# (size, target, check): the targets of issue 4, on the models the baselines also build, and of issues 17
# and 18.
TARGETS: list[tuple[int, str, Check]] = [
    (10_000_000, "`dbt run` (core models) within 1.5x of the hand-written SQL", at_most(DBT_CORE_RUN, 1.5)),
    (10_000_000, "`dbt build` with every data test within 2.5x of the SQL", at_most(DBT_BUILD, 2.5)),
    (50_000_000, "`dbt run` (core models) within 1.25x of the hand-written SQL", at_most(DBT_CORE_RUN, 1.25)),
    (50_000_000, "`dbt run` (core models) faster than pandas and polars", faster_than_dataframes),
    (50_000_000, "`dbt run` (core models) peak memory under 4 GB", under(4 * 1024, DBT_CORE_RUN, "MB")),
    (
        10_000_000,
        "`dbt run` of everything within 1.35x of the core models (issue 17)",
        at_most(DBT_RUN, 1.35, DBT_CORE_RUN),
    ),
    (
        50_000_000,
        "`dbt run` of everything within 1.35x of the core models (issue 17)",
        at_most(DBT_RUN, 1.35, DBT_CORE_RUN),
    ),
    (10_000_000, "`dbt run` of everything peak memory under 4 GB (issue 17)", under(4 * 1024, DBT_RUN, "MB")),
    (50_000_000, "`dbt run` of everything peak memory under 4 GB (issue 17)", under(4 * 1024, DBT_RUN, "MB")),
    (
        50_000_000,
        "dashboard queries p95 under 1 s, customer marts stored (issue 18)",
        under(1.0, DASHBOARD_STORED, "s"),
    ),
    (
        50_000_000,
        "incremental run (one appended day) within 25% of the full `dbt run`",
        at_most(DBT_INCREMENTAL, 0.25, DBT_RUN),
    ),
]


def verdicts(results: dict[int, list[Measurement]], dataframes_up_to: int | None) -> list[str]:
    """One table row per target: the figure and met / not met / not measured."""
    lines = []
    for size, target, check in TARGETS:
        rows = {row.name: row for row in results.get(size, [])}
        figure, met = check(rows) if rows else ("-", None)
        if met is None:
            reason = "size not run" if not rows else "a run failed or was not made"
            if (
                rows
                and check is faster_than_dataframes
                and dataframes_up_to is not None
                and size > dataframes_up_to
            ):
                reason = "pandas and polars run only up to --dataframes-up-to"
            elif figure.endswith("unknown"):
                reason = "stopped before dbt finished"
            verdict = f"not measured: {reason}"
        else:
            verdict = "met" if met else "**not met**"
            if any("DIFFERS" in row.note for row in rows.values()):
                verdict += " (but results differ, see the notes)"
        lines.append(f"| {size:,} | {target} | {figure} | {verdict} |")
    return lines


def dashboard_table(by_name: dict[str, Measurement]) -> list[str]:
    """Each dashboard query's p50 / p95 with the customer marts as views and stored, and the price."""
    views, stored = by_name.get(DASHBOARD_VIEWS), by_name.get(DASHBOARD_STORED)
    if views is None or views.latencies is None:
        return []
    both = stored is not None and stored.latencies is not None
    lines = [
        "Dashboard queries (`benchmark/dashboard_queries.sql`), p50 / p95 in seconds over the runs listed",
        f"(up to {QUERY_RUNS}, at least 3, fewer once a query has taken {QUERY_BUDGET_SECONDS:.0f} s; the",
        "first, cold run counts), on one read-only connection to the models-only warehouse:",
        "",
        "| query | rows | views: p50 / p95 (runs) | stored: p50 / p95 (runs) |",
        "|---|---:|---:|---:|",
    ]
    for query, (p50, p95, runs, rows) in views.latencies.items():
        if both and query in stored.latencies:
            s50, s95, sruns, _ = stored.latencies[query]
            stored_text = f"{s50:.3f} / {s95:.3f} ({sruns})"
        else:
            stored_text = "-"
        lines.append(f"| {query} | {rows:,} | {p50:.3f} / {p95:.3f} ({runs}) | {stored_text} |")
    store = by_name.get(DBT_STORE)
    price = (
        "not measured"
        if store is None or store.seconds is None
        else f"{store.seconds:.1f} s, {store.peak_mb:,.0f} MB peak (`dbt run` of the two, start-up included)"
    )
    lines += [
        "",
        f"Storing `fct_customer_months` and `dim_customers` as tables (var `store_customer_marts`): {price}.",
        "",
    ]
    return lines


def render(results: dict[int, list[Measurement]], dataframes_up_to: int | None) -> str:
    lines = [
        "# Benchmarks",
        "",
        "`.venv/bin/python benchmark/benchmark.py [--sizes 1000000 10000000 50000000]` (from the project",
        "root; `--help` lists the options) generates the payments, makes every measurement below and",
        "rewrites this page. The script and the baselines it times live in `benchmark/`, outside the",
        "installed package. Runs vary by 10-30% on a shared machine from one hour to the next: compare",
        "ratios within one benchmark run, not figures across runs (this is why the largest size runs",
        "`dbt run` and the baselines again in rounds, one of each back to back). `LIFECYCLE_MEMORY_LIMIT`",
        "and `LIFECYCLE_THREADS` bound DuckDB's memory and threads.",
        "",
        f"Measured {dt.date.today().isoformat()} on {machine()} with `benchmark/benchmark.py`",
        f"({versions()};",
        f"threads: {os.environ.get('LIFECYCLE_THREADS', 'default')}, DuckDB memory limit: "
        f"{os.environ.get('LIFECYCLE_MEMORY_LIMIT', 'default')}). Input: `lifecycle generate` Parquet,",
        f"seed {SEED}. Each figure is the median wall time of the runs the note lists (each in its own",
        "process) and the largest peak resident memory among them. The",
        "dbt figures are whole `dbt` processes (start-up included; the project is parsed once before",
        "timing, and the runs share its target folder and the warehouse path); the baselines' figures",
        "are their build only. The incremental run is `dbt run` on a copy of the models-only warehouse",
        f"after `append_day` (seed {APPEND_SEED}) appended one day and late rows to a copy of the data;",
        "the re-export run is `dbt run` on a copy of the same warehouse after those files were rewritten",
        f"with their rows in a random order (seed {RESHUFFLE_SEED}), as a full re-export gives them.",
        "Every result is checked against the dbt marts outside the timed part; the note says how it went.",
        "Where `dbt run` and the baselines list more runs than the other figures of their size, the",
        "later ones were made in rounds of one run of each, back to back, after the other measurements.",
        "",
    ]
    for size, rows in results.items():
        by_name = {row.name: row for row in rows}
        lines += [
            f"## {size:,} payments",
            "",
            "| implementation | wall time | peak memory | vs hand-written SQL | note |",
            "|---|---:|---:|---:|---|",
        ]
        for row in rows:
            seconds = "failed" if row.seconds is None else f"{row.seconds:.1f} s"
            peak = "-" if row.peak_mb is None else f"{row.peak_mb:,.0f} MB"
            vs_sql = None if row.latencies is not None else ratio(by_name, row.name)
            vs_sql_text = "-" if vs_sql is None else f"{vs_sql:.2f}x"
            note = row.note.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {row.name} | {seconds} | {peak} | {vs_sql_text} | {note} |")
        added = ratio(by_name, DBT_RUN, DBT_CORE_RUN)
        share = ratio(by_name, DBT_INCREMENTAL, DBT_RUN)
        reexported = ratio(by_name, DBT_REEXPORT, DBT_RUN)
        lines += [
            "",
            "`dbt run` of every model (segments, LTV and the predicted CLV included) over the core models: "
            + (
                "not measured."
                if added is None
                else f"{added:.2f}x; the segment models' own times are in its note."
            ),
            "Incremental run after one appended day: "
            + ("not measured" if share is None else f"{share:.0%} of the full `dbt run` ({share:.2f}x)."),
            "Run after a reshuffled re-export with one more day (rebuilt whole): "
            + ("not measured" if reexported is None else f"{reexported:.2f}x the full `dbt run`."),
            "",
            *dashboard_table(by_name),
        ]
    lines += [
        "## Targets (issues 4, 17 and 18)",
        "",
        "| size | target | figure | verdict |",
        "|---:|---|---:|---|",
        *verdicts(results, dataframes_up_to),
        "",
        "## Re-exports",
        "",
        "A billing system's full re-export, in another order and with one more day, is not the earlier",
        "input with rows appended: the models find so (the row count and the customer on the last line",
        "read) and rebuild whole, giving the marts of a full build (checked against the hand-written SQL",
        "on the same files). It costs a full build of the reshuffled files, whose rows no longer come",
        "grouped by time, plus emptying the stored tables first. After a plain append the incremental run",
        "keeps its cost: its check reads a row count and one row. `lifecycle run` also compares the",
        "content of every earlier row with the previous run's, one pass over the loaded rows",
        '(docs/pipeline.md, "Re-exports, corrections and another source").',
        "",
        "## What is compared",
        "",
        "The hand-written SQL stores what the dbt build stores: the customer-month sums (with each",
        "customer's history from windows) and the customers as tables, `fct_customer_months` and",
        "`dim_customers` as views over them, and the other four marts as tables. It is written as one",
        "would by hand: the cohort, churn, status and customer marts read the `fct_customer_months`",
        "view. It reads the generated files as clean and validates nothing. pandas and polars build the",
        "same six marts in memory (the customer-month grid included) and write nothing while timed; they",
        "write them to Parquet afterwards, for the comparison. The dbt build also checks every input",
        "row (duplicate ids, unparseable values, ISO 4217 codes), sets rows aside in `quarantine` and",
        "counts them, keeps the typed customers, and stores what incremental runs need; and each dbt",
        "invocation starts a Python process and reads its parsed project. Where the models are faster",
        'than the hand-written SQL it is by how they count (docs/decisions.md, "Where the time goes"):',
        "customers by status from groups of alike spans rather than from the expanded grid, and the",
        "first purchase with one aggregate over numbers.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
