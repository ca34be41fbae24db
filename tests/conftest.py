"""Shared pytest configuration."""

import importlib.util
import sys
from pathlib import Path

import pytest

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
