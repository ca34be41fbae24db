"""Compare an implementation's six marts with the marts of a dbt build, in DuckDB.

Rows are matched on each mart's key with a full outer join, so the comparison stays out of Python
and works on the customer x month table at 50M payments. The marts compared are tables in memory, a
DuckDB file, or a folder of Parquet files (`write_marts`): the benchmark writes a dataframe
implementation's marts out and compares them in a process of its own, under DuckDB's memory limit,
so the comparison's memory does not add to the build's. Column types follow the warehouse: money is
compared to the cent, doubles to 1e-9 (relative above 1), dates and timestamps as timestamps,
everything else after a cast to the warehouse type; nulls must match nulls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from . import MARTS

KEYS = {
    "dim_customers": ["customer_id"],
    "fct_customer_months": ["customer_id", "month"],
    "fct_cohort_retention": ["cohort_month", "months_since_first"],
    "fct_churn_monthly": ["month"],
    "fct_revenue_monthly": ["month"],
    "fct_customer_status_monthly": ["month", "status"],
}
EXAMPLES = 3


def write_marts(tables: dict[str, Any], folder: Path) -> Path:
    """Write marts (Arrow, pandas or polars tables keyed by name) to `folder`/<name>.parquet."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        pq.write_table(_to_arrow(table), folder / f"{name}.parquet")
    return folder


def compare_with_warehouse(
    tables_or_db: dict[str, Any] | Path,
    warehouse_db: Path,
    memory_limit: str | None = None,
    spill_directory: Path | None = None,
) -> list[str]:
    """Differences between `tables_or_db` (marts as Arrow, pandas or polars tables keyed by name, a
    DuckDB file with schema `marts`, or a folder written by `write_marts`) and schema `marts` of
    `warehouse_db`; empty when identical. `memory_limit` is DuckDB's for the comparison, which spills
    to `spill_directory` beyond it."""
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")
        if memory_limit:
            con.execute(f"set memory_limit = '{_literal(memory_limit)}'")
        if spill_directory:
            con.execute(f"set temp_directory = '{_literal(spill_directory)}'")
        con.execute(f"attach '{_literal(warehouse_db)}' as warehouse (read_only)")
        if isinstance(tables_or_db, Path) and tables_or_db.is_dir():
            relations = {}
            for name in MARTS:
                if (file := tables_or_db / f"{name}.parquet").exists():
                    con.execute(f"create view impl_{name} as select * from read_parquet('{_literal(file)}')")
                    relations[name] = f"impl_{name}"
        elif isinstance(tables_or_db, Path):
            con.execute(f"attach '{_literal(tables_or_db)}' as impl (read_only)")
            relations = {name: f"impl.marts.{name}" for name in MARTS}
        else:
            relations = {}
            for name in MARTS:
                if name in tables_or_db:
                    con.register(f"impl_{name}", _to_arrow(tables_or_db[name]))
                    relations[name] = f"impl_{name}"
        differences = []
        for name in MARTS:
            if name not in relations:
                differences.append(f"{name}: missing")
                continue
            differences += [
                f"{name}: {d}" for d in _compare(con, relations[name], f"warehouse.marts.{name}", KEYS[name])
            ]
        return differences
    finally:
        con.close()


def _to_arrow(table: Any) -> pa.Table:
    """An Arrow table from Arrow, pandas (NaN becomes null) or polars."""
    if isinstance(table, pa.Table):
        return table
    if hasattr(table, "to_arrow"):
        return table.to_arrow()
    return pa.Table.from_pandas(table, preserve_index=False)


def _compare(con: duckdb.DuckDBPyConnection, impl: str, warehouse: str, keys: list[str]) -> list[str]:
    expected = dict(con.execute(f"select column_name, column_type from (describe {warehouse})").fetchall())
    actual = [row[0] for row in con.execute(f"describe {impl}").fetchall()]
    if actual != list(expected):
        return [f"columns differ: expected {list(expected)}, got {actual}"]

    differences = []
    counts = con.execute(
        f"select (select count(*) from {impl}), (select count(*) from {warehouse}), "
        f"(select count(*) from (select distinct {', '.join(keys)} from {impl}))"
    ).fetchone()
    if counts[0] != counts[1]:
        differences.append(f"{counts[0]} rows, expected {counts[1]}")
    if counts[2] != counts[0]:
        differences.append(f"{counts[0] - counts[2]} rows with a duplicate key {keys}")

    def value(side: str, column: str) -> str:
        column_type = expected[column]
        quoted = f'{side}."{column}"'
        if column_type.startswith("DECIMAL"):
            return f"round(cast({quoted} as decimal(38, 4)), 2)"
        if column_type == "DOUBLE":
            return f"cast({quoted} as double)"
        if column_type.startswith(("DATE", "TIMESTAMP")):
            return f"cast({quoted} as timestamp)"
        return f"cast({quoted} as {column_type})"

    def same(column: str) -> str:
        a, e = value("a", column), value("e", column)
        if expected[column] == "DOUBLE":
            return f"(({a} is null and {e} is null) or abs({a} - {e}) <= 1e-9 * greatest(1, abs({e})))"
        return f"({a} is not distinct from {e})"

    on = " and ".join(f"{value('a', k)} = {value('e', k)}" for k in keys)
    joined = f"from {impl} as a full join {warehouse} as e on {on}"
    checks = {
        "missing rows": f'a."{keys[0]}" is null',
        "unexpected rows": f'e."{keys[0]}" is null',
        **{
            f"column {column}": f'a."{keys[0]}" is not null and e."{keys[0]}" is not null '
            f"and not {same(column)}"
            for column in expected
            if column not in keys
        },
    }
    found = con.execute(
        "select " + ", ".join(f"count(*) filter (where {c})" for c in checks.values()) + f" {joined}"
    ).fetchone()
    key_columns = ", ".join(f"coalesce({value('a', k)}, {value('e', k)})" for k in keys)
    for (label, condition), n in zip(checks.items(), found, strict=True):
        if n == 0:
            continue
        column = label.removeprefix("column ")
        shown = f", {value('a', column)}, {value('e', column)}" if label.startswith("column ") else ""
        examples = con.execute(
            f"select {key_columns}{shown} {joined} where {condition} order by all limit {EXAMPLES}"
        ).fetchall()
        differences.append(f"{label}: {n} (e.g. {', '.join(map(str, examples))})")
    return differences


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")
