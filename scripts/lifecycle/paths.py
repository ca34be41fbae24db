"""Where the project and its warehouse live."""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")


def warehouse_path() -> Path:
    """The DuckDB file dbt builds: $LIFECYCLE_DUCKDB_PATH, or lifecycle.duckdb in the project root."""
    return Path(os.environ.get("LIFECYCLE_DUCKDB_PATH", PROJECT_DIR / "lifecycle.duckdb")).resolve()
