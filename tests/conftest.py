"""Shared pytest configuration."""

import importlib.util
import sys
from pathlib import Path

import pytest

# `make test` runs two pytest workers (pytest-xdist), whose `__main__` module has no file. pyspark's
# Spark Connect package, which Great Expectations imports, takes such a `__main__` for a doctest run
# and calls sys.exit() when grpc is missing; with a file it raises the ImportError GE expects.
if getattr(sys.modules["__main__"], "__spec__", None) is None and not hasattr(
    sys.modules["__main__"], "__file__"
):
    sys.modules["__main__"].__file__ = __file__

BENCHMARK_SCRIPT = Path(__file__).resolve().parents[1] / "benchmark" / "benchmark.py"


@pytest.fixture(scope="session")
def benchmark():
    """benchmark/benchmark.py as a module (it is a script, not part of the installed package)."""
    spec = importlib.util.spec_from_file_location("benchmark", BENCHMARK_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["benchmark"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `dbt build` of the demo seeds (every model, seed, snapshot, unit and data test) into a
    throw-away DuckDB file, shared by the tests that read the demo warehouse; returns its folder."""
    from dbt_project_runner import run_dbt

    workdir = tmp_path_factory.mktemp("demo")
    run_dbt(["build"], workdir)
    return workdir


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than ~20 seconds")
    config.addinivalue_line("markers", "pipeline: runs the lifecycle command end to end")
    config.addinivalue_line("markers", "engines: builds the project on PostgreSQL or Spark")
