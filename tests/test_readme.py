"""Every shell command README.md shows works from a fresh clone, and every relative link resolves.

The commands are the lines of the README's fenced `sh` blocks (comments dropped, `&&` splitting one
line into several). Each must be one the project can run: `make` targets exist in the Makefile;
`lifecycle` subcommands and options exist in `lifecycle <command> --help`, and `lifecycle check` runs
for real on a copy of the demo data (slow: it loads and stages the files); `dbt` subcommands and
options exist in dbt's own command tree and `--vars` names only the project's vars. A command of any
other kind fails the test, so a new one gets a check here.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dbt_project_runner import PROJECT_DIR

README = PROJECT_DIR / "README.md"
BIN = Path(sys.executable).parent
PLACEHOLDER_DATA_DIR = "/path/to/exports"
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def sh_commands() -> list[list[str]]:
    """The README's shell commands, each as its words (without leading VAR=value assignments)."""
    blocks = re.findall(r"^```sh\n(.*?)^```", README.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            while words:
                cut = words.index("&&") if "&&" in words else len(words)
                command = words[:cut]
                while command and ENV_ASSIGNMENT.match(command[0]):
                    command = command[1:]
                if command:
                    commands.append(command)
                words = words[cut + 1 :]
    return commands


COMMANDS = sh_commands()


def command_id(command: list[str]) -> str:
    return " ".join(command)


def options(words: list[str]) -> list[str]:
    return [word.split("=")[0] for word in words if word.startswith("--")]


def makefile_targets() -> set[str]:
    text = (PROJECT_DIR / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w-]*):", text, re.MULTILINE))


def lifecycle_help(*command: str) -> str:
    result = subprocess.run(
        [str(BIN / "lifecycle"), *command, "--help"], capture_output=True, text=True, check=True
    )
    return result.stdout


def dbt_command(words: list[str]):
    """dbt's click command for `words` (e.g. ['docs', 'generate']) and the words after it."""
    from dbt.cli.main import cli

    command, rest = cli, list(words)
    while rest and hasattr(command, "commands") and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    return command, rest


def test_the_readme_shows_commands() -> None:
    kinds = {command[0] for command in COMMANDS}
    assert {"make", "lifecycle", "dbt"} <= kinds, kinds


@pytest.mark.parametrize("command", COMMANDS, ids=command_id)
def test_readme_command_is_one_the_project_can_run(command: list[str]) -> None:
    program, *arguments = command
    if program == "make":
        assert set(arguments) <= makefile_targets(), f"no such Makefile target: {arguments}"
    elif program == ".":
        # `. .venv/bin/activate`: the virtualenv `make` creates.
        assert arguments == [".venv/bin/activate"]
        assert re.search(r"^VENV\s*:=\s*\.venv$", (PROJECT_DIR / "Makefile").read_text(), re.MULTILINE)
        assert (BIN / "activate").is_file()
    elif program == "lifecycle":
        subcommand = arguments[0]
        assert re.search(rf"\b{subcommand}\b", lifecycle_help()), f"no lifecycle command {subcommand}"
        available = set(options(lifecycle_help(subcommand).split()))
        missing = set(options(arguments)) - available
        assert not missing, f"`lifecycle {subcommand}` has no option {sorted(missing)}"
    elif program == "dbt":
        click_command, rest = dbt_command(arguments)
        assert click_command.name != "cli", f"no dbt command in {command}"
        assert not [word for word in rest if not word.startswith("-") and not _is_option_value(rest, word)], (
            f"unknown dbt subcommand in {command}"
        )
        available = {opt for param in click_command.params for opt in param.opts}
        missing = set(options(rest)) - available
        assert not missing, f"`dbt {click_command.name}` has no option {sorted(missing)}"
        if "--vars" in rest:
            given = yaml.safe_load(rest[rest.index("--vars") + 1])
            project_vars = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
            assert isinstance(given, dict) and set(given) <= set(project_vars), given
    elif program == "mf":
        # MetricFlow: the command and its options exist here; tests/test_semantic_layer.py runs each
        # on the demo build and compares its numbers with the mart it reads.
        from dbt_metricflow.cli.main import cli as mf_cli

        assert arguments and arguments[0] in mf_cli.commands, f"no mf command in {command}"
        mf_command = mf_cli.commands[arguments[0]]
        available = {opt for param in mf_command.params for opt in param.opts}
        missing = set(options(arguments[1:])) - available
        assert not missing, f"`mf {arguments[0]}` has no option {sorted(missing)}"
    else:
        pytest.fail(f"README shows `{command_id(command)}`, a command this test does not check")


def _is_option_value(words: list[str], word: str) -> bool:
    index = words.index(word)
    return index > 0 and words[index - 1].startswith("--")


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [c for c in COMMANDS if c[:2] == ["lifecycle", "check"]],
    ids=command_id,
)
def test_readme_check_command_runs_on_the_demo_data(command: list[str], tmp_path: Path) -> None:
    """`lifecycle check --data-dir <exports>` as the README shows it, on a copy of the demo data."""
    data = tmp_path / "exports"
    data.mkdir()
    for name in ("payments", "customers"):
        shutil.copyfile(PROJECT_DIR / "seeds" / f"raw_{name}.csv", data / f"{name}.csv")
    arguments = [str(data) if word == PLACEHOLDER_DATA_DIR else word for word in command[1:]]
    result = subprocess.run(
        [str(BIN / "lifecycle"), *arguments],
        cwd=PROJECT_DIR,
        env={
            **os.environ,
            "DO_NOT_TRACK": "1",
            "LIFECYCLE_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert not (tmp_path / "warehouse.duckdb").exists(), "`lifecycle check` changed the warehouse"


def test_every_relative_link_in_the_readme_points_to_a_file() -> None:
    links = LINK.findall(README.read_text(encoding="utf-8"))
    relative = [link for link in links if not re.match(r"^[a-z]+:|^#", link)]
    assert relative, "the README links no document"
    missing = [link for link in relative if not (PROJECT_DIR / link.split("#")[0]).exists()]
    assert not missing, f"README links to missing files: {missing}"
