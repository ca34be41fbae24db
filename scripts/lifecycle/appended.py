"""Whether this run's inputs are the previous run's with rows appended, by content.

Every run stores, per input table, how many rows it loaded, the last line and a fingerprint of their
content (`ops.inputs_read` in the warehouse: the sum of a hash of every row's text and line). The next
run computes the same fingerprint over its rows up to that line: equal, and the new input starts
with exactly the rows read before, so the stored models only need the rows after it (the dbt models
take them incrementally). Different, and the input was re-exported in another order, corrected,
shortened or replaced by another source: the run rebuilds the models whole and says why in one line.
One pass over the loaded rows gives both fingerprints (docs/decisions.md, "Incremental runs").
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from lifecycle.inputs import INPUT_TABLES

TABLE = "ops.inputs_read"


@dataclass(frozen=True)
class InputRead:
    """What one run loaded from one input table."""

    table: str
    source: str
    rows: int
    last_line: int
    fingerprint: str


def _row_hash(table: str) -> str:
    columns = next(spec.columns for spec in INPUT_TABLES if spec.name == table)
    return f"hash({', '.join(columns)}, _source_line)::hugeint"


def _exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    [(count,)] = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchall()
    return count > 0


def previous_reads(con: duckdb.DuckDBPyConnection) -> dict[str, InputRead]:
    """What the run that built this warehouse loaded, per input table (empty before the first run)."""
    if not _exists(con, "ops", "inputs_read"):
        return {}
    rows = con.execute(f"select input_table, source, rows, last_line, fingerprint from {TABLE}").fetchall()
    return {row[0]: InputRead(*row) for row in rows}


def compare(
    con: duckdb.DuckDBPyConnection, previous: dict[str, InputRead], schema: str = "raw"
) -> tuple[dict[str, InputRead], list[str]]:
    """Fingerprint the loaded input tables in `schema` and compare them with `previous`. Returns what
    was read now and, per input that is not the previous one with rows appended, one line saying how."""
    now: dict[str, InputRead] = {}
    changes: list[str] = []
    for spec in INPUT_TABLES:
        before = previous.get(spec.name)
        if not _exists(con, schema, spec.name):
            if before is not None:
                changes.append(f"{spec.name}: no {spec.name} file now, {before.rows:,} rows before")
            continue
        limit = before.last_line if before is not None else 0
        rows, last_line, fingerprint, prefix_rows, prefix, source = con.execute(
            f"""
            select
                count(*),
                coalesce(max(_source_line), 0),
                coalesce(sum({_row_hash(spec.name)}), 0),
                count(*) filter (where _source_line <= {limit}),
                coalesce(sum({_row_hash(spec.name)}) filter (where _source_line <= {limit}), 0),
                any_value(_source_file)
            from {schema}.{spec.name}
            """
        ).fetchall()[0]
        now[spec.name] = InputRead(spec.name, source or "", rows, last_line, str(fingerprint))
        if before is None:
            continue
        if prefix_rows != before.rows or str(prefix) != before.fingerprint:
            how = _how_it_differs(before, rows, prefix_rows, source)
            changes.append(f"{spec.name}: not the earlier input with rows appended ({how})")
    return now, changes


def _how_it_differs(before: InputRead, rows: int, prefix_rows: int, source: str) -> str:
    where = f" (read from {before.source} before, {source} now)" if before.source != source else ""
    if rows < before.rows:
        return f"{rows:,} rows now, {before.rows:,} before{where}"
    if prefix_rows != before.rows:
        return f"lines 1-{before.last_line:,} hold {prefix_rows:,} rows now, {before.rows:,} before{where}"
    return f"the first {before.rows:,} rows changed: re-exported, reordered or corrected{where}"


def store(con: duckdb.DuckDBPyConnection, now: dict[str, InputRead]) -> None:
    """Replace the stored reads with this run's (written into the build the run publishes)."""
    con.execute("create schema if not exists ops")
    con.execute(
        f"create or replace table {TABLE} (input_table varchar primary key, source varchar, rows bigint, "
        "last_line bigint, fingerprint varchar)"
    )
    for read in now.values():
        con.execute(
            f"insert into {TABLE} values (?, ?, ?, ?, ?)",
            [read.table, read.source, read.rows, read.last_line, read.fingerprint],
        )
