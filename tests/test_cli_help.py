"""`lifecycle --help` and `lifecycle <command> --help` print their usage and exit 0 for every command.

The commands are read from the top-level usage line, so a command added to the CLI is covered
without editing this file. argparse %-formats help texts, so a bare `%` in one (it must be written
`%%`) crashed `lifecycle generate --help` with "TypeError: %o format".
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

LIFECYCLE = Path(sys.executable).with_name("lifecycle")


def lifecycle(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(LIFECYCLE), *args], capture_output=True, text=True, timeout=120)


def subcommands() -> list[str]:
    usage = lifecycle("--help")
    assert usage.returncode == 0, usage.stderr
    found = re.search(r"\{([\w,-]+)\}", usage.stdout)
    assert found, usage.stdout
    return found.group(1).split(",")


def test_top_level_help_lists_the_commands() -> None:
    assert {"run", "check", "generate"} <= set(subcommands())


@pytest.mark.parametrize("command", subcommands())
def test_command_help_exits_0(command: str) -> None:
    result = lifecycle(command, "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith(f"usage: lifecycle {command}"), result.stdout[:200]
    assert result.stderr == ""
