"""`lifecycle run` and `lifecycle check`: load, validate, build, check, publish, record.

The published warehouse is only ever replaced whole: a run builds into a separate file next to it and
swaps it in with an atomic rename once every check has passed. A failed or killed run leaves the
published file as it was.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from lifecycle import appended, dbt_failures, history, inputs, mapping, set_aside, settings
from lifecycle.paths import DBT_EXECUTABLE, PROJECT_DIR, warehouse_path

EXIT_OK = 0
EXIT_INTERNAL_ERROR = 1
EXIT_USAGE = 2
EXIT_INVALID_INPUT = 3
EXIT_CHECKS_FAILED = 4

MARTS = [
    "dim_customers",
    "fct_customer_months",
    "fct_cohort_retention",
    "fct_churn_monthly",
    "fct_revenue_monthly",
    "fct_customer_status_monthly",
    "dim_customer_segments",
    "fct_segment_monthly",
    "fct_segment_transitions",
    "fct_ltv",
    "fct_win_back_list",
]
# The DuckDB output of profiles.yml the pipeline builds with, whatever LIFECYCLE_TARGET says (plain dbt's
# default target): the pipeline builds and publishes DuckDB files only.
PIPELINE_TARGET = "prod"
# Said in one line when there is no marketing spend to read (docs/definitions.md, "Marketing spend").
SPEND_ABSENT = "CAC, LTV:CAC and payback columns are null"
DBT_PROGRESS = re.compile(r"\b(\d+) of (\d+) (START|OK|PASS|FAIL|ERROR|WARN|SKIP|NO-OP)\b")


class PipelineFailure(Exception):
    """Stops a run with an exit code and a one-line message."""

    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Progress:
    """Step lines a person can follow: which step, how far, elapsed time."""

    def __init__(self, steps: int) -> None:
        self.started = time.monotonic()
        self.steps = steps
        self.step = 0

    def elapsed(self) -> str:
        return f"{time.monotonic() - self.started:7.1f}s"

    def begin(self, title: str) -> None:
        self.step += 1
        print(f"[{self.elapsed()}] step {self.step}/{self.steps}: {title}", flush=True)

    def info(self, text: str) -> None:
        print(f"[{self.elapsed()}]   {text}", flush=True)


@dataclass
class RunRecord:
    """What one run did; written as JSON and as a row of ops.pipeline_runs."""

    command: str
    data_dir: str | None
    as_of_date: str | None
    warehouse: str
    run_id: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]
    )
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    finished_at: str | None = None
    outcome: str = "running"
    exit_code: int | None = None
    message: str | None = None
    inputs: list[dict] = field(default_factory=list)
    mapping: dict = field(default_factory=dict)
    row_counts: list[dict] = field(default_factory=list)
    set_aside_by_reason: dict[str, dict[str, int]] = field(default_factory=dict)
    set_aside_examples: dict[str, dict[str, list[dict]]] = field(default_factory=dict)
    dbt: dict = field(default_factory=dict)
    checks: list[dict] = field(default_factory=list)
    mart_checksums: dict[str, dict] = field(default_factory=dict)
    rebuilt_whole: list[str] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    def finish(self, exit_code: int, message: str | None = None) -> None:
        self.exit_code = exit_code
        self.outcome = "success" if exit_code == EXIT_OK else "failed"
        self.message = message
        self.finished_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

    def to_dict(self) -> dict:
        return dict(self.__dict__)


# --------------------------------------------------------------------------------------------- CLI


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, help="folder with payments.csv|parquet (default: the demo data)"
    )
    mapping.add_argument(parser)
    settings.add_arguments(parser, run=True)
    parser.add_argument("--full-refresh", action="store_true", help="rebuild every model from scratch")
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="publish without writing the HTML report (`lifecycle report` writes it at any time)",
    )


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, help="folder with payments.csv|parquet (default: the demo data)"
    )
    mapping.add_argument(parser)
    settings.add_arguments(parser, run=False)


def run_command(args: argparse.Namespace) -> int:
    return _guarded(lambda record: _run(record, args.full_refresh, not args.no_report), "run", args)


def check_command(args: argparse.Namespace) -> int:
    return _guarded(_check, "check", args)


def _guarded(body, command: str, args: argparse.Namespace) -> int:
    """Run `body` with a record; every failure becomes an exit code and one clear line, not a traceback."""
    try:
        chosen = settings.resolve(args)
        if command == "run":
            settings.check_warehouse_file(warehouse_path())
    except settings.SettingsError as error:
        print(f"usage error: {error}", file=sys.stderr)
        return EXIT_USAGE
    record = RunRecord(
        command=command,
        data_dir=str(args.data_dir.resolve()) if args.data_dir else None,
        as_of_date=chosen.as_of_date,
        warehouse=str(warehouse_path()),
    )
    record.mapping = mapping.requested(args)
    record.settings = {**chosen.to_record(), "dbt_vars": chosen.dbt_vars()}
    try:
        exit_code = body(record)
        record.finish(exit_code)
    except inputs.InputFileError as error:
        print(f"invalid input: {error}", file=sys.stderr)
        record.finish(EXIT_INVALID_INPUT, str(error))
    except PipelineFailure as failure:
        print(f"{command} failed: {failure}", file=sys.stderr)
        record.finish(failure.exit_code, str(failure))
    except KeyboardInterrupt:
        print(f"{command} interrupted; the published warehouse is unchanged", file=sys.stderr)
        record.finish(EXIT_INTERNAL_ERROR, "interrupted")
    except Exception as error:  # noqa: BLE001 - the one place internal errors become an exit code
        if os.environ.get("LIFECYCLE_DEBUG"):
            raise
        print(
            f"internal error: {type(error).__name__}: {error} (set LIFECYCLE_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        record.finish(EXIT_INTERNAL_ERROR, f"{type(error).__name__}: {error}")
    if command == "run":
        path = history.write(record.to_dict())
        history.prune(record.warehouse, record.settings.get("keep_runs", settings.DEFAULT_KEEP_RUNS))
        print(f"run record: {path}")
    return record.exit_code


# ------------------------------------------------------------------------------------------ the run


def _run(record: RunRecord, full_refresh: bool, with_report: bool = True) -> int:
    progress = Progress(steps=6)
    published = Path(record.warehouse)
    # Same file name in a sibling folder: DuckDB names the catalog after the file, and dbt's views
    # refer to it, so the build must carry the published name to keep its views valid after the swap.
    building = published.parent / f".{published.name}.building" / published.name
    with _exclusive_lock(published), tempfile.TemporaryDirectory(prefix="lifecycle-run-") as scratch:
        # Holding the lock: a "running" record of this warehouse is of a run that died.
        for run_id in history.mark_killed(record.warehouse, record.run_id):
            progress.info(f"run {run_id} did not finish (killed or crashed); recorded as killed")
        history.write(record.to_dict())
        progress.begin("checking input files")
        files = _inspect_inputs(record, progress, Path(scratch))

        progress.begin("loading raw tables into a new build of the warehouse")
        _remove(building)
        building.parent.mkdir()
        rebuild = []
        if _set_aside_stale_wal(published, record.run_id):
            rebuild.append(
                f"{published.name}.wal was left by a writer that did not finish (not a lifecycle run); "
                "set aside as .wal.stale-" + record.run_id
            )
        if published.exists():
            # Even a full refresh builds on a copy: the lifecycle-state history and the run records
            # are kept (dbt never rebuilds a snapshot; ops.* is the pipeline's own).
            shutil.copyfile(published, building)
        try:
            with duckdb.connect(str(building)) as con:
                previous = appended.previous_reads(con)
                inputs.load(con, files)
                inputs.check_single_currency(con, files)
                read_now, changes = appended.compare(con, previous)
            record.inputs = [info.to_dict() for info in files.values()]
            for info in files.values():
                progress.info(f"{info.table}: {info.rows:,} rows from {info.path}")
            _say_when_spend_is_missing(record, files, progress)
            rebuild += changes
            if full_refresh:
                rebuild.append("--full-refresh")
            for reason in rebuild:
                progress.info(f"{reason}; rebuilding the models whole")
            if rebuild and published.exists():
                progress.info("(the lifecycle-state history and the run records are kept)")
            record.rebuilt_whole = rebuild

            # Unit tests prove the SQL on fixed rows, not the data: they run in `make test` and CI (dbt's
            # own advice is to keep them out of production runs; docs/decisions.md).
            progress.begin("dbt build (models, snapshot and data tests)")
            dbt_ok = _dbt(
                ["build", "--exclude-resource-type", "unit_test", *(["--full-refresh"] if rebuild else [])],
                building,
                record,
                progress,
            )

            if not dbt_ok:
                _raise_dbt_failure(record)

            progress.begin("validating inputs and marts (Great Expectations)")
            with duckdb.connect(str(building)) as con:
                _record_row_counts(con, record, progress)
                _report_channels_without_customers(con, progress)
                _check_set_aside_share(con, record)
                checks_ok = _validate(con, record, progress, families=("inputs", "marts"))
                if not checks_ok:
                    raise PipelineFailure(
                        EXIT_CHECKS_FAILED, "mart checks failed; the warehouse was not published"
                    )
                record.mart_checksums = mart_checksums(con)

            progress.begin("publishing")
            record.finish(EXIT_OK)
            with duckdb.connect(str(building)) as con:
                appended.store(con, read_now)
                _append_run_records(con, record)
            _publish(building, published, record.run_id)
            progress.info(f"published {published}")
        finally:
            _remove(building)

    progress.begin("summary")
    _print_summary(record, published)
    if with_report:
        _write_report(record, published)
    return EXIT_OK


def _write_report(record: RunRecord, published: Path) -> None:
    """The HTML report beside the published warehouse (docs/report.md). The warehouse is published
    by now: a report that cannot be written says so and exits 1; `lifecycle report` writes it again."""
    from lifecycle import report  # plotly takes a moment to import

    out = report.default_path(published)
    try:
        report.write(published, out, record.to_dict())
    except report.ReportNotWritten as error:
        raise PipelineFailure(
            EXIT_INTERNAL_ERROR,
            f"the warehouse was published, but not the report: {error}; free that path (or make its "
            "folder writable), then `lifecycle report` writes the report",
        ) from None
    except Exception as error:  # noqa: BLE001 - the warehouse is published whatever failed here
        if os.environ.get("LIFECYCLE_DEBUG"):
            raise
        raise PipelineFailure(
            EXIT_INTERNAL_ERROR,
            f"the warehouse was published, but not the report: {type(error).__name__}: {error}; "
            "`lifecycle report` tries again (LIFECYCLE_DEBUG=1 for a traceback)",
        ) from None
    print(f"Report: {out}  (open it in a browser; it needs no network)")


def _check(record: RunRecord) -> int:
    """Input validation only, in a throw-away database: the published warehouse is not touched."""
    progress = Progress(steps=3)
    with tempfile.TemporaryDirectory(prefix="lifecycle-check-") as scratch:
        progress.begin("checking input files")
        files = _inspect_inputs(record, progress, Path(scratch))
        database = Path(scratch) / "check.duckdb"
        progress.begin("loading and classifying rows")
        with duckdb.connect(str(database)) as con:
            inputs.load(con, files)
            inputs.check_single_currency(con, files)
        record.inputs = [info.to_dict() for info in files.values()]
        _say_when_spend_is_missing(record, files, progress)
        # The row counts, and the accepted payments the input suites read.
        dbt_ok = _dbt(
            ["run", "--select", "+quarantine_input_row_counts", "+int_payments_accepted"],
            database,
            record,
            progress,
            quiet=True,
        )
        if not dbt_ok:
            _raise_dbt_failure(record)
        progress.begin("validating accepted rows (Great Expectations)")
        with duckdb.connect(str(database)) as con:
            _record_row_counts(con, record, progress)
            _report_channels_without_customers(con, progress)
            record.set_aside_examples = set_aside.collect_examples(con, record.set_aside_by_reason)
            checks_ok = _validate(con, record, progress, families=("inputs",))
    _print_input_report(record)
    return EXIT_OK if checks_ok else EXIT_CHECKS_FAILED


def _inspect_inputs(record: RunRecord, progress: Progress, scratch: Path) -> dict[str, inputs.InputFile]:
    data_dir = Path(record.data_dir) if record.data_dir else None
    located = inputs.discover(data_dir)
    tables = {table.name: table for table in inputs.ALL_INPUTS}
    chosen = mapping.apply(record.mapping, data_dir, progress.info)
    files = {
        name: inputs.inspect(tables[name], path, scratch, chosen.renames(name) if chosen else None)
        for name, path in located.items()
    }
    for info in files.values():
        progress.info(f"{info.table}: {info.path} ({info.format}, {info.size_bytes:,} bytes) ok")
    return files


@contextmanager
def _exclusive_lock(published: Path) -> Iterator[None]:
    """One run at a time per warehouse file."""
    published.parent.mkdir(parents=True, exist_ok=True)
    lock_path = published.with_name(published.name + ".lock")
    with lock_path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PipelineFailure(EXIT_INTERNAL_ERROR, f"another run is building {published}") from None
        yield


def _remove(building: Path) -> None:
    """Delete a build folder, including one a killed run left behind."""
    shutil.rmtree(building.parent, ignore_errors=True)


def _set_aside_stale_wal(published: Path, run_id: str) -> bool:
    """A `<warehouse>.wal` beside the published file was left by another writer (a plain `dbt build`
    into the same path, killed): DuckDB would replay it onto whatever file has that name, including
    the one this run publishes. Set it aside (renamed, not deleted); refuse while that writer is
    still running (it holds DuckDB's write lock on the file). True when one was set aside."""
    wal = published.with_name(published.name + ".wal")
    if not wal.exists():
        return False
    if published.exists():
        with published.open("rb") as handle:
            try:
                fcntl.lockf(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                raise PipelineFailure(
                    EXIT_INTERNAL_ERROR,
                    f"another program is writing {published} (it holds DuckDB's write lock); let it "
                    "finish or stop it, then run again (plain dbt writes the dev target, not this file)",
                ) from None
            fcntl.lockf(handle, fcntl.LOCK_UN)
    os.replace(wal, wal.with_name(f"{wal.name}.stale-{run_id}"))
    return True


def _publish(building: Path, published: Path, run_id: str) -> None:
    """Swap the new file in with one atomic rename; readers of the old file keep their snapshot. A
    write-ahead log beside the published name is set aside first, so DuckDB never replays it onto
    the new file."""
    if building.with_name(building.name + ".wal").exists():
        raise PipelineFailure(EXIT_INTERNAL_ERROR, f"{building} was not checkpointed; not publishing")
    _set_aside_stale_wal(published, run_id)
    with building.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(building, published)
    directory = os.open(published.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


# ---------------------------------------------------------------------------------------------- dbt


# dbt's parsed project, kept between runs (docs/decisions.md, "Runs reuse dbt's parsed project").
PARSED_PROJECT = "partial_parse.msgpack"


def _dbt(args: list[str], database: Path, record: RunRecord, progress: Progress, quiet: bool = False) -> bool:
    """One dbt invocation on `database`, its progress streamed; returns success and records the results.

    dbt runs in the database's folder and names the file without a folder, so its profile reads the
    same in every run, and it starts from the parsed project of the latest run: when the project
    files, the vars and the profile are unchanged, dbt skips parsing (seconds of every run); when
    anything changed, it parses anew by itself."""
    target = history.records_dir() / record.run_id
    target.mkdir(parents=True, exist_ok=True)
    parsed = history.records_dir() / PARSED_PROJECT
    if parsed.exists() and not (target / PARSED_PROJECT).exists():
        shutil.copyfile(parsed, target / PARSED_PROJECT)
    # The pipeline's own vars: its loaded tables, and stop (exit 3) when no payment can be used.
    dbt_vars = {
        **record.settings.get("dbt_vars", {}),
        "raw_schema": "raw",
        "stop_when_no_payment_accepted": True,
    }
    if record.as_of_date:
        dbt_vars["as_of_date"] = record.as_of_date
    command = [
        str(DBT_EXECUTABLE),
        *args,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target",
        PIPELINE_TARGET,
        "--target-path",
        str(target),
        "--vars",
        json.dumps({**dbt_vars, **mapping.dbt_vars(record.mapping)}),
    ]
    env = {**os.environ, "LIFECYCLE_DUCKDB_PATH": database.name, "DO_NOT_TRACK": "1"}
    tail: list[str] = []
    with subprocess.Popen(
        command, cwd=database.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        for raw_line in process.stdout:
            line = re.sub(r"\x1b\[[0-9;]*m", "", raw_line.rstrip())
            tail = (tail + [line])[-40:]
            match = DBT_PROGRESS.search(line)
            if match and not quiet and match.group(3) != "START":
                progress.info("dbt " + line[match.start() :])
    if process.returncode == 0 and (target / PARSED_PROJECT).exists():
        # Replaced whole (a concurrent run reads either the old file or the new one).
        partial = parsed.with_name(f"{PARSED_PROJECT}.{record.run_id}")
        shutil.copyfile(target / PARSED_PROJECT, partial)
        os.replace(partial, parsed)
    record.dbt = _dbt_results(target / "run_results.json")
    record.dbt["command"] = " ".join(args)
    record.dbt["exit_code"] = process.returncode
    if process.returncode != 0 and not record.dbt.get("failures"):
        record.dbt["failures"] = [{"node": "dbt", "status": "error", "message": "\n".join(tail[-12:])}]
    return process.returncode == 0


def _dbt_results(path: Path) -> dict:
    if not path.exists():
        return {}
    results = json.loads(path.read_text())["results"]
    counts: dict[str, dict[str, int]] = {}
    failures = []
    for result in results:
        resource_type = result["unique_id"].split(".")[0]
        per_type = counts.setdefault(resource_type, {})
        per_type[result["status"]] = per_type.get(result["status"], 0) + 1
        if result["status"] in ("fail", "error"):
            failures.append(
                {
                    "node": result["unique_id"],
                    "status": result["status"],
                    "message": (result.get("message") or "")[:2000],
                }
            )
    return {"counts": counts, "failures": failures}


def _raise_dbt_failure(record: RunRecord) -> None:
    """Say on screen, for each failed node, its name, the cause and a fix where one is known; stop with
    the exit code the failures mean: invalid input (3), a bad setting (2), failed tests only (4), else
    an internal error (1). lifecycle.dbt_failures has the rules."""
    failures = record.dbt.get("failures", [])
    print("\n".join(dbt_failures.explain(failures, record.run_id)), file=sys.stderr)
    raise PipelineFailure(dbt_failures.exit_code(failures), _dbt_failure_line(record))


def _dbt_failure_line(record: RunRecord) -> str:
    failures = record.dbt.get("failures", [])
    names = ", ".join(f"{failure['node'].split('.')[-1]} ({failure['status']})" for failure in failures[:5])
    more = f" and {len(failures) - 5} more" if len(failures) > 5 else ""
    return f"dbt build failed: {names}{more}; the warehouse was not published"


# ------------------------------------------------------------------------------------------- checks


def _record_row_counts(con: duckdb.DuckDBPyConnection, record: RunRecord, progress: Progress) -> None:
    """Rows read = accepted + set aside, per input table, and the set-aside rows by reason."""
    counts = con.execute(
        "select input_table, rows_read, rows_accepted, rows_set_aside from quarantine.input_row_counts"
    ).fetchall()
    record.row_counts = [
        {"table": table, "rows_read": read, "rows_accepted": accepted, "rows_set_aside": set_aside}
        for table, read, accepted, set_aside in counts
    ]
    for table in (spec.name for spec in inputs.ALL_INPUTS):
        reasons = con.execute(
            f"select reason, count(*) from quarantine.{table} group by reason order by count(*) desc, reason"
        ).fetchall()
        record.set_aside_by_reason[table] = dict(reasons)
    for row in record.row_counts:
        balanced = row["rows_read"] == row["rows_accepted"] + row["rows_set_aside"]
        progress.info(
            f"{row['table']}: {row['rows_read']:,} read = {row['rows_accepted']:,} accepted + "
            f"{row['rows_set_aside']:,} set aside{'' if balanced else '  <-- DOES NOT ADD UP'}"
        )
        if not balanced:
            raise PipelineFailure(EXIT_CHECKS_FAILED, f"{row['table']}: rows read != accepted + set aside")


def _say_when_spend_is_missing(
    record: RunRecord, files: dict[str, inputs.InputFile], progress: Progress
) -> None:
    """One line when there is no marketing spend to read: the optional input is not there, or has no rows."""
    info = files.get(inputs.MARKETING_SPEND.name)
    if info is None:
        where = record.data_dir or "the demo data"
        progress.info(
            f"marketing_spend: not found in {where} (marketing_spend.csv or .parquet); {SPEND_ABSENT}"
        )
    elif info.rows == 0:
        progress.info(f"marketing_spend: {info.path} has no rows; {SPEND_ABSENT}")


def _report_channels_without_customers(con: duckdb.DuckDBPyConnection, progress: Progress) -> None:
    """One line naming the spend's channels that no customer has, with their spend: kept, not dropped
    (intermediate.int_marketing_spend_monthly, channel_has_customers = false)."""
    channels = con.execute(
        """
        select acquisition_channel, sum(spend), sum(spend_rows)
        from intermediate.int_marketing_spend_monthly
        where not channel_has_customers
        group by acquisition_channel
        order by acquisition_channel
        """
    ).fetchall()
    if channels:
        listed = ", ".join(
            f"{channel} ({spend:,.2f} in {rows:,} row{'' if rows == 1 else 's'})"
            for channel, spend, rows in channels
        )
        progress.info(
            f"marketing_spend: no customer has the acquisition channel {listed}; kept in "
            "intermediate.int_marketing_spend_monthly with channel_has_customers = false (no new customers, "
            "so no CAC)"
        )


def _check_set_aside_share(con: duckdb.DuckDBPyConnection, record: RunRecord) -> None:
    """Exit 4, before the Great Expectations step, when too much of an input table was set aside."""
    record.set_aside_examples = set_aside.collect_examples(con, record.set_aside_by_reason)
    max_share = record.settings.get("max_set_aside_share", settings.DEFAULT_MAX_SET_ASIDE_SHARE)
    tables = set_aside.over_limit(record.row_counts, record.set_aside_by_reason, max_share)
    if tables:
        lines = set_aside.report(tables, record.set_aside_by_reason, record.set_aside_examples, max_share)
        print("\n".join(lines), file=sys.stderr)
        raise PipelineFailure(EXIT_CHECKS_FAILED, set_aside.failure_message(tables, max_share))


def _validate(
    con: duckdb.DuckDBPyConnection, record: RunRecord, progress: Progress, families: tuple[str, ...]
) -> bool:
    from lifecycle.quality import run_suites, summarize  # Great Expectations takes seconds to import

    results = [result for family in families for result in run_suites(con, family)]
    record.checks = [result.to_dict() for result in results]
    for line in summarize(results).splitlines():
        progress.info(line)
    return all(result.success for result in results)


def mart_checksums(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """Row count and an order-independent content hash of every mart."""
    checksums = {}
    for mart in MARTS:
        rows, content = con.execute(
            f"select count(*), coalesce(sum(hash(mart)::hugeint), 0) from marts.{mart} as mart"
        ).fetchone()
        checksums[mart] = {"rows": rows, "content_hash": str(content)}
    return checksums


# ------------------------------------------------------------------------------------------ records


def _append_run_records(con: duckdb.DuckDBPyConnection, record: RunRecord) -> None:
    """ops.pipeline_runs gets this run, and any earlier failed runs known only from their JSON files
    (a failed run never writes to the published warehouse)."""
    con.execute("create schema if not exists ops")
    con.execute(
        """
        create table if not exists ops.pipeline_runs (
            run_id varchar primary key,
            command varchar,
            started_at timestamptz,
            finished_at timestamptz,
            outcome varchar,
            exit_code integer,
            data_dir varchar,
            as_of_date date,
            rows_read bigint,
            rows_set_aside bigint,
            message varchar,
            record json
        )
        """
    )
    known = {row[0] for row in con.execute("select run_id from ops.pipeline_runs").fetchall()}
    records = [record.to_dict()]
    for path in sorted(history.records_dir().glob("*.json")) if history.records_dir().exists() else []:
        try:
            earlier = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        same_warehouse = earlier.get("warehouse") == record.warehouse
        if same_warehouse and earlier.get("command") == "run" and earlier.get("run_id") != record.run_id:
            records.append(earlier)
    for item in records:
        if item["run_id"] in known:
            continue
        counts = item.get("row_counts") or []
        con.execute(
            "insert into ops.pipeline_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                item["run_id"],
                item["command"],
                item["started_at"],
                item["finished_at"],
                item["outcome"],
                item["exit_code"],
                item["data_dir"],
                item["as_of_date"],
                sum(row["rows_read"] for row in counts) if counts else None,
                sum(row["rows_set_aside"] for row in counts) if counts else None,
                item["message"],
                json.dumps(item, default=str),
            ],
        )
        known.add(item["run_id"])


# ------------------------------------------------------------------------------------------ reports


def _print_input_report(record: RunRecord) -> None:
    print("\nInput report")
    for row in record.row_counts:
        print(
            f"  {row['table']:<15} {row['rows_read']:>12,} read = {row['rows_accepted']:>12,} accepted "
            f"+ {row['rows_set_aside']:>10,} set aside"
        )
        for reason, count in record.set_aside_by_reason.get(row["table"], {}).items():
            print(f"      {reason:<34} {count:>10,}")
            for example in record.set_aside_examples.get(row["table"], {}).get(reason, []):
                print(f"          {set_aside.example_line(example)}")


def _print_summary(record: RunRecord, published: Path) -> None:
    _print_input_report(record)
    counts = record.dbt.get("counts", {})
    built = ", ".join(
        f"{sum(statuses.values())} {kind.replace('_', ' ')}s"
        for kind, statuses in sorted(counts.items())
        if kind != "operation"  # run hooks
    )
    print(f"  dbt: {built}; all passed")
    suites = len(record.checks)
    expectations = sum(len(check.get("expectations", [])) for check in record.checks)
    print(f"  checks: {suites} Great Expectations suites, {expectations} expectations, all passed")
    for mart, checksum in record.mart_checksums.items():
        print(f"  marts.{mart:<22} {checksum['rows']:>11,} rows")
    with duckdb.connect(str(published), read_only=True) as con:
        headline = con.execute(
            """
            select month, customers_end, churn_rate_trailing_6m, ltv_trailing_6m
            from marts.fct_churn_monthly
            where is_complete
            order by month desc
            limit 1
            """
        ).fetchone()
        win_back = con.execute("select count(*), sum(value_at_stake) from marts.fct_win_back_list").fetchone()
    if headline:
        month, customers_end, churn, ltv = headline
        churn_text = "n/a" if churn is None else f"{churn:.1%}"
        ltv_text = "n/a" if ltv is None else f"{ltv:,.2f}"
        print(
            f"\nLast complete month {month}: {customers_end:,} customers in the base; monthly churn "
            f"{churn_text} and LTV {ltv_text} (trailing 6 months)"
        )
    if win_back and win_back[0]:
        print(
            f"Win-back list: {win_back[0]:,} customers in the base to contact, {win_back[1] or 0:,.2f} of "
            "value at stake (marts.fct_win_back_list)"
        )
    print(f"Warehouse: {published}  (schema `marts`; set-aside rows in schema `quarantine`)")
    print("Open it with any DuckDB client or BI tool (read-only while a run may publish).")
