"""The GitHub Actions workflows are valid and do what docs/pipeline.md ("Schedule it") says.

Syntax: check-jsonschema validates them against the GitHub workflow schema it ships (offline), and
`bash -n` parses every `run:` script. (actionlint's PyPI wrapper downloads its binary from GitHub
when installed, which cannot be done here.) Then the jobs and steps: CI runs `.ci/run` on pull
requests and pushes to main; the pipeline restores yesterday's warehouse, runs `lifecycle run`, saves
a new cache entry, uploads the report, the run record and the quarantine summary, and fails with a
job summary. `.ci/pipeline_summary.py` is run on a failed run's record.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dbt_project_runner import PROJECT_DIR

WORKFLOWS = PROJECT_DIR / ".github" / "workflows"
BIN = Path(sys.executable).parent
EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def workflow(name: str) -> dict:
    loaded = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    loaded["on"] = loaded.pop(True, loaded.get("on"))
    return loaded


def steps(loaded: dict, job: str) -> list[dict]:
    return loaded["jobs"][job]["steps"]


def step(loaded: dict, job: str, uses: str | None = None, name: str | None = None) -> dict:
    found = [
        item
        for item in steps(loaded, job)
        if (uses and item.get("uses", "").startswith(uses + "@")) or (name and item.get("name") == name)
    ]
    assert len(found) == 1, (uses, name, found)
    return found[0]


def test_the_workflows_match_githubs_schema() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {path.name for path in files} == {"ci.yml", "pipeline.yml"}
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, files)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["ci.yml", "pipeline.yml"])
def test_every_run_script_is_valid_bash_and_every_action_is_pinned(name: str) -> None:
    loaded = workflow(name)
    for job in loaded["jobs"]:
        for item in steps(loaded, job):
            if "run" in item:
                script = EXPRESSION.sub("placeholder", item["run"])
                result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
                assert result.returncode == 0, (item.get("name"), result.stderr)
            if "uses" in item:
                assert re.search(r"@v\d+$", item["uses"]), f"pin {item['uses']} to a major version"


def test_ci_runs_every_test_on_pull_requests_and_pushes_to_main() -> None:
    ci = workflow("ci.yml")
    assert "pull_request" in ci["on"]
    assert ci["on"]["push"]["branches"] == ["main"]
    names = [item.get("uses", item.get("run")) for item in steps(ci, "test")]
    assert names == ["actions/checkout@v4", "actions/setup-python@v5", "bash .ci/run"]
    assert step(ci, "test", uses="actions/setup-python")["with"]["python-version"] == "3.11"
    assert (PROJECT_DIR / ".ci" / "run").is_file()


def test_the_pipeline_runs_daily_and_on_demand() -> None:
    pipeline = workflow("pipeline.yml")
    (schedule,) = pipeline["on"]["schedule"]
    assert len(schedule["cron"].split()) == 5 and schedule["cron"].endswith("* * *")
    assert "data_dir" in pipeline["on"]["workflow_dispatch"]["inputs"]
    assert "LIFECYCLE_DATA_DIR" in pipeline["env"]
    assert pipeline["concurrency"]["cancel-in-progress"] is False


def test_the_pipeline_restores_yesterdays_warehouse_and_saves_a_new_entry() -> None:
    pipeline = workflow("pipeline.yml")
    order = [item.get("uses", item.get("name")) for item in steps(pipeline, "run")]
    restore = step(pipeline, "run", uses="actions/cache/restore")
    save = step(pipeline, "run", uses="actions/cache/save")
    run = step(pipeline, "run", name="lifecycle run")
    assert order.index(restore["uses"]) < order.index("lifecycle run") < order.index(save["uses"])
    assert restore["with"]["path"] == save["with"]["path"]
    assert set(restore["with"]["path"].split()) == {"lifecycle.duckdb", "target/runs/*.json"}
    # Today's key is new (the run id), and yesterday's entry is found by its prefix.
    assert restore["with"]["key"] == save["with"]["key"] and "github.run_id" in save["with"]["key"]
    prefix = restore["with"]["restore-keys"].strip()
    assert save["with"]["key"].startswith(prefix)
    assert "always()" in save["if"]
    # Incremental: no --full-refresh; the exit code is the step's, and is kept for the summary.
    assert ".venv/bin/lifecycle run" in run["run"] and "--full-refresh" not in run["run"]
    assert "PIPESTATUS[0]" in run["run"] and 'exit "$code"' in run["run"]
    assert "GITHUB_OUTPUT" in run["run"]


def test_the_pipeline_uploads_the_report_the_record_and_the_quarantine_summary() -> None:
    pipeline = workflow("pipeline.yml")
    uploads = [
        item for item in steps(pipeline, "run") if item.get("uses", "").startswith("actions/upload-artifact@")
    ]
    paths = {line.strip() for item in uploads for line in item["with"]["path"].splitlines()}
    assert {"lifecycle_report.html", "target/runs/*.json", "quarantine_summary.md"} <= paths
    for item in uploads:
        assert item["if"] == "always()" and item["with"]["if-no-files-found"] == "warn"
    summary = step(pipeline, "run", name="Job summary and quarantine summary")
    assert "always()" in summary["if"] and "GITHUB_STEP_SUMMARY" in summary["run"]
    assert ".ci/pipeline_summary.py" in summary["run"] and "quarantine_summary.md" in summary["run"]
    assert (PROJECT_DIR / ".ci" / "pipeline_summary.py").is_file()


def test_the_commands_the_workflows_run_exist() -> None:
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert re.search(r"^setup:", makefile, re.MULTILINE)
    usage = subprocess.run([str(BIN / "lifecycle"), "--help"], capture_output=True, text=True, check=True)
    assert {"run", "publish"} <= set(re.search(r"\{([\w,-]+)\}", usage.stdout).group(1).split(","))
    publish = step(workflow("pipeline.yml"), "run", name="Publish to PostgreSQL")
    assert publish["run"] == ".venv/bin/lifecycle publish --target postgres"
    assert "secrets.LIFECYCLE_PG_PASSWORD" in publish["env"]["LIFECYCLE_PG_PASSWORD"]


def summary_script():
    spec = importlib.util.spec_from_file_location(
        "pipeline_summary", PROJECT_DIR / ".ci" / "pipeline_summary.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_failed_run_gets_a_job_summary_with_its_outcome(tmp_path: Path) -> None:
    record = {
        "run_id": "20261206T051700Z-abcdef12",
        "as_of_date": None,
        "data_dir": "/data/exports",
        "outcome": "failed",
        "exit_code": 4,
        "message": "too many rows set aside (payments 20.0%; the limit is 10.0%)",
        "row_counts": [{"table": "payments", "rows_read": 10, "rows_accepted": 8, "rows_set_aside": 2}],
        "set_aside_by_reason": {"payments": {"invalid_amount": 2}},
        "set_aside_examples": {
            "payments": {
                "invalid_amount": [{"source_file": "/data/payments.csv", "source_line": 3, "amount": "ten"}]
            }
        },
        "dbt": {"failures": []},
        "checks": [],
        "mart_checksums": {},
    }
    record_path = tmp_path / "record.json"
    record_path.write_text(json.dumps(record))
    log = tmp_path / "lifecycle_run.log"
    log.write_text(f"step 1/6: checking input files\nrun failed: ...\nrun record: {record_path}\n")
    summary, quarantine = tmp_path / "summary.md", tmp_path / "quarantine_summary.md"
    module = summary_script()
    module.main(
        ["--log", str(log), "--exit-code", "4", "--summary", str(summary), "--quarantine", str(quarantine)]
    )
    text = summary.read_text()
    assert text.startswith("## lifecycle run: FAILED (exit 4, failed checks)")
    assert record["message"] in text and "| payments | 10 | 8 | 2 |" in text
    assert "payments: invalid_amount: 2 rows" in quarantine.read_text()
    assert "/data/payments.csv line 3: amount='ten'" in quarantine.read_text()

    # A usage error writes no record: the summary shows the exit code and the output's last lines.
    log.write_text("usage error: --as-of: 'tomorrow' is not a date\n")
    module.main(
        ["--log", str(log), "--exit-code", "2", "--summary", str(summary), "--quarantine", str(quarantine)]
    )
    assert "FAILED (exit 2, usage error)" in summary.read_text()
    assert "usage error: --as-of" in summary.read_text()
