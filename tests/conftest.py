"""Shared pytest configuration."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than ~20 seconds")
    config.addinivalue_line("markers", "pipeline: runs the lifecycle command end to end")
    config.addinivalue_line("markers", "engines: builds the project on PostgreSQL or Spark")
