"""`lifecycle build`: dbt build on the configured input, then a short summary of the marts."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time

import duckdb

from lifecycle.paths import DBT_EXECUTABLE, PROJECT_DIR, warehouse_path

MARTS = [
    "dim_customers",
    "fct_customer_months",
    "fct_cohort_retention",
    "fct_churn_monthly",
    "fct_revenue_monthly",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="directory with payments.csv|parquet (default: the demo seeds)")
    parser.add_argument("--as-of", help="as_of_date, YYYY-MM-DD (default: the date of the latest payment)")


def run(args: argparse.Namespace) -> int:
    """Build everything (seeds, models, snapshot, tests) and print where the results are."""
    database = warehouse_path()
    dbt_vars: dict[str, str] = {}
    if args.data_dir:
        dbt_vars["raw_data_dir"] = os.path.abspath(args.data_dir)
    if args.as_of:
        dbt_vars["as_of_date"] = args.as_of
    command = [
        str(DBT_EXECUTABLE),
        "build",
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
    ]
    if dbt_vars:
        command += ["--vars", json.dumps(dbt_vars)]
    env = {**os.environ, "LIFECYCLE_DUCKDB_PATH": str(database), "DO_NOT_TRACK": "1"}
    started = time.monotonic()
    completed = subprocess.run(command, cwd=PROJECT_DIR, env=env)
    if completed.returncode != 0:
        print(f"dbt build failed (exit {completed.returncode}); see the log above and {PROJECT_DIR / 'logs'}")
        return completed.returncode
    print_summary(database, time.monotonic() - started)
    return 0


def print_summary(database, elapsed_seconds: float) -> None:
    """Row counts of the marts, the reporting window and the headline figures."""
    with duckdb.connect(str(database), read_only=True) as con:
        as_of_date, as_of_month = con.execute(
            "select as_of_date, as_of_month from intermediate.int_reporting_window"
        ).fetchone()
        print(f"\nBuilt in {elapsed_seconds:.1f} s. Warehouse: {database}")
        print(f"as_of_date: {as_of_date}; marts in schema `marts`:")
        for mart in MARTS:
            (rows,) = con.execute(f"select count(*) from marts.{mart}").fetchone()
            print(f"  marts.{mart:<22} {rows:>9,} rows")
        headline = con.execute(
            """
            select month, customers_end, churn_rate_trailing_6m, ltv_trailing_6m
            from marts.fct_churn_monthly
            where is_complete
            order by month desc
            limit 1
            """
        ).fetchone()
        if headline:
            month, customers_end, churn, ltv = headline
            churn_text = "n/a" if churn is None else f"{churn:.1%}"
            ltv_text = "n/a" if ltv is None else f"{ltv:,.2f}"
            print(
                f"Last complete month {month}: {customers_end:,} customers in the base, "
                f"monthly churn (trailing 6 months) {churn_text}, LTV (trailing 6 months) {ltv_text}"
            )
    print(f"Query it: duckdb {database}  (or point your BI tool at the file; schema `marts`)")
