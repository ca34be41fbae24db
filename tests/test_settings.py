"""Settings from the command line (`--as-of`, `--churn-inactivity-days`, `--timezone`, `--vars`,
`--max-set-aside-share`): refused with exit 2 and one line before anything runs, recorded in the run
record when good, and refused by dbt itself (macros/validate_settings.sql) for plain `dbt` users."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dbt_project_runner import DbtFailed, run_dbt

pytestmark = pytest.mark.pipeline

LIFECYCLE = Path(sys.executable).with_name("lifecycle")


def lifecycle(args: list[str], warehouse: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LIFECYCLE_DUCKDB_PATH": str(warehouse), "DO_NOT_TRACK": "1", **(env or {})}
    return subprocess.run([str(LIFECYCLE), *args], env=env, capture_output=True, text=True, timeout=600)


BAD = [
    (["--churn-inactivity-days", "abc"], {}, r"--churn-inactivity-days: 'abc' is not allowed.*1 to 3650"),
    (["--churn-inactivity-days", "-5"], {}, r"--churn-inactivity-days: '-5' is not allowed"),
    (["--churn-inactivity-days", "0"], {}, r"--churn-inactivity-days: '0' is not allowed"),
    (["--churn-inactivity-days", "45.9"], {}, r"--churn-inactivity-days: '45.9' is not allowed"),
    (["--timezone", "Mars/Olympus"], {}, r"--timezone: 'Mars/Olympus' is not an IANA time zone"),
    (["--timezone", "../../etc/passwd"], {}, r"--timezone: '../../etc/passwd' is not an IANA time zone"),
    (["--as-of", "9999-12-31"], {}, r"--as-of: '9999-12-31' is out of range.*1970-01-01 to 2100-12-31"),
    (["--as-of", "2024-02-30"], {}, r"--as-of: not a date \(YYYY-MM-DD\): '2024-02-30'"),
    (["--as-of", "20240101"], {}, r"--as-of: not a date \(YYYY-MM-DD\): '20240101'"),
    (["--vars", "{churn_inactivity_days: 0}"], {}, r"--vars churn_inactivity_days: '0' is not allowed"),
    (["--vars", '{"as_of_date": "2024-01-01\u0027"}'], {}, r"--vars as_of_date: not a date.*2024-01-01'"),
    (["--vars", "[45]"], {}, r"--vars '\[45\]' is not a mapping"),
    (["--vars", "{raw_data_dir: /tmp}"], {}, r"--vars raw_data_dir: the pipeline .* use --data-dir"),
    (
        ["--churn-inactivity-days", "45", "--vars", "{churn_inactivity_days: 30}"],
        {},
        r"--churn-inactivity-days 45 contradicts --vars churn_inactivity_days: 30",
    ),
    (["--max-set-aside-share", "1.5"], {}, r"--max-set-aside-share: '1.5' is not allowed; .* 0 to 1"),
    ([], {"LIFECYCLE_MAX_SET_ASIDE_SHARE": "ten"}, r"LIFECYCLE_MAX_SET_ASIDE_SHARE: 'ten' is not allowed"),
]


@pytest.mark.parametrize(("args", "env", "message"), BAD, ids=[" ".join(case[0]) or "env" for case in BAD])
def test_a_bad_setting_is_a_usage_error_before_anything_runs(
    args: list[str], env: dict, message: str, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    completed = lifecycle(["run", *args], warehouse, env)
    assert completed.returncode == 2, completed.stdout + completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("usage error: "), completed.stderr
    assert re.search(message, lines[0]), lines[0]
    assert completed.stdout == "" and not warehouse.exists()


def test_check_refuses_the_same_settings(tmp_path: Path) -> None:
    completed = lifecycle(["check", "--churn-inactivity-days", "45.9"], tmp_path / "warehouse.duckdb")
    assert completed.returncode == 2 and "'45.9' is not allowed" in completed.stderr


@pytest.mark.parametrize(
    ("dbt_vars", "message"),
    [
        ({"churn_inactivity_days": "abc"}, r"invalid setting: churn_inactivity_days = abc is not allowed"),
        ({"churn_inactivity_days": 45.9}, r"invalid setting: churn_inactivity_days = 45.9 is not allowed"),
        ({"as_of_date": "2024-01-01'"}, r"invalid setting: as_of_date = 2024-01-01' is not allowed"),
        ({"as_of_date": "9999-12-31"}, r"invalid setting: as_of_date = 9999-12-31 is not allowed"),
        ({"as_of_date": "2023-02-29"}, r"invalid setting: as_of_date = 2023-02-29 is not allowed"),
        ({"reporting_timezone": "UTC'; --"}, r"invalid setting: reporting_timezone = UTC'; -- is not"),
        (
            {"inactivity_cooling_days": 70},
            r"invalid setting: inactivity_cooling_days \(70\) <= inactivity_at_risk",
        ),
        (
            {"rfm_segment_rules": [{"segment": "vip", "r_min": 9}]},
            r"rfm_segment_rules item 1: r_min = 9 is not",
        ),
    ],
)
def test_plain_dbt_refuses_a_bad_var_naming_it(dbt_vars: dict, message: str, tmp_path: Path) -> None:
    """The check runs from on-run-start, before any model: nothing is built, and never a SQL error."""
    with pytest.raises(DbtFailed, match=message) as failed:
        run_dbt(["run", "--select", "int_reporting_window"], tmp_path, vars=dbt_vars)
    assert "Parser Error" not in str(failed.value)
    assert not (tmp_path / "warehouse.duckdb").exists()


# Four customers around as_of 2024-06-30; c5's last payment is 2024-05-16 22:30 UTC, which is
# 2024-05-17 00:30 in Berlin (summer time, UTC+2): 45 days before as_of in UTC, 44 in Berlin.
TINY_PAYMENTS = """\
payment_id,customer_id,paid_at,amount,currency,status
p1,c1,2024-03-01T10:00:00Z,20,EUR,succeeded
p2,c1,2024-06-01T10:00:00Z,20,EUR,succeeded
p3,c2,2024-05-01T10:00:00Z,30,EUR,succeeded
p4,c3,2024-04-15T10:00:00Z,40,EUR,succeeded
p5,c4,2024-01-10T10:00:00Z,50,EUR,succeeded
p6,c5,2024-05-16T22:30:00Z,60,EUR,succeeded
"""


def test_good_settings_are_recorded_and_change_the_marts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "payments.csv").write_text(TINY_PAYMENTS)
    warehouse = tmp_path / "warehouse.duckdb"
    completed = lifecycle(
        [
            "run",
            "--data-dir",
            str(data),
            "--as-of",
            "2024-06-30",
            "--churn-inactivity-days",
            "45",
            "--timezone",
            "Europe/Berlin",
            "--vars",
            "{some_other_var: 7}",
        ],
        warehouse,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    record = json.loads(
        Path(completed.stdout.strip().splitlines()[-1].removeprefix("run record: ")).read_text()
    )
    assert record["settings"]["churn_inactivity_days"] == 45
    assert record["settings"]["reporting_timezone"] == "Europe/Berlin"
    assert record["settings"]["as_of_date"] == "2024-06-30"
    assert record["settings"]["vars"] == {"some_other_var": 7}
    assert record["settings"]["dbt_vars"] == {
        "some_other_var": 7,
        "as_of_date": "2024-06-30",
        "churn_inactivity_days": 45,
        "reporting_timezone": "Europe/Berlin",
    }
    with duckdb.connect(str(warehouse), read_only=True) as con:
        in_base = dict(
            con.execute("select customer_id, is_in_base from marts.dim_customers order by 1").fetchall()
        )
        # By hand: c1 29 days, c5 44 days (Berlin) -> in; c2 60, c3 76, c4 172 -> out. At the 90-day
        # default in UTC c2, c3 and c5 (45 days) would be in as well: 4 customers, not 2.
        assert in_base == {"c1": True, "c2": False, "c3": False, "c4": False, "c5": True}
        days = dict(
            con.execute("select customer_id, days_since_last_purchase from marts.dim_customers").fetchall()
        )
        assert days == {"c1": 29, "c2": 60, "c3": 76, "c4": 172, "c5": 44}
        # The same from the customer-month grid of the published warehouse with plain SQL: the last
        # purchase date per customer (Berlin calendar) within 45 days of as_of, against the mart.
        expected = con.execute(
            """
            select
                count(*) filter (where date '2024-06-30' - last_purchase_date < 45),
                count(*) filter (where date '2024-06-30' - last_purchase_date < 90)
            from marts.dim_customers
            where purchase_count > 0
            """
        ).fetchone()
        assert expected == (2, 4)
        at_end = con.execute(
            "select count(*) from marts.fct_customer_months "
            "where month = date '2024-06-01' and is_in_base_at_end"
        ).fetchone()[0]
        assert at_end == expected[0] == sum(in_base.values())
