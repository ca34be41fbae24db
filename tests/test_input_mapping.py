"""The input mapping (docs/input-mapping.md): real exports in examples/exports/, read with the mappings in
examples/mappings/ (or the data folder's mapping.yml) by the real `lifecycle` command, and the mapping
file's own errors. Every number is counted by hand from the example files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

pytestmark = pytest.mark.pipeline

PROJECT_DIR = Path(__file__).resolve().parents[1]
EXPORTS = PROJECT_DIR / "examples" / "exports"
MAPPINGS = PROJECT_DIR / "examples" / "mappings"
BIN = Path(sys.executable).parent
TIMEOUT_SECONDS = 600


def lifecycle(*args: str | Path, warehouse: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "LIFECYCLE_DEBUG"}
    env.update(
        {
            "LIFECYCLE_DUCKDB_PATH": str(warehouse),
            "DO_NOT_TRACK": "1",
            # Set-aside rows are part of every example; no share of them may stop these runs.
            "LIFECYCLE_MAX_SET_ASIDE_SHARE": "1",
        }
    )
    return subprocess.run(
        [str(BIN / "lifecycle"), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )


def copy_export(name: str, tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    shutil.copytree(EXPORTS / name, data_dir)
    return data_dir


def run_ok(data_dir: Path, tmp_path: Path, *extra: str | Path) -> Path:
    warehouse = tmp_path / "warehouse" / "lifecycle.duckdb"
    result = lifecycle("run", "--data-dir", data_dir, *extra, warehouse=warehouse, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return warehouse


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def row_counts(warehouse: Path) -> dict[str, tuple[int, int, int]]:
    rows = query(
        warehouse,
        "select input_table, rows_read, rows_accepted, rows_set_aside from quarantine.input_row_counts",
    )
    return {table: (read, accepted, set_aside) for table, read, accepted, set_aside in rows}


def net_revenue_by_month(warehouse: Path) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    rows = query(
        warehouse,
        "select month, gross_revenue, refunds, net_revenue from marts.fct_revenue_monthly order by month",
    )
    return {month.isoformat(): (gross, refunds, net) for month, gross, refunds, net in rows}


def first_purchases(warehouse: Path) -> dict[str, dt.datetime | None]:
    rows = query(warehouse, "select customer_id, first_purchase_at from marts.dim_customers order by 1")
    return dict(rows)


def d(text: str) -> Decimal:
    return Decimal(text)


# ------------------------------------------------------------------------------------ the examples


def test_stripe_export_with_thousands_commas_and_refund_rows(tmp_path):
    """Stripe: Paid/Failed/Refunded, "1,000.00" amounts, renamed columns, refunds as rows of their own."""
    data_dir = copy_export("stripe", tmp_path)
    warehouse = run_ok(data_dir, tmp_path, "--mapping", MAPPINGS / "stripe.yml")

    assert row_counts(warehouse) == {"payments": (9, 6, 3), "customers": (0, 0, 0)}
    # January: 49.00 + "1,000.00"; February: 49.00 and its refund (status Refunded, amount 49.00);
    # March: "1,250.50" ("12,50" is not a number with ',' for thousands: set aside).
    assert net_revenue_by_month(warehouse) == {
        "2024-01-01": (d("1049"), d("0"), d("1049")),
        "2024-02-01": (d("49"), d("-49"), d("0")),
        "2024-03-01": (d("1250.5"), d("0"), d("1250.5")),
    }
    assert query(
        warehouse,
        "select amount, status, is_refund from staging.stg_billing__payments where payment_id = 're_005'",
    ) == [(d("-49"), "succeeded", True)]
    # cus_C's failed payment in February makes no purchase.
    assert first_purchases(warehouse) == {
        "cus_A": dt.datetime(2024, 1, 5, 10, 0),
        "cus_B": dt.datetime(2024, 1, 20, 12, 30),
        "cus_C": dt.datetime(2024, 3, 1, 11, 0),
    }
    # The quarantine keeps the export's text, not the mapped values.
    assert query(
        warehouse,
        "select source_line, reason, payment_id, paid_at, amount, currency, status "
        "from quarantine.payments order by source_line",
    ) == [
        (8, "invalid_amount", "ch_007", "2024-03-02 11:00:00", "12,50", "usd", "Paid"),
        (9, "invalid_paid_at", "ch_008", "03/15/2024", "10.00", "usd", "Paid"),
        (10, "invalid_status", "ch_009", "2024-03-20 10:00:00", "20.00", "usd", "Disputed"),
    ]


def test_shopify_like_export_with_epoch_milliseconds_and_german_amounts(tmp_path):
    """Semicolons, epoch milliseconds, "1.000,00" amounts, paid/pending/voided/refunded."""
    data_dir = copy_export("shopify", tmp_path)
    warehouse = run_ok(data_dir, tmp_path, "--mapping", MAPPINGS / "shopify.yml")

    assert row_counts(warehouse) == {"payments": (8, 6, 2), "customers": (0, 0, 0)}
    # January: "1.000,00"; February: "49,90" (the pending 25,00 moves no money); March: "2.345,67"
    # and the refund of "1.000,00" (the voided order is a failed payment).
    assert net_revenue_by_month(warehouse) == {
        "2024-01-01": (d("1000"), d("0"), d("1000")),
        "2024-02-01": (d("49.9"), d("0"), d("49.9")),
        "2024-03-01": (d("2345.67"), d("-1000"), d("1345.67")),
    }
    assert first_purchases(warehouse) == {
        "C-1": dt.datetime(2024, 1, 1, 10, 0),  # 1704103200000
        "C-2": dt.datetime(2024, 2, 1, 12, 0),  # 1706788800000
        "C-3": dt.datetime(2024, 3, 4, 10, 0),  # 1709546400000
    }
    assert query(
        warehouse,
        "select status, count(*) from staging.stg_billing__payments "
        "where rejection_reason is null group by 1 order by 1",
    ) == [("failed", 1), ("pending", 1), ("succeeded", 4)]
    assert query(
        warehouse,
        "select source_line, reason, payment_id, paid_at, amount, status from quarantine.payments order by 1",
    ) == [
        (8, "invalid_paid_at", "1007", "2024-03-06", "10,00", "paid"),  # ISO is not in the mapping's formats
        (9, "invalid_amount", "1008", "1709722800000", "1.00,00", "paid"),  # thousands in groups of three
    ]


def test_european_export_with_day_first_dates_and_customers(tmp_path):
    """Day-first dates with and without a time, decimal commas, German statuses and column names, and a
    customers file with its own renames and formats. A second run with a changed mapping on the same
    warehouse retypes every stored row (stg_billing__customers and int_payments_summarized)."""
    data_dir = copy_export("european", tmp_path)
    mapping = MAPPINGS / "european.yml"
    warehouse = run_ok(data_dir, tmp_path, "--mapping", mapping)

    assert row_counts(warehouse) == {"payments": (8, 6, 2), "customers": (3, 2, 1)}
    # June: 12,50 + 1.000,00; July: 30,00 and the refund (erstattet) of 12,50; August: only pending.
    assert net_revenue_by_month(warehouse) == {
        "2024-06-01": (d("1012.5"), d("0"), d("1012.5")),
        "2024-07-01": (d("30"), d("-12.5"), d("17.5")),
        "2024-08-01": (d("0"), d("0"), d("0")),
    }
    # 01/06/2024 is the 1st of June, not January 6th.
    assert first_purchases(warehouse) == {
        "K1": dt.datetime(2024, 6, 1, 0, 0),
        "K2": dt.datetime(2024, 6, 3, 14, 30),
        "K3": dt.datetime(2024, 7, 2, 9, 15),
    }
    assert query(
        warehouse,
        "select customer_id, created_at, country, acquisition_channel from marts.dim_customers order by 1",
    ) == [
        ("K1", dt.datetime(2024, 5, 20, 0, 0), "DE", "newsletter"),
        ("K2", dt.datetime(2024, 5, 28, 18, 0), "AT", "suche"),
        ("K3", None, None, None),
    ]
    assert query(
        warehouse,
        "select source_line, reason, payment_id, paid_at, status from quarantine.payments order by 1",
    ) == [
        (8, "invalid_paid_at", "R-7", "13/25/2024", "bezahlt"),
        (9, "invalid_status", "R-8", "06/08/2024", "storniert"),
    ]
    assert query(
        warehouse, "select source_line, reason, customer_id, created_at, country from quarantine.customers"
    ) == [(4, "invalid_created_at", "K3", "99/99/2024", "DE")]

    # Another mapping on the same warehouse: no refund statuses, and customers' dates without a time.
    changed = yaml.safe_load(mapping.read_text(encoding="utf-8"))
    del changed["payments"]["refund_statuses"]
    changed["customers"]["timestamp"] = ["%d/%m/%Y"]
    changed_path = tmp_path / "changed.yml"
    changed_path.write_text(yaml.safe_dump(changed, allow_unicode=True), encoding="utf-8")
    run_ok(data_dir, tmp_path, "--mapping", changed_path)

    assert row_counts(warehouse) == {"payments": (8, 5, 3), "customers": (3, 1, 2)}
    assert net_revenue_by_month(warehouse)["2024-07-01"] == (d("30"), d("0"), d("30"))
    assert query(
        warehouse, "select customer_id, reason, created_at from quarantine.customers order by 1"
    ) == [
        ("K2", "invalid_created_at", "28/05/2024 18:00"),
        ("K3", "invalid_created_at", "99/99/2024"),
    ]


def test_mapping_yml_in_the_data_folder_is_found(tmp_path):
    """The newcomer's story: paid/refunded, epoch seconds, "1,000.00", and a mapping.yml next to the
    file; `lifecycle run --data-dir` alone reads it."""
    data_dir = copy_export("newcomer", tmp_path)
    warehouse = tmp_path / "warehouse" / "lifecycle.duckdb"
    result = lifecycle("run", "--data-dir", data_dir, warehouse=warehouse, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"input mapping: {data_dir / 'mapping.yml'} (from data folder)" in result.stdout

    assert row_counts(warehouse) == {"payments": (5, 5, 0), "customers": (0, 0, 0)}
    assert net_revenue_by_month(warehouse) == {
        "2024-06-01": (d("1049"), d("0"), d("1049")),
        "2024-07-01": (d("25"), d("-1000"), d("-975")),
    }
    # u3's failed payment at 10:00:00.5 (fractional epoch seconds) is not a purchase; the one at 11:00 is.
    assert first_purchases(warehouse) == {
        "u1": dt.datetime(2024, 6, 1, 10, 0),
        "u2": dt.datetime(2024, 6, 2, 10, 0),
        "u3": dt.datetime(2024, 7, 2, 11, 0),
    }
    assert query(warehouse, "select paid_at from staging.stg_billing__payments where payment_id = '4'") == [
        (dt.datetime(2024, 7, 2, 10, 0, 0, 500000),)
    ]
    record_path = Path(result.stdout.rstrip().splitlines()[-1].removeprefix("run record: "))
    record = json.loads(record_path.read_text())
    assert record["mapping"]["file"] == str(data_dir / "mapping.yml")
    assert record["mapping"]["input_mapping"]["payments"]["timestamp"] == ["epoch_seconds"]


def test_plain_dbt_build_reads_the_export_with_the_mapping_var(tmp_path):
    """The same mapping as a dbt var, with raw_data_dir: renames, formats and vocabularies apply there too."""
    data_dir = copy_export("european", tmp_path)
    mapping = yaml.safe_load((MAPPINGS / "european.yml").read_text(encoding="utf-8"))
    warehouse = tmp_path / "plain.duckdb"
    env = {**os.environ, "LIFECYCLE_DUCKDB_PATH": str(warehouse), "DO_NOT_TRACK": "1"}
    result = subprocess.run(
        [
            str(BIN / "dbt"),
            "run",
            "--select",
            "+fct_revenue_monthly",
            "+quarantine_payments",
            "+quarantine_customers",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(tmp_path / "target"),
            "--vars",
            json.dumps({"raw_data_dir": str(data_dir), "input_mapping": mapping}),
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert net_revenue_by_month(warehouse)["2024-07-01"] == (d("30"), d("-12.5"), d("17.5"))
    assert query(warehouse, "select payment_id, paid_at, status from quarantine.payments order by 1") == [
        ("R-7", "13/25/2024", "bezahlt"),
        ("R-8", "06/08/2024", "storniert"),
    ]
    assert query(warehouse, "select customer_id, created_at from quarantine.customers") == [
        ("K3", "99/99/2024")
    ]


# ----------------------------------------------------------------------------- mapping file errors

MAPPING_ERRORS = {
    "unknown_table_key": ("payment:\n  status: {paid: succeeded}\n", r"payment: unknown key"),
    "unknown_key": ("payments:\n  statuses: {paid: succeeded}\n", r"payments\.statuses: unknown key"),
    "status_not_in_contract": (
        "payments:\n  status: {paid: success}\n",
        r"payments\.status\.paid: 'success' is not a contract status \(succeeded, failed, pending\)",
    ),
    "refund_mapped_to_failed": (
        "payments:\n  status: {refunded: failed}\n  refund_statuses: [refunded]\n",
        r"payments\.refund_statuses: 'refunded' is a refund",
    ),
    "bad_strptime_format": (
        "payments:\n  timestamp: ['%d/%m/%Q']\n",
        r"payments\.timestamp: bad strptime format",
    ),
    "unknown_timestamp_format": (
        "payments:\n  timestamp: [unix]\n",
        r"payments\.timestamp: unknown timestamp format 'unix'",
    ),
    "bad_separator": ("payments:\n  amount: {decimal: ';'}\n", r"payments\.amount\.decimal: ';' is not"),
    "same_separators": (
        "payments:\n  amount: {decimal: ',', thousands: ','}\n",
        r"payments\.amount: decimal and thousands separators are both ','",
    ),
    "unknown_contract_column": (
        "payments:\n  columns: {paid_on: created}\n",
        r"payments\.columns\.paid_on: unknown key",
    ),
    "customers_status": ("customers:\n  status: {a: succeeded}\n", r"customers\.status: unknown key"),
    "yaml_syntax": ("payments:\n  status: {paid: succeeded\n", r"not valid YAML: .*line \d+"),
    "duplicate_key": (
        "payments:\n  timestamp: [iso]\n  timestamp: [epoch_seconds]\n",
        r"key 'timestamp' appears twice",
    ),
    "empty": ("# nothing\n", r"empty mapping file"),
}


@pytest.mark.parametrize("case", sorted(MAPPING_ERRORS))
def test_mapping_file_errors_exit_3_naming_the_file_and_key(tmp_path, case):
    text, message = MAPPING_ERRORS[case]
    data_dir = copy_export("newcomer", tmp_path)
    mapping = tmp_path / "bad-mapping.yml"
    mapping.write_text(text, encoding="utf-8")
    warehouse = tmp_path / "warehouse" / "lifecycle.duckdb"
    result = lifecycle(
        "check", "--data-dir", data_dir, "--mapping", mapping, warehouse=warehouse, cwd=tmp_path
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"invalid input: {mapping}: " in result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert not warehouse.exists()


def test_mapping_option_wins_over_the_data_folder_file(tmp_path):
    """With both, --mapping is read and the data folder's mapping.yml is not even opened."""
    data_dir = copy_export("newcomer", tmp_path)
    (data_dir / "mapping.yml").write_text("payments: [this is not read]\n", encoding="utf-8")
    explicit = tmp_path / "explicit.yml"
    explicit.write_text("payments:\n  stauts: {}\n", encoding="utf-8")
    result = lifecycle(
        "check", "--data-dir", data_dir, "--mapping", explicit, warehouse=tmp_path / "w.duckdb", cwd=tmp_path
    )
    assert result.returncode == 3
    assert f"{explicit}: payments.stauts: unknown key" in result.stderr


def test_a_mapped_column_missing_from_the_export_names_both(tmp_path):
    data_dir = copy_export("newcomer", tmp_path)
    (data_dir / "mapping.yml").write_text(
        "payments:\n  columns: {paid_at: Created (UTC)}\n", encoding="utf-8"
    )
    result = lifecycle("check", "--data-dir", data_dir, warehouse=tmp_path / "w.duckdb", cwd=tmp_path)
    assert result.returncode == 3
    assert (
        f"{data_dir / 'payments.csv'}: missing column(s) payment_id, customer_id, paid_at (mapped to "
        "'Created (UTC)')" in result.stderr
    )
