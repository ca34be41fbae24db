"""The Great Expectations suites in quality/: all pass on the demo build, and each kind of damage done to a
copy of that build fails exactly the expectations meant to catch it, with the right counts."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lifecycle.quality import (
    FAMILIES,
    QUALITY_DIR,
    ExpectationResult,
    SuiteResult,
    run_suites,
    suite_paths,
    summarize,
)


@pytest.fixture(scope="module")
def demo_warehouse(demo_build: Path) -> Path:
    """The session's demo build (conftest.py); read only, or copied before it is changed."""
    return demo_build / "warehouse.duckdb"


@pytest.fixture(scope="module")
def demo_results(demo_warehouse: Path) -> dict[str, SuiteResult]:
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        return {result.name: result for family in FAMILIES for result in run_suites(con, family)}


def row(warehouse: Path, sql: str) -> tuple[Any, ...]:
    """The first row of a query on the (untampered) demo build."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchone()


def failures_after(demo_warehouse: Path, tmp_path: Path, *statements: str) -> list[tuple]:
    """Run every suite on a copy of the demo build changed by `statements`; the failed expectations as
    (suite, expectation type without `expect_column_`, column, unexpected_count, observed_value)."""
    # Same file name: dbt's views name the database (catalog) after the file.
    copy = tmp_path / demo_warehouse.name
    shutil.copy(demo_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        for statement in statements:
            con.execute(statement)
        results = [result for family in FAMILIES for result in run_suites(con, family)]
    return [
        (
            suite.name,
            failed.expectation_type.removeprefix("expect_column_"),
            failed.column,
            failed.unexpected_count,
            failed.observed_value,
        )
        for suite in results
        for failed in suite.expectations
        if not failed.success
    ]


def test_every_suite_file_is_a_named_gx_suite_with_a_query_and_a_note_per_expectation() -> None:
    files = sorted(QUALITY_DIR.glob("*/*.json"))
    assert [f"{path.parent.name}/{path.stem}" for path in files] == [
        "inputs/customers",
        "inputs/marketing_spend",
        "inputs/payments",
        "marts/churn",
        "marts/cohorts",
        "marts/customer_months",
        "marts/customers",
        "marts/revenue",
        "marts/segments",
    ]
    for path in files:
        suite = json.loads(path.read_text())
        assert suite["name"] == f"{path.parent.name}.{path.stem}"
        assert suite["meta"]["query"].strip()
        assert suite["expectations"]
        for expectation in suite["expectations"]:
            assert expectation["type"].startswith("expect_")
            assert expectation["meta"]["note"].strip(), (path.name, expectation)
    assert sum(len(suite_paths(family)) for family in FAMILIES) == len(files)


def test_every_suite_passes_on_the_demo_build(demo_results: dict[str, SuiteResult]) -> None:
    counts = {
        name: (sum(e.success for e in result.expectations), len(result.expectations))
        for name, result in demo_results.items()
    }
    assert counts == {
        "inputs.customers": (2, 2),
        "inputs.marketing_spend": (5, 5),
        "inputs.payments": (11, 11),
        "marts.churn": (10, 10),
        "marts.cohorts": (6, 6),
        "marts.customer_months": (3, 3),
        "marts.customers": (9, 9),
        "marts.revenue": (8, 8),
        "marts.segments": (6, 6),
    }
    assert all(result.success for result in demo_results.values())
    observed = {
        (name, e.expectation_type.removeprefix("expect_column_"), e.column): e.observed_value
        for name, result in demo_results.items()
        for e in result.expectations
    }
    assert observed["inputs.payments", "sum_to_be_between", "payments"] == 25_040
    assert observed["inputs.payments", "unique_value_count_to_be_between", "currency"] == 1
    assert observed["marts.cohorts", "max_to_be_between", "cohort_size_difference"] == 0
    assert observed["marts.revenue", "max_to_be_between", "net_revenue_difference"] == 0
    summary = summarize(list(demo_results.values())).splitlines()
    assert summary[0] == "inputs.customers: passed, 2 of 2 expectations"
    assert len(summary) == 9
    records = json.loads(json.dumps([result.to_dict() for result in demo_results.values()]))
    assert records[2]["expectations"][0] == {
        "expectation_type": "expect_column_sum_to_be_between",
        "column": "payments",
        "success": True,
        "unexpected_count": None,
        "observed_value": 25_040,
        "note": "At least one payment was accepted; an empty build has nothing to report.",
        "error": None,
    }


def test_summary_names_each_failed_expectation_with_what_was_found_and_why() -> None:
    results = [
        SuiteResult("marts.churn", True, [ExpectationResult("expect_x", "month", True, 0, None, "why")]),
        SuiteResult(
            "marts.revenue",
            False,
            [
                ExpectationResult("expect_column_max_to_be_between", "gap", False, None, 0.01, "Reconciles."),
                ExpectationResult(
                    "expect_column_values_to_be_unique", "month", False, 2, ["2024-01-01"], "Grain."
                ),
                ExpectationResult(
                    "expect_table_row_count_to_equal", None, False, None, None, "Rows.", "boom"
                ),
                ExpectationResult("expect_column_values_to_not_be_null", "month", True, 0, None, "Key."),
            ],
        ),
    ]
    assert summarize(results).splitlines() == [
        "marts.churn: passed, 1 of 1 expectations",
        "marts.revenue: FAILED, 1 of 4 expectations",
        "  - expect_column_max_to_be_between(gap): observed 0.01. Reconciles.",
        "  - expect_column_values_to_be_unique(month): observed ['2024-01-01'], 2 unexpected. Grain.",
        "  - expect_table_row_count_to_equal: error: boom. Rows.",
    ]


def test_time_the_suites_on_the_demo_build(demo_warehouse: Path) -> None:
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        for family in FAMILIES:
            started = time.perf_counter()
            run_suites(con, family)
            print(f"run_suites({family!r}) on the demo build: {time.perf_counter() - started:.2f} s")


def test_a_changed_customers_end_breaks_the_bridge_in_that_month_and_the_next(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    (month,) = row(
        demo_warehouse, "select month from marts.fct_churn_monthly order by month limit 1 offset 10"
    )
    failures = failures_after(
        demo_warehouse,
        tmp_path,
        f"update marts.fct_churn_monthly set customers_end = customers_end + 1 where month = '{month}'",
    )
    assert failures == [
        ("marts.churn", "values_to_be_between", "bridge_gap", 1, [-1]),
        ("marts.churn", "values_to_be_between", "start_minus_previous_end", 1, [-1]),
    ]


def test_a_deleted_cohort_row_breaks_the_cohort_sizes_and_the_cohort_rows(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    cohort_month, cohort_size = row(
        demo_warehouse,
        "select cohort_month, cohort_size from marts.fct_cohort_retention where months_since_first = 0 "
        "order by cohort_month limit 1 offset 5",
    )
    assert cohort_size > 0
    failures = failures_after(
        demo_warehouse,
        tmp_path,
        "delete from marts.fct_cohort_retention "
        f"where cohort_month = '{cohort_month}' and months_since_first = 0",
    )
    assert failures == [
        ("marts.cohorts", "max_to_be_between", "cohort_size_difference", None, -cohort_size),
        ("marts.cohorts", "max_to_be_between", "missing_cohort_rows", None, 1),
    ]


def test_a_cent_more_net_revenue_in_one_month_breaks_the_reconciliation(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    failures = failures_after(
        demo_warehouse,
        tmp_path,
        "update marts.fct_revenue_monthly set net_revenue = net_revenue + 0.01 "
        "where month = (select max(month) from marts.fct_revenue_monthly)",
    )
    assert failures == [
        ("marts.revenue", "max_to_be_between", "net_revenue_difference", None, pytest.approx(0.01))
    ]


def test_a_duplicated_customer_breaks_the_grain_and_the_cohort_sizes(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    (customer_id,) = row(
        demo_warehouse, "select min(customer_id) from marts.dim_customers where cohort_month is not null"
    )
    failures = failures_after(
        demo_warehouse,
        tmp_path,
        # marts.dim_customers is a view: replace it with a table that can be changed.
        "create table marts.customers_copy as select * from marts.dim_customers",
        "drop view marts.dim_customers",
        "alter table marts.customers_copy rename to dim_customers",
        "insert into marts.dim_customers select * from marts.dim_customers "
        f"where customer_id = '{customer_id}'",
    )
    assert failures == [
        ("marts.cohorts", "max_to_be_between", "cohort_size_difference", None, -1),
        ("marts.customers", "values_to_be_unique", "customer_id", 2, [customer_id, customer_id]),
    ]


def test_a_duplicated_customer_month_and_an_unknown_status_break_customer_months(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    failures = failures_after(
        demo_warehouse,
        tmp_path,
        # marts.fct_customer_months is a view: replace it with a table that can be changed.
        "create table marts.customer_months_copy as select * from marts.fct_customer_months",
        "drop view marts.fct_customer_months",
        "alter table marts.customer_months_copy rename to fct_customer_months",
        "insert into marts.fct_customer_months "
        "select * from marts.fct_customer_months order by customer_id, month limit 1",
        "update marts.fct_customer_months set status = 'dormant' "
        "where customer_id = (select max(customer_id) from marts.fct_customer_months)",
    )
    assert failures == [
        ("marts.customer_months", "max_to_be_between", "duplicate_keys", None, 1),
        ("marts.customer_months", "values_to_be_in_set", "status", 1, ["dormant"]),
    ]


def test_bad_accepted_payments_break_the_payments_suite_and_the_reconciliation(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    payment_id, amount = row(
        demo_warehouse,
        "select payment_id, amount from intermediate.int_payments_accepted "
        "where status = 'succeeded' order by payment_id limit 1",
    )
    failures = failures_after(
        demo_warehouse,
        tmp_path,
        # The accepted payments are a view: replace it with a table that can be changed.
        "create table intermediate.accepted_copy as select * from intermediate.int_payments_accepted",
        "drop view intermediate.int_payments_accepted",
        "alter table intermediate.accepted_copy rename to int_payments_accepted",
        # The same payment again, in euros: a duplicate id and a second currency among succeeded payments.
        "insert into intermediate.int_payments_accepted select * replace ('EUR' as currency) "
        f"from intermediate.int_payments_accepted where payment_id = '{payment_id}'",
        # A failed payment with a status and a currency outside the contract.
        "update intermediate.int_payments_accepted set status = 'refunded', currency = 'usd' "
        "where payment_id = (select min(payment_id) from intermediate.int_payments_accepted "
        "where status = 'failed')",
    )
    assert failures == [
        ("inputs.payments", "max_to_be_between", "duplicate_payment_ids", None, 1),
        ("inputs.payments", "values_to_be_in_set", "status", 1, ["refunded"]),
        ("inputs.payments", "values_to_match_regex", "currency", 1, ["usd"]),
        ("inputs.payments", "unique_value_count_to_be_between", "currency", None, 2),
        # The marts were built without the extra payment, so they are short by its amount.
        ("marts.revenue", "max_to_be_between", "net_revenue_difference", None, pytest.approx(-float(amount))),
    ]


def test_negative_spend_and_spend_in_another_currency_break_the_spend_suite(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    failures = failures_after(
        demo_warehouse,
        tmp_path,
        # Two rows staging would have set aside (negative_spend, currency_mismatch), accepted anyway.
        "insert into staging.stg_billing__marketing_spend select * replace (-1 as spend) "
        "from staging.stg_billing__marketing_spend where rejection_reason is null limit 1",
        "insert into staging.stg_billing__marketing_spend select * replace ('EUR' as currency) "
        "from staging.stg_billing__marketing_spend where rejection_reason is null limit 1",
    )
    assert failures == [
        ("inputs.marketing_spend", "min_to_be_between", "min_spend", None, -1),
        ("inputs.marketing_spend", "max_to_be_between", "currencies", None, 2),
        ("inputs.marketing_spend", "sum_to_be_between", "currencies_not_in_payments", None, 1),
    ]


def test_a_duplicated_and_a_keyless_accepted_customer_break_the_customers_suite(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    (customer_id,) = row(demo_warehouse, "select min(customer_id) from staging.stg_billing__customers")
    failures = failures_after(
        demo_warehouse,
        tmp_path,
        "alter table staging.stg_billing__customers rename to stg_billing__customers_built",
        "create view staging.stg_billing__customers as "
        "select * from staging.stg_billing__customers_built "
        f"union all select * from staging.stg_billing__customers_built where customer_id = '{customer_id}' "
        "union all select * replace (null as customer_id) from staging.stg_billing__customers_built "
        f"where customer_id = '{customer_id}'",
    )
    assert failures == [
        ("inputs.customers", "values_to_not_be_null", "customer_id", 1, [None]),
        ("inputs.customers", "values_to_be_unique", "customer_id", 2, [customer_id, customer_id]),
    ]
