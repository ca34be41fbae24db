"""benchmark/benchmark.py: how runs of one measurement combine, and what a run stopped at the memory cap
counts as.

A real child process reports its build time the way an implementation does, then grows past a small
memory cap (as polars could while writing its 50M marts out for the comparison): its build counts.
One that grows past the cap before it reports a time did not finish.
"""

from __future__ import annotations

import json
import sys

import pytest

# The benchmark's bookkeeping: left out of the quick loop (`make test-fast`) with the benchmark.
pytestmark = pytest.mark.slow


def child(benchmark, report_first: bool) -> list[str]:
    """A Python process that (optionally) reports a 12.5 s build at 150 MB, then holds 400 MB."""
    timing = benchmark.RESULT + json.dumps({"seconds": 12.5, "peak_mb": 150.0})
    program = (
        f"print({timing!r}, flush=True)\n" if report_first else ""
    ) + "import time\nblock = b'x' * (400 * 1024 * 1024)\ntime.sleep(30)\n"
    return [sys.executable, "-c", program]


def test_stopped_after_reporting_counts_its_build(benchmark):
    measured, output = benchmark.measure("polars", child(benchmark, True), memory_cap_mb=250)
    assert measured.seconds is None and measured.stopped_after is not None

    figures = benchmark.build_figures(measured, output, "the dbt marts")

    assert (figures.seconds, figures.peak_mb, figures.stopped_after) == (12.5, 150.0, None)
    assert figures.note.startswith("not compared with the dbt marts: stopped after ")
    assert figures.note.endswith("memory cap while writing its marts")


def test_stopped_before_reporting_did_not_finish(benchmark):
    measured, output = benchmark.measure("polars", child(benchmark, False), memory_cap_mb=250)

    figures = benchmark.build_figures(measured, output, "the dbt marts")

    assert figures.seconds is None and figures.stopped_after is not None
    assert figures.note.startswith("DID NOT FINISH: stopped after ")


def test_runs_combine_into_the_median_time_and_the_largest_peak(benchmark):
    runs = [
        benchmark.Measurement("polars", seconds, peak, "identical to the dbt marts" if i == 0 else "")
        for i, (seconds, peak) in enumerate(((61.0, 15_000.0), (55.0, 16_000.0), (70.0, 14_000.0)))
    ]

    row = benchmark.combined(runs)

    assert (row.name, row.seconds, row.peak_mb) == ("polars", 61.0, 16_000.0)
    assert row.note == "median of 61.0, 55.0, 70.0 s; identical to the dbt marts"


def test_a_run_stopped_in_a_later_round_stops_the_measurement(benchmark):
    finished = benchmark.Measurement("polars", 55.0, 16_000.0, "identical to the dbt marts")
    stopped = benchmark.Measurement("polars", None, 19_500.0, "DID NOT FINISH: stopped", stopped_after=50.0)

    row = benchmark.combined([finished, stopped])

    assert (row.seconds, row.peak_mb, row.stopped_after) == (None, 19_500.0, 50.0)
    assert row.note == "DID NOT FINISH: stopped; the 2 runs: 55.0 s, stopped after 50 s"


def test_percentiles_are_nearest_rank(benchmark):
    twenty = [float(value) for value in range(20, 0, -1)]
    assert benchmark.percentile(twenty, 0.95) == 19.0
    assert benchmark.percentile(twenty, 0.5) == 10.0
    assert benchmark.percentile([0.3, 0.1, 0.2], 0.95) == 0.3


def test_every_dashboard_query_runs_on_the_demo_warehouse(benchmark, demo_build):
    latencies = benchmark.query_latencies(demo_build / "warehouse.duckdb")

    assert list(latencies) == [
        "cohort_matrix",
        "churn_trend",
        "revenue_split",
        "customers_by_state",
        "customers_by_channel_and_country",
        "status_mix_last_12_months",
        "customer_history",
        "ltv_by_channel",
        "segment_revenue",
        "win_back_top",
    ]
    rows = {name: figures[3] for name, figures in latencies.items()}
    assert rows["churn_trend"] == rows["revenue_split"] == 34
    assert rows["win_back_top"] == 100
    assert rows["customer_history"] > 0 and rows["status_mix_last_12_months"] > 0
    assert all(p50 <= p95 and runs == benchmark.QUERY_RUNS for p50, p95, runs, _ in latencies.values())
