"""Rows set aside: example rows per reason, and the share of an input table a run may set aside.

A run that sets aside more than `max_set_aside_share` of any input table's rows stops with exit 4
before the Great Expectations step and publishes nothing: at that point the marts would describe a
small, arbitrary part of the business. The report names, per table, the share, the top reasons with
their counts and a few example rows (file, line and the original text of the offending columns), read
from the quarantine tables (docs/pipeline.md, "Rows set aside").
"""

from __future__ import annotations

import duckdb

EXAMPLES_PER_REASON = 3
TOP_REASONS = 5
# The input columns that make a row fail each check; other columns are not shown in examples.
REASON_COLUMNS = {
    "payments": {
        "missing_payment_id": ("payment_id",),
        "duplicate_payment_id_exact": ("payment_id", "customer_id", "paid_at", "amount"),
        "duplicate_payment_id_conflict": ("payment_id", "customer_id", "paid_at", "amount"),
        "missing_customer_id": ("payment_id", "customer_id"),
        "invalid_paid_at": ("payment_id", "paid_at"),
        "paid_at_out_of_range": ("payment_id", "paid_at"),
        "invalid_amount": ("payment_id", "amount"),
        "invalid_status": ("payment_id", "status"),
        "invalid_currency": ("payment_id", "currency"),
        "paid_at_after_as_of_date": ("payment_id", "paid_at"),
    },
    "customers": {
        "missing_customer_id": ("customer_id",),
        "duplicate_customer_id_exact": ("customer_id", "created_at", "country", "acquisition_channel"),
        "duplicate_customer_id_conflict": ("customer_id", "created_at", "country", "acquisition_channel"),
        "invalid_created_at": ("customer_id", "created_at"),
        "created_at_out_of_range": ("customer_id", "created_at"),
        "created_at_after_as_of_date": ("customer_id", "created_at"),
    },
    "marketing_spend": {
        "invalid_month": ("month", "acquisition_channel"),
        "month_out_of_range": ("month", "acquisition_channel"),
        "missing_acquisition_channel": ("month", "acquisition_channel"),
        "invalid_spend": ("month", "acquisition_channel", "spend"),
        "negative_spend": ("month", "acquisition_channel", "spend"),
        "invalid_currency": ("month", "acquisition_channel", "currency"),
        "currency_mismatch": ("month", "acquisition_channel", "currency"),
        "month_after_as_of_date": ("month", "acquisition_channel"),
    },
}
# Rows dated after as_of_date are left out on purpose, not bad: the limit does not count them.
AFTER_AS_OF_REASONS = ("paid_at_after_as_of_date", "created_at_after_as_of_date", "month_after_as_of_date")
ALL_COLUMNS = {
    "payments": ("payment_id", "customer_id", "paid_at", "amount", "currency", "status"),
    "customers": ("customer_id", "created_at", "country", "acquisition_channel"),
    "marketing_spend": ("month", "acquisition_channel", "spend", "currency"),
}


def collect_examples(con: duckdb.DuckDBPyConnection, set_aside_by_reason: dict[str, dict[str, int]]) -> dict:
    """{table: {reason: [{source_file, source_line, <offending columns>}, ...]}} for the top reasons."""
    examples: dict[str, dict[str, list[dict]]] = {}
    for table, reasons in set_aside_by_reason.items():
        for reason in list(reasons)[:TOP_REASONS]:
            columns = REASON_COLUMNS.get(table, {}).get(reason, ALL_COLUMNS.get(table, ()))
            selected = ", ".join(["source_file", "source_line", *columns])
            rows = con.execute(
                f"select {selected} from quarantine.{table} where reason = ? order by source_line limit ?",
                [reason, EXAMPLES_PER_REASON],
            ).fetchall()
            names = ["source_file", "source_line", *columns]
            examples.setdefault(table, {})[reason] = [dict(zip(names, row, strict=True)) for row in rows]
    return examples


def example_line(example: dict) -> str:
    values = ", ".join(
        f"{name}={'NULL' if value is None else repr(value)}"
        for name, value in example.items()
        if name not in ("source_file", "source_line")
    )
    return f"{example['source_file']} line {example['source_line']}: {values}"


def over_limit(
    row_counts: list[dict], set_aside_by_reason: dict[str, dict[str, int]], max_share: float
) -> list[dict]:
    """The input tables whose set-aside share is above `max_share`, with their share. Rows dated after
    as_of_date are not bad rows (an earlier --as-of leaves them out on purpose): they count neither
    as set aside nor as read."""
    over = []
    for row in row_counts:
        reasons = set_aside_by_reason.get(row["table"], {})
        later = sum(count for reason, count in reasons.items() if reason in AFTER_AS_OF_REASONS)
        counted, read = row["rows_set_aside"] - later, row["rows_read"] - later
        if read > 0 and counted / read > max_share:
            over.append(
                {**row, "counted": counted, "in_scope": read, "after_as_of": later, "share": counted / read}
            )
    return over


def report(
    tables: list[dict], set_aside_by_reason: dict[str, dict[str, int]], examples: dict, max_share: float
) -> list[str]:
    """The lines printed when the limit is passed: per table the share, top reasons and examples."""
    lines = [
        f"More than {max_share:.1%} of an input table's rows were set aside (--max-set-aside-share, "
        "LIFECYCLE_MAX_SET_ASIDE_SHARE):"
    ]
    for row in tables:
        table = row["table"]
        later = (
            f"; {row['after_as_of']:,} more dated after as_of_date not counted" if row["after_as_of"] else ""
        )
        lines.append(
            f"  {table}: {row['counted']:,} of {row['in_scope']:,} rows set aside ({row['share']:.1%}{later})"
        )
        counted = {
            reason: count
            for reason, count in set_aside_by_reason.get(table, {}).items()
            if reason not in AFTER_AS_OF_REASONS
        }
        for reason, count in list(counted.items())[:TOP_REASONS]:
            lines.append(f"    {reason}: {count:,} row{'' if count == 1 else 's'}, e.g.")
            for example in examples.get(table, {}).get(reason, []):
                lines.append(f"      {example_line(example)}")
    return lines


def failure_message(tables: list[dict], max_share: float) -> str:
    shares = ", ".join(f"{row['table']} {row['share']:.1%}" for row in tables)
    return (
        f"too many rows set aside ({shares}; the limit is {max_share:.1%}); fix the input files or raise "
        "--max-set-aside-share; the warehouse was not published"
    )
