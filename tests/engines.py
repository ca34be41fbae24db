"""Real database servers for the portability tests, started and stopped by the tests themselves.

Outside CI an engine that is not installed is skipped with the reason; with CI=true it is a failure.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def missing_engine(reason: str) -> None:
    """Skip locally; fail in CI, where every engine must be present."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: every engine must be installed; see .ci/run)")
    pytest.skip(reason)


def _postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def postgres_server() -> Iterator[dict[str, str]]:
    """A throw-away PostgreSQL cluster on 127.0.0.1; yields the LIFECYCLE_PG_* environment for dbt."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        missing_engine("PostgreSQL is not installed (initdb not found)")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="lifecycle-pg-"))
    data = root / "data"
    password = secrets.token_hex(16)
    (root / "pwfile").write_text(password)
    if as_user:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pwfile", "postgres")
    port = _free_port()

    def run(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, text=True)

    try:
        run(
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "lifecycle",
            f"--pwfile={root / 'pwfile'}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
        )
        run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "server.log"),
            "-w",
            "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
        env = {
            "LIFECYCLE_PG_HOST": "127.0.0.1",
            "LIFECYCLE_PG_PORT": str(port),
            "LIFECYCLE_PG_USER": "lifecycle",
            "LIFECYCLE_PG_PASSWORD": password,
            "LIFECYCLE_PG_DATABASE": "postgres",
        }
        yield env
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True,
            )
        shutil.rmtree(root, ignore_errors=True)


def _java() -> str | None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    return shutil.which("java")


@contextmanager
def spark_session_env() -> Iterator[dict[str, str]]:
    """The environment for dbt's spark target: a throw-away warehouse directory and Derby metastore.

    dbt-spark's session method runs Spark inside the dbt process (a local pyspark, which needs Java).
    Tables are parquet files under LIFECYCLE_SPARK_WAREHOUSE/<schema>.db/<table>. The Derby metastore
    admits one process at a time, so read the tables after dbt has exited.
    """
    if importlib.util.find_spec("pyspark") is None:
        missing_engine("pyspark is not installed (pip install -r requirements.txt)")
    if _java() is None:
        missing_engine("Spark needs Java, and no java was found (JAVA_HOME or PATH)")
    root = Path(tempfile.mkdtemp(prefix="lifecycle-spark-"))
    try:
        yield {
            "LIFECYCLE_SPARK_WAREHOUSE": str(root / "warehouse"),
            "LIFECYCLE_SPARK_METASTORE": str(root / "metastore"),
            "SPARK_LOCAL_IP": "127.0.0.1",
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)
