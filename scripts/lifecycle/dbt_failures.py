"""What went wrong in a failed dbt command, said on screen: for each failed node its name, the cause
(the first meaningful lines of dbt's message) and a fix where one is known, and the exit code it
means. The full messages stay in the run record and in target/runs/<run_id>/.

Exit codes: a message carrying the marker "invalid input:" (macros raise it for problems in the
input data) or one of raw_table's file and column errors is invalid input (3); "invalid setting:"
(macros/validate_settings.sql) is a usage error (2); failed data or unit tests only are failed checks
(4); anything else is an internal error (1).
"""

from __future__ import annotations

import re

EXIT_INTERNAL_ERROR = 1
EXIT_USAGE = 2
EXIT_INVALID_INPUT = 3
EXIT_CHECKS_FAILED = 4

INPUT_MARKER = "invalid input:"
SETTING_MARKER = "invalid setting:"
# raw_table's compiler errors (macros/raw_table.sql) name a file or column the input lacks.
INPUT_PATTERNS = (
    re.compile(r"\.(csv|parquet) not found in "),
    re.compile(r"\.(csv|parquet): missing column\(s\) "),
    re.compile(r"raw_data_dir: both .* are in .*; keep one"),
)
TIMESTAMP = re.compile(r"^\d\d:\d\d:\d\d\s+")
# Lines of dbt's messages that say where, not what.
NOISE = re.compile(
    r"^(Compilation Error|Runtime Error|Database Error|Parsing Error|Catalog Error|Binder Error)"
    r"( in \w+ [\w.-]+ \(.*\))?:?$|^>|^compiled code at |^$"
)
FIXES = (
    (
        re.compile(r"every row was set aside"),
        "compare the file with the input contract (README.md, 'Your own data'): a column's format, "
        "the status values or the currency",
    ),
    (re.compile(r"rebuild with --full-refresh|--full-refresh", re.I), "run again with --full-refresh"),
    (
        re.compile(r"not found in |missing column"),
        "check the file names and header against the input contract (README.md)",
    ),
    (re.compile(re.escape(SETTING_MARKER)), "correct the option or --vars value named above"),
    (
        re.compile(r"Out of Memory|OutOfMemory|memory limit", re.I),
        "set LIFECYCLE_MEMORY_LIMIT lower than the machine's free memory, or free memory",
    ),
    (
        re.compile(r"Could not set lock|Conflicting lock", re.I),
        "another process has the warehouse open for writing; close it and run again",
    ),
    (
        re.compile(r"Got \d+ results?, configured to (fail|warn)"),
        "the test's SQL is under target/runs/<run_id>/compiled; run it to see the failing rows",
    ),
)


def cause(message: str, max_lines: int = 3) -> str:
    """The first meaningful lines of a dbt message, without the 'Compilation Error in ...' header, the
    '> in macro' trail and, for dbt's own console output, what precedes 'Encountered an error:'."""
    text = message or ""
    if "Encountered an error:" in text:
        text = text.split("Encountered an error:", 1)[1]
    lines = []
    for raw in text.splitlines():
        line = TIMESTAMP.sub("", raw).strip()
        if line.startswith(("> in macro", "> called by")):
            break
        if NOISE.match(line):
            continue
        for marker in (INPUT_MARKER, SETTING_MARKER):
            if marker in line:  # drop DuckDB's "Invalid Input Error: " and the like before it
                line = line[line.index(marker) :]
        lines.append(line)
        if len(lines) == max_lines:
            break
    return " ".join(lines) or "(dbt gave no message; see logs/dbt.log)"


def fix(message: str) -> str | None:
    for pattern, advice in FIXES:
        if pattern.search(message or ""):
            return advice
    return None


def is_input_problem(message: str) -> bool:
    return INPUT_MARKER in (message or "") or any(pattern.search(message or "") for pattern in INPUT_PATTERNS)


def exit_code(failures: list[dict]) -> int:
    messages = [failure.get("message") or "" for failure in failures]
    if any(SETTING_MARKER in message for message in messages):
        return EXIT_USAGE
    if any(is_input_problem(message) for message in messages):
        return EXIT_INVALID_INPUT
    if failures and all(failure["node"].startswith(("test.", "unit_test.")) for failure in failures):
        return EXIT_CHECKS_FAILED
    return EXIT_INTERNAL_ERROR


def explain(failures: list[dict], run_id: str, limit: int = 10) -> list[str]:
    """Lines for the console: per failed node its name and status, the cause and a known fix."""
    lines = ["dbt failed:"]
    for failure in failures[:limit]:
        name = failure["node"].split(".")[-1] if failure["node"] != "dbt" else "dbt"
        lines.append(f"  {name} ({failure['status']}): {cause(failure.get('message') or '')}")
        advice = fix(failure.get("message") or "")
        if advice:
            lines.append(f"    fix: {advice.replace('<run_id>', run_id)}")
    if len(failures) > limit:
        lines.append(f"  ... and {len(failures) - limit} more (run record: target/runs/{run_id}.json)")
    return lines
