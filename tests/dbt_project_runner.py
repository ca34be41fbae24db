"""Build the real dbt project into a throw-away DuckDB file and read its marts back.

Every call is a separate `dbt` process with its own target and log folders, so tests never share
state and never touch the project's own `lifecycle.duckdb`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd

PROJECT_DIR = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).with_name("dbt")
MARTS = [
    "dim_customers",
    "fct_customer_months",
    "fct_cohort_retention",
    "fct_churn_monthly",
    "fct_revenue_monthly",
    "fct_customer_status_monthly",
]
# Who to act on and what they are worth (issue 17): the segment, LTV and win-back marts.
SEGMENT_MARTS = [
    "dim_customer_segments",
    "fct_segment_monthly",
    "fct_segment_transitions",
    "fct_ltv",
    "fct_win_back_list",
]


class DbtFailed(AssertionError):
    """A dbt command exited non-zero; the message carries its output."""


def run_dbt(
    args: list[str], workdir: Path, vars: dict | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run one dbt command against `workdir/warehouse.duckdb`; raise DbtFailed with its output on failure."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "LIFECYCLE_DUCKDB_PATH": str(workdir / "warehouse.duckdb"),
        **(env or {}),
    }
    cmd = [
        str(DBT),
        *args,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(workdir / "target"),
        "--log-path",
        str(workdir / "logs"),
    ]
    if vars:
        cmd += ["--vars", json.dumps(vars)]
    proc = subprocess.run(cmd, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DbtFailed(
            f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-8000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def read_table(workdir: Path, relation: str) -> pd.DataFrame:
    """Read one relation (e.g. 'marts.dim_customers') from the warehouse built in `workdir`."""
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(f"select * from {relation}").df()


def read_marts(workdir: Path) -> dict[str, pd.DataFrame]:
    """The lifecycle marts (MARTS) as DataFrames, keyed by model name."""
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as con:
        return {name: con.execute(f"select * from marts.{name}").df() for name in MARTS}
