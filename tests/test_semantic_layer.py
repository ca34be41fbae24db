"""The semantic layer (MetricFlow; docs/metrics.md) on the demo build.

`mf validate-configs` passes (the semantic checks and the checks against the warehouse), and every
`mf` command of README.md's "Metrics" part runs on the demo data and returns exactly the numbers of
the mart it reads; the `mf` commands of docs/metrics.md run too. tests/test_readme.py only checks
that the README's `mf` commands and options exist, so each runs once, here.

The `mf` CLI pays an import, a `dbt debug` and a network update check per call (about 6 s): the
commands run in this process instead, through MetricFlow's own click command with one
configuration set up once, against a copy of the demo warehouse (the dbt adapter opens its file
read-write, which would lock out the other tests reading the shared one).
"""

from __future__ import annotations

import csv
import math
import re
import shlex
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from dbt_project_runner import PROJECT_DIR

README = PROJECT_DIR / "README.md"
METRICS_DOC = PROJECT_DIR / "docs" / "metrics.md"


def mf_commands(path: Path) -> list[list[str]]:
    """The `mf` commands of a Markdown file's fenced `sh` blocks, each as its words."""
    blocks = re.findall(r"^```sh\n(.*?)^```", path.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["mf"]:
                commands.append(words)
    return commands


def command_id(command: list[str]) -> str:
    return " ".join(command)


# What each README example must equal: the same figures computed from the marts with the definitions
# of docs/definitions.md (keyed by the command; a new example needs its expectation here). The first
# column is the group, the others the metrics in the order the command names them.
EXPECTED_FROM_MARTS = {
    "mf query --metrics churn_rate,retention_rate --group-by metric_time__month": """
        select month, churn_rate, retention_rate from marts.fct_churn_monthly
    """,
    "mf query --metrics first_purchase_revenue,repeat_purchase_revenue,arpu "
    "--group-by metric_time__quarter": """
        with quarters as (
            select
                date_trunc('quarter', revenue.month) as quarter,
                sum(revenue.first_purchase_revenue) as first_purchase_revenue,
                sum(revenue.repeat_purchase_revenue) as repeat_purchase_revenue,
                sum(revenue.net_revenue) as net_revenue,
                sum((churn.customers_start + churn.customers_end) / 2) as customer_months_in_base
            from marts.fct_revenue_monthly as revenue
            inner join marts.fct_churn_monthly as churn on revenue.month = churn.month
            group by 1
        )
        select
            quarter, first_purchase_revenue, repeat_purchase_revenue,
            net_revenue / nullif(customer_months_in_base, 0) as arpu
        from quarters
    """,
    "mf query --metrics cohort_retention_rate --group-by cohort__months_since_first "
    "--where {{ Dimension('cohort__is_complete') }}": """
        select months_since_first, sum(active_customers) / sum(cohort_size) as cohort_retention_rate
        from marts.fct_cohort_retention
        where is_complete
        group by 1
    """,
    "mf query --metrics arpu_churn_ltv,customer_acquisition_cost,ltv_to_cac "
    "--group-by ltv_group__acquisition_channel "
    "--where {{ Dimension('ltv_group__grouping') }} = 'acquisition_channel'": """
        select acquisition_channel, arpu_churn_ltv, customer_acquisition_cost, ltv_to_cac
        from marts.fct_ltv
        where grouping = 'acquisition_channel'
    """,
}


class _NoUpdateCheck:
    """Stands in for update_checker.UpdateChecker: the tests do not ask PyPI for a newer mf."""

    def check(self, *_args: object) -> None:
        return None


@pytest.fixture(scope="module")
def mf(demo_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Runs one `mf` command (its words after `mf`) in this process; returns (exit code, output).

    MetricFlow reads `<project>/target/semantic_manifest.json`: the project here is a folder with
    the project's dbt_project.yml and the demo build's semantic manifest, beside a copy of its
    warehouse under the same file name (the manifest names relations by the file's catalog)."""
    from click.testing import CliRunner
    from dbt_metricflow.cli import main as mf_main
    from dbt_metricflow.cli.cli_configuration import CLIConfiguration

    root = tmp_path_factory.mktemp("metricflow")
    (root / "target").mkdir()
    manifest = "semantic_manifest.json"
    shutil.copyfile(demo_build / "target" / manifest, root / "target" / manifest)
    (root / "dbt_project.yml").symlink_to(PROJECT_DIR / "dbt_project.yml")
    shutil.copyfile(demo_build / "warehouse.duckdb", root / "warehouse.duckdb")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mf_main, "UpdateChecker", _NoUpdateCheck)
        for name, value in {
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "LIFECYCLE_DUCKDB_PATH": str(root / "warehouse.duckdb"),
            "LIFECYCLE_TARGET": "dev",
        }.items():
            patch.setenv(name, value)
        config = CLIConfiguration()
        config.setup(dbt_profiles_path=PROJECT_DIR, dbt_project_path=root, configure_file_logging=False)
        runner = CliRunner()

        def run(arguments: list[str]) -> tuple[int, str]:
            # The mf command group installs its own SIGINT/SIGTERM handlers: keep pytest's.
            handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
            try:
                result = runner.invoke(mf_main.cli, arguments, obj=config)
            finally:
                for number, handler in handlers.items():
                    signal.signal(number, handler)
            output = result.output + (repr(result.exception) if result.exception else "")
            return result.exit_code, output

        yield run
        config.sql_client.close()


def test_validate_configs_passes_on_the_demo_warehouse(mf) -> None:
    code, output = mf(["validate-configs"])
    assert code == 0, output


def test_readme_shows_metricflow_queries() -> None:
    commands = mf_commands(README)
    assert 2 <= len(commands) <= 4, commands
    assert all(command[1] == "query" for command in commands), commands


@pytest.mark.parametrize("command", mf_commands(README), ids=command_id)
def test_readme_query_matches_its_mart(command: list[str], mf, demo_build: Path, tmp_path: Path) -> None:
    expected_sql = EXPECTED_FROM_MARTS.get(command_id(command))
    assert expected_sql, f"add the README's `{command_id(command)}` to EXPECTED_FROM_MARTS"
    out = tmp_path / "result.csv"
    code, output = mf([*command[1:], "--csv", str(out)])
    assert code == 0, output
    with out.open(newline="") as file:
        header, *rows = list(csv.reader(file))
    with duckdb.connect(str(demo_build / "warehouse.duckdb"), read_only=True) as con:
        expected = con.execute(expected_sql).fetchall()
    assert len(header) == len(expected[0]), (header, expected[0])
    assert len(rows) == len(expected), (len(rows), len(expected))
    actual_by_group = {_group(row[0]): row[1:] for row in rows}
    for group, *values in expected:
        actual = actual_by_group[_group(group)]
        for name, got, want in zip(header[1:], actual, values, strict=True):
            assert _same(got, want), f"{name} at {group}: mf {got!r}, mart {want!r}"


def test_metrics_doc_queries_run(mf, tmp_path: Path) -> None:
    """docs/metrics.md's other `mf` commands (the README's and validate-configs run above) all run."""
    covered = {command_id(command) for command in mf_commands(README)} | {"mf validate-configs"}
    commands = [command for command in mf_commands(METRICS_DOC) if command_id(command) not in covered]
    assert commands, "docs/metrics.md shows no mf command of its own"
    for index, command in enumerate(commands):
        arguments = command[1:]
        if arguments[0] == "query":
            arguments = [*arguments, "--csv", str(tmp_path / f"{index}.csv")]
        code, output = mf(arguments)
        assert code == 0, f"`{command_id(command)}` failed:\n{output}"


def _group(value: object) -> str:
    """A group value as text: days of timestamps and dates alike, numbers as integers where whole,
    null as the empty text of mf's CSV."""
    text = "" if value is None else str(value)
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return text[:10]
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def _same(got: str, want: object) -> bool:
    if want is None:
        return got == ""
    if got == "":
        return False
    expected = float(want)
    return math.isclose(float(got), expected, rel_tol=1e-9, abs_tol=1e-9)
