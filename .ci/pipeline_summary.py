"""The scheduled pipeline's job summary and quarantine summary, from one `lifecycle run`'s output.

    python .ci/pipeline_summary.py --log lifecycle_run.log --exit-code 4 \
        --summary "$GITHUB_STEP_SUMMARY" --quarantine quarantine_summary.md

The run prints `run record: <path>` last; that record (target/runs/<run_id>.json) says what was read,
set aside, built and checked, and why a run failed. A run stopped by a usage error writes no record:
the summary then shows the exit code and the output's last lines. Standard library only, so it
works even when the install step did not.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

EXIT_CODES = {
    0: "success",
    1: "internal error",
    2: "usage error",
    3: "invalid input files",
    4: "failed checks",
    5: "the PostgreSQL server could not be reached or refused",
}


def run_record(log: str) -> dict | None:
    found = re.findall(r"^run record: (.+\.json)\s*$", log, re.MULTILINE)
    if not found or not Path(found[-1]).exists():
        return None
    return json.loads(Path(found[-1]).read_text())


def job_summary(log: str, exit_code: int | None, record: dict | None) -> str:
    if exit_code is None:
        title = "did not finish (cancelled, timed out, or an earlier step failed)"
    else:
        meaning = EXIT_CODES.get(exit_code, "unknown exit code")
        title = "success (exit 0)" if exit_code == 0 else f"FAILED (exit {exit_code}, {meaning})"
    lines = [f"## lifecycle run: {title}", ""]
    if record is None:
        tail = "\n".join(log.rstrip().splitlines()[-20:])
        lines += ["No run record: the run stopped before it started. Last lines of its output:", ""]
        lines += ["```", tail, "```"]
        return "\n".join(lines) + "\n"
    if record.get("message"):
        lines += [f"**{record['message']}**", ""]
    lines += [
        f"run `{record['run_id']}`, as of {record.get('as_of_date') or 'the latest payment'}, "
        f"data: `{record.get('data_dir') or 'the demo data'}`",
        "",
        "| input | read | accepted | set aside |",
        "|---|---:|---:|---:|",
    ]
    for row in record.get("row_counts") or []:
        counts = (row["rows_read"], row["rows_accepted"], row["rows_set_aside"])
        lines.append(f"| {row['table']} | " + " | ".join(f"{count:,}" for count in counts) + " |")
    for reason in record.get("rebuilt_whole") or []:
        lines.append(f"\nrebuilt whole: {reason}")
    failures = (record.get("dbt") or {}).get("failures") or []
    if failures:
        lines += ["", "dbt failures:", ""]
        lines += [f"- `{failure['node'].split('.')[-1]}` ({failure['status']})" for failure in failures[:20]]
    failed_checks = [check["name"] for check in record.get("checks") or [] if not check.get("success")]
    if failed_checks:
        lines += ["", "failed Great Expectations suites: " + ", ".join(f"`{name}`" for name in failed_checks)]
    marts = record.get("mart_checksums") or {}
    if marts:
        lines += ["", "| mart | rows |", "|---|---:|"]
        lines += [f"| {mart} | {checksum['rows']:,} |" for mart, checksum in marts.items()]
    lines += ["", "Rows set aside: the `quarantine-summary` file among the artifacts."]
    return "\n".join(lines) + "\n"


def quarantine_summary(record: dict | None) -> str:
    """The rows set aside by table and reason, with the run's example rows."""
    if record is None:
        return "# Rows set aside\n\nNo run record: nothing was read.\n"
    lines = ["# Rows set aside", "", f"run `{record['run_id']}`", ""]
    examples = record.get("set_aside_examples") or {}
    reasons = record.get("set_aside_by_reason") or {}
    if not any(reasons.values()):
        lines.append("None: every row read was used.")
    for table, counts in reasons.items():
        for reason, count in counts.items():
            lines.append(f"- {table}: {reason}: {count:,} rows")
            for example in examples.get(table, {}).get(reason, []):
                values = ", ".join(
                    f"{name}={value!r}"
                    for name, value in example.items()
                    if name not in ("source_file", "source_line")
                )
                lines.append(f"  - {example.get('source_file')} line {example.get('source_line')}: {values}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, required=True, help="the run's output (stdout and stderr)")
    parser.add_argument("--exit-code", default="", help="the run's exit code; empty if it did not finish")
    parser.add_argument("--summary", type=Path, required=True, help="append the job summary here")
    parser.add_argument("--quarantine", type=Path, required=True, help="write the quarantine summary here")
    args = parser.parse_args(argv)
    log = args.log.read_text(errors="replace") if args.log.exists() else ""
    record = run_record(log)
    with args.summary.open("a") as summary:
        exit_code = int(args.exit_code) if args.exit_code.strip().isdigit() else None
        summary.write(job_summary(log, exit_code, record))
    args.quarantine.write_text(quarantine_summary(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
