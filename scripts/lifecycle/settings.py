"""The settings a run is built with, validated before anything runs.

`lifecycle run` and `lifecycle check` take `--as-of`, `--churn-inactivity-days`, `--timezone` and a
generic `--vars` mapping passed through to dbt. Every value is checked here, in Python, so a bad one
stops the command with exit 2 and one line naming the setting, the value and what is allowed, before a
file is read or dbt starts. dbt checks the same vars itself (macros/validate_settings.sql) for people
who run `dbt build --vars ...` directly. Ranges and rules: docs/pipeline.md, "Settings".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from lifecycle.paths import PROJECT_DIR

AS_OF_MIN = dt.date(1970, 1, 1)
AS_OF_MAX = dt.date(2100, 12, 31)
CHURN_DAYS_MIN = 1
CHURN_DAYS_MAX = 3650
DEFAULT_MAX_SET_ASIDE_SHARE = 0.1
MAX_SET_ASIDE_ENV = "LIFECYCLE_MAX_SET_ASIDE_SHARE"
KEEP_RUNS_ENV = "LIFECYCLE_KEEP_RUNS"
DEFAULT_KEEP_RUNS = 50
# Vars the pipeline sets itself: it loads the files into schema `raw` and points dbt at it.
PIPELINE_VARS = ("raw_data_dir", "raw_schema")
# Named options and the dbt var each one sets.
NAMED = {
    "as_of": ("--as-of", "as_of_date"),
    "churn_inactivity_days": ("--churn-inactivity-days", "churn_inactivity_days"),
    "timezone": ("--timezone", "reporting_timezone"),
}
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
ZONE_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}")


class SettingsError(Exception):
    """A setting that cannot be used; the message is one line naming it, its value and what is allowed."""


@dataclass
class Settings:
    """The validated settings of one command."""

    as_of_date: str | None = None
    churn_inactivity_days: int | None = None
    reporting_timezone: str | None = None
    extra_vars: dict = field(default_factory=dict)
    max_set_aside_share: float = DEFAULT_MAX_SET_ASIDE_SHARE
    keep_runs: int = DEFAULT_KEEP_RUNS

    def dbt_vars(self) -> dict:
        """The vars given to dbt: the pass-through ones and those set explicitly (dbt's defaults in
        dbt_project.yml stay in force for the rest)."""
        given = {
            "as_of_date": self.as_of_date,
            "churn_inactivity_days": self.churn_inactivity_days,
            "reporting_timezone": self.reporting_timezone,
        }
        return {**self.extra_vars, **{name: value for name, value in given.items() if value is not None}}

    def to_record(self) -> dict:
        """The effective settings for the run record, dbt_project.yml's defaults filled in."""
        defaults = project_var_defaults()
        effective = {
            name: value if value is not None else defaults.get(name)
            for name, value in (
                ("as_of_date", self.as_of_date),
                ("churn_inactivity_days", self.churn_inactivity_days),
                ("reporting_timezone", self.reporting_timezone),
            )
        }
        return {
            **effective,
            "vars": self.extra_vars,
            "max_set_aside_share": self.max_set_aside_share,
            "keep_runs": self.keep_runs,
        }


def add_arguments(parser: argparse.ArgumentParser, run: bool) -> None:
    """The settings options of `lifecycle run` (run=True) and `lifecycle check`. Values are taken as
    text and validated by `resolve`, which reports one clear line instead of argparse's usage text."""
    parser.add_argument("--as-of", metavar="YYYY-MM-DD", help="as_of_date (default: latest payment date)")
    parser.add_argument(
        "--churn-inactivity-days",
        metavar="N",
        help=f"churn_inactivity_days, {CHURN_DAYS_MIN}..{CHURN_DAYS_MAX} (default 90)",
    )
    parser.add_argument(
        "--timezone",
        metavar="TZ",
        help="reporting_timezone, an IANA zone such as Europe/Berlin (default UTC)",
    )
    parser.add_argument(
        "--vars",
        dest="dbt_vars",
        metavar="MAPPING",
        help="more dbt vars, a YAML or JSON mapping; must not contradict the options above",
    )
    if run:
        parser.add_argument(
            "--max-set-aside-share",
            metavar="SHARE",
            help=(
                "fail (exit 4) when more than this share (0..1) of any input table's rows is set aside "
                f"(default ${MAX_SET_ASIDE_ENV} or {DEFAULT_MAX_SET_ASIDE_SHARE})"
            ),
        )


def resolve(args: argparse.Namespace) -> Settings:
    """Validated settings from the command line, --vars and the environment; raises SettingsError."""
    extra = parse_vars(getattr(args, "dbt_vars", None))
    values: dict[str, object] = {}
    for attribute, (option, var) in NAMED.items():
        given = getattr(args, attribute, None)
        from_vars = extra.pop(var, None)
        if given is not None and from_vars is not None and str(given) != _text(from_vars):
            raise SettingsError(
                f"{option} {given} contradicts --vars {var}: {_text(from_vars)}; give the setting once"
            )
        if given is not None:
            values[var] = (option, given)
        elif from_vars is not None:
            values[var] = (f"--vars {var}", from_vars)
    settings = Settings(extra_vars=extra)
    if "as_of_date" in values:
        settings.as_of_date = as_of_date(*values["as_of_date"])
    if "churn_inactivity_days" in values:
        settings.churn_inactivity_days = churn_inactivity_days(*values["churn_inactivity_days"])
    if "reporting_timezone" in values:
        settings.reporting_timezone = reporting_timezone(*values["reporting_timezone"])
    if hasattr(args, "max_set_aside_share"):
        settings.max_set_aside_share = max_set_aside_share(args.max_set_aside_share)
        settings.keep_runs = keep_runs()
    return settings


def parse_vars(text: str | None) -> dict:
    if text is None:
        return {}
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as error:
        problem = str(error).splitlines()[0]
        raise SettingsError(f"--vars {text!r} is not YAML or JSON ({problem}); give a mapping") from None
    if parsed is None:
        return {}
    if not isinstance(parsed, dict) or not all(isinstance(key, str) for key in parsed):
        raise SettingsError(
            f"--vars {text!r} is not a mapping; give one like '{{churn_inactivity_days: 45}}'"
        )
    for name in PIPELINE_VARS:
        if name in parsed:
            raise SettingsError(
                f"--vars {name}: the pipeline loads the files itself and sets {name}; use --data-dir"
            )
    # JSON-able values (YAML reads 2025-06-30 as a date), as dbt will receive them.
    return json.loads(json.dumps(parsed, default=str))


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def as_of_date(source: str, value: object) -> str:
    text = _text(value)
    if not DATE_PATTERN.fullmatch(text):
        raise SettingsError(f"{source}: not a date (YYYY-MM-DD): {text!r}")
    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        raise SettingsError(f"{source}: not a date (YYYY-MM-DD): {text!r}") from None
    if not AS_OF_MIN <= date <= AS_OF_MAX:
        raise SettingsError(
            f"{source}: {text!r} is out of range; as_of_date must be from {AS_OF_MIN} to {AS_OF_MAX}"
        )
    return text


def churn_inactivity_days(source: str, value: object) -> int:
    text = str(value).strip()
    if (
        isinstance(value, bool)
        or not re.fullmatch(r"[0-9]+", text)
        or not (CHURN_DAYS_MIN <= int(text) <= CHURN_DAYS_MAX)
    ):
        raise SettingsError(
            f"{source}: {str(value)!r} is not allowed; churn_inactivity_days must be a whole number of "
            f"days from {CHURN_DAYS_MIN} to {CHURN_DAYS_MAX}"
        )
    return int(text)


def reporting_timezone(source: str, value: object) -> str:
    text = str(value)
    known = False
    if ZONE_PATTERN.fullmatch(text):
        try:
            zoneinfo.ZoneInfo(text)
            known = True
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            known = False
    if not known:
        raise SettingsError(
            f"{source}: {text!r} is not an IANA time zone; reporting_timezone must be a zone name such as "
            "UTC, Europe/Berlin or America/New_York"
        )
    return text


def max_set_aside_share(value: str | None) -> float:
    source = "--max-set-aside-share"
    if value is None:
        value = os.environ.get(MAX_SET_ASIDE_ENV)
        source = MAX_SET_ASIDE_ENV
        if value is None or value.strip() == "":
            return DEFAULT_MAX_SET_ASIDE_SHARE
    try:
        share = float(value)
    except ValueError:
        share = math.nan
    if not 0 <= share <= 1:
        raise SettingsError(f"{source}: {value!r} is not allowed; give a share from 0 to 1, e.g. 0.1")
    return share


def keep_runs() -> int:
    """LIFECYCLE_KEEP_RUNS: how many run records of a warehouse are kept (lifecycle.history)."""
    value = os.environ.get(KEEP_RUNS_ENV, "").strip()
    if not value:
        return DEFAULT_KEEP_RUNS
    if not re.fullmatch(r"[0-9]+", value) or int(value) < 1:
        raise SettingsError(
            f"{KEEP_RUNS_ENV}: {value!r} is not allowed; give a whole number of runs, 1 or more"
        )
    return int(value)


def project_var_defaults() -> dict:
    """The vars block of dbt_project.yml (plain values)."""
    try:
        project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return dict(project.get("vars") or {})


def check_warehouse_file(path: Path) -> None:
    """Refuse a warehouse path that holds something other than a DuckDB database (a CSV, say), before
    anything opens it: DuckDB would fail on it, or a mistyped path would be overwritten by the publish.
    A missing or empty file is fine; a DuckDB file has the magic bytes DUCK at offset 8."""
    if path.is_dir():
        raise SettingsError(f"LIFECYCLE_DUCKDB_PATH: {path} is a directory; give the path of a .duckdb file")
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as handle:
        header = handle.read(12)
    if header[8:12] != b"DUCK":
        raise SettingsError(
            f"LIFECYCLE_DUCKDB_PATH: {path} is not a DuckDB database (no DUCK at byte 8) and was left "
            "untouched; point LIFECYCLE_DUCKDB_PATH at a DuckDB file or at a new path"
        )
