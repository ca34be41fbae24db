"""The benchmark's re-export: the same rows in another order, deterministic for a seed."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from lifecycle.generate import DEFAULT_END, DEFAULT_START, generate, write_table


def test_reshuffle_keeps_every_row_and_changes_their_order(benchmark, tmp_path: Path) -> None:
    payments, customers = generate(2_000, 4, DEFAULT_START, DEFAULT_END)
    write_table(payments, tmp_path / "payments.parquet", "parquet")
    write_table(customers, tmp_path / "customers.parquet", "parquet")
    assert benchmark.run_reshuffle(str(tmp_path), "2") == 0
    for name, original in (("payments", payments), ("customers", customers)):
        reshuffled = pq.read_table(tmp_path / f"{name}.parquet")
        assert reshuffled.schema == original.schema
        assert sorted(reshuffled.to_pylist(), key=str) == sorted(original.to_pylist(), key=str)
        assert reshuffled.column(0).to_pylist() != original.column(0).to_pylist()
    again = tmp_path / "again"
    again.mkdir()
    write_table(payments, again / "payments.parquet", "parquet")
    benchmark.run_reshuffle(str(again), "2")
    assert pq.read_table(again / "payments.parquet").equals(pq.read_table(tmp_path / "payments.parquet"))
