"""Great Expectations suites over the built warehouse: what it accepted (`inputs`) and the `marts`.

Each suite is a GX ExpectationSuite JSON file under `quality/<family>/`. Its `meta.query` is DuckDB SQL
whose result is the one DataFrame the suite validates (a pandas datasource in an ephemeral context; GX
cannot validate DuckDB through SQLAlchemy). Payments and customer-months are aggregated in SQL first; only
the customer tables (about a million rows at 10 million payments) come to pandas row by row.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import great_expectations as gx
from great_expectations.data_context.types.base import ProgressBarsConfig

from lifecycle.paths import PROJECT_DIR

QUALITY_DIR = PROJECT_DIR / "quality"
FAMILIES = ("inputs", "marts")


@dataclass(frozen=True)
class ExpectationResult:
    """One expectation's outcome. `observed_value` is GX's observed value or, for expectations on
    single values, the first (up to 20) unexpected values; `error` is set when GX could not evaluate it."""

    expectation_type: str
    column: str | None
    success: bool
    unexpected_count: int | None
    observed_value: Any
    note: str
    error: str | None = None


@dataclass(frozen=True)
class SuiteResult:
    name: str
    success: bool
    expectations: list[ExpectationResult]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for the run record."""
        return asdict(self)


def suite_paths(family: str) -> list[Path]:
    """The suite files of one family, in name order."""
    if family not in FAMILIES:
        raise ValueError(f"unknown suite family {family!r}; expected one of {', '.join(FAMILIES)}")
    return sorted((QUALITY_DIR / family).glob("*.json"))


def load_suite(path: Path) -> dict[str, Any]:
    """A suite file as a dict; ValueError when it has no query or an expectation has no note."""
    suite = json.loads(path.read_text())
    if not str(suite.get("meta", {}).get("query", "")).strip():
        raise ValueError(f"{path}: meta.query is missing")
    for number, expectation in enumerate(suite["expectations"], start=1):
        if not str(expectation.get("meta", {}).get("note", "")).strip():
            raise ValueError(f"{path}: expectation {number} ({expectation['type']}) has no meta.note")
    return suite


def run_suites(con: duckdb.DuckDBPyConnection, family: str) -> list[SuiteResult]:
    """Run every suite of `family` ("inputs" or "marts") against the warehouse behind `con`."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    datasource = context.data_sources.add_pandas(family)
    results = []
    for path in suite_paths(family):
        spec = load_suite(path)
        try:
            frame = con.execute(spec["meta"]["query"]).df()
        except duckdb.Error as error:
            raise RuntimeError(f"{path}: meta.query failed: {error}") from error
        batch = datasource.add_dataframe_asset(spec["name"]).add_batch_definition_whole_dataframe("frame")
        suite = context.suites.add(gx.ExpectationSuite(**spec))
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=spec["name"], data=batch, suite=suite)
        )
        outcome = validation.run(batch_parameters={"dataframe": frame}, result_format="BASIC")
        # GX groups results by column; report them in the file's order.
        position = {expectation.id: index for index, expectation in enumerate(suite.expectations)}
        ordered = sorted(outcome.results, key=lambda result: position[result.expectation_config.id])
        expectations = [_expectation_result(result.to_json_dict()) for result in ordered]
        results.append(SuiteResult(spec["name"], bool(outcome.success), expectations))
    return results


def _expectation_result(result: dict[str, Any]) -> ExpectationResult:
    config = result["expectation_config"]
    kwargs = config["kwargs"]
    details = result.get("result") or {}
    column = kwargs.get("column") or (", ".join(kwargs["column_list"]) if "column_list" in kwargs else None)
    observed = details.get("observed_value", details.get("partial_unexpected_list") or None)
    return ExpectationResult(
        expectation_type=config["type"],
        column=column,
        success=bool(result["success"]),
        unexpected_count=details.get("unexpected_count"),
        observed_value=json.loads(json.dumps(observed, default=_plain)),
        note=config["meta"]["note"],
        error=_exception_message(result.get("exception_info") or {}),
    )


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, anything else GX left unconverted as text."""
    return value.item() if hasattr(value, "item") else str(value)


def _exception_message(info: dict[str, Any]) -> str | None:
    """GX reports one exception flat, or one per failed metric keyed by the metric."""
    raised = (
        [info] if "raised_exception" in info else [each for each in info.values() if isinstance(each, dict)]
    )
    messages = [each["exception_message"] for each in raised if each.get("raised_exception")]
    return "; ".join(messages) or None


def summarize(results: list[SuiteResult]) -> str:
    """One line per suite, then one indented line per failed expectation."""
    lines = []
    for suite in results:
        passed = sum(expectation.success for expectation in suite.expectations)
        verdict = "passed" if suite.success else "FAILED"
        lines.append(f"{suite.name}: {verdict}, {passed} of {len(suite.expectations)} expectations")
        for failed in (expectation for expectation in suite.expectations if not expectation.success):
            target = f"({failed.column})" if failed.column else ""
            found = f"error: {failed.error}" if failed.error else f"observed {failed.observed_value!r}"
            if failed.unexpected_count is not None:
                found += f", {failed.unexpected_count} unexpected"
            lines.append(f"  - {failed.expectation_type}{target}: {found}. {failed.note}")
    return "\n".join(lines)
