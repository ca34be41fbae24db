"""The dbt marts equal the pandas oracle (tests/oracle.py) on randomized raw inputs.

Each example writes raw `payments.csv` (and maybe `customers.csv` and `marketing_spend.csv`) to a temporary
directory, builds the real dbt project on it (`raw_data_dir`) into a throw-away DuckDB file, and compares
every mart the oracle computes (oracle.MART_COLUMNS: the lifecycle marts, the segment marts, the
win-back list and fct_ltv) with the oracle: same grain keys, every column equal, except the columns that
come from the CLV model (oracle.UNCOMPARED_COLUMNS). A dbt build takes several seconds, so the number of
random examples is small by default; raise it with ORACLE_EXAMPLES=200 (ORACLE_SHRINK=0 skips shrinking).
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dbt_project_runner import DbtFailed, run_dbt
from oracle import (
    MART_COLUMNS,
    MART_KEYS,
    UNCOMPARED_COLUMNS,
    SegmentSettings,
    add_months,
    column_kind,
    compute_marts,
)

EXAMPLES = int(os.environ.get("ORACLE_EXAMPLES", "8"))
# Shrinking a failure re-runs dbt many times (Hypothesis caps it at ~5 minutes); ORACLE_SHRINK=0 skips it.
PHASES = [p for p in Phase if os.environ.get("ORACLE_SHRINK", "1") != "0" or p is not Phase.shrink]
PAYMENT_COLUMNS = ["payment_id", "customer_id", "paid_at", "amount", "currency", "status"]
CUSTOMER_COLUMNS = ["customer_id", "created_at", "country", "acquisition_channel"]
SPEND_COLUMNS = ["month", "acquisition_channel", "spend", "currency"]
#: dbt_project.yml's segment vars, read once; each case overrides the inactivity stages (see RawCase).
PROJECT_SETTINGS = SegmentSettings.from_project()
MONEY_TOLERANCE = 0.005
RATE_RELATIVE_TOLERANCE = 1e-9
MAX_DIFF_LINES = 40


@dataclass
class RawCase:
    """One raw dataset plus the dbt vars to build it with."""

    payments: list[dict[str, str]]
    customers: list[dict[str, str]] | None
    as_of_date: date | None = None
    #: rows of marketing_spend.csv, or None for no file
    marketing_spend: list[dict[str, str]] | None = None
    churn_inactivity_days: int = 90
    reporting_timezone: str = "UTC"
    payment_columns: list[str] = field(default_factory=lambda: list(PAYMENT_COLUMNS))

    @property
    def inactivity_stage_days(self) -> tuple[int, int]:
        """(inactivity_cooling_days, inactivity_at_risk_days): the defaults 30 and 60 when they fit below
        churn_inactivity_days, else a third and two thirds of it (validate_settings stops the build unless
        cooling < at_risk < churn_inactivity_days)."""
        n = self.churn_inactivity_days
        return (30, 60) if n > 60 else (max(1, n // 3), max(2, 2 * n // 3))

    def dbt_vars(self, raw_dir: Path) -> dict[str, Any]:
        cooling, at_risk = self.inactivity_stage_days
        out: dict[str, Any] = {
            "raw_data_dir": str(raw_dir),
            "churn_inactivity_days": self.churn_inactivity_days,
            "reporting_timezone": self.reporting_timezone,
            "inactivity_cooling_days": cooling,
            "inactivity_at_risk_days": at_risk,
        }
        if self.as_of_date is not None:
            out["as_of_date"] = self.as_of_date.isoformat()
        return out

    def settings(self) -> SegmentSettings:
        """The segment vars the build runs with: dbt_project.yml's, with this case's inactivity stages."""
        cooling, at_risk = self.inactivity_stage_days
        return replace(PROJECT_SETTINGS, inactivity_cooling_days=cooling, inactivity_at_risk_days=at_risk)

    def payments_csv(self) -> str:
        return _csv(self.payments, self.payment_columns)

    def customers_csv(self) -> str | None:
        return None if self.customers is None else _csv(self.customers, CUSTOMER_COLUMNS)

    def marketing_spend_csv(self) -> str | None:
        return None if self.marketing_spend is None else _csv(self.marketing_spend, SPEND_COLUMNS)

    def describe(self) -> str:
        cooling, at_risk = self.inactivity_stage_days
        text = (
            f"vars: as_of_date={self.as_of_date}, churn_inactivity_days={self.churn_inactivity_days}, "
            f"reporting_timezone={self.reporting_timezone}, inactivity_cooling_days={cooling}, "
            f"inactivity_at_risk_days={at_risk}\n--- payments.csv\n{self.payments_csv()}"
        )
        customers = self.customers_csv()
        text += "--- no customers.csv\n" if customers is None else f"--- customers.csv\n{customers}"
        spend = self.marketing_spend_csv()
        return text + (
            "--- no marketing_spend.csv\n" if spend is None else f"--- marketing_spend.csv\n{spend}"
        )


def _csv(rows: list[dict[str, str]], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({c: r.get(c) or "" for c in columns} for r in rows)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------
# Comparing marts


def _normalize(value: Any, kind: str) -> Any:
    """One cell (from dbt or the oracle) -> a canonical Python value, None for any kind of null."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if kind == "text":
        return str(value)
    if kind == "bool":
        return bool(value)
    if kind == "date":
        if isinstance(value, datetime):  # also pd.Timestamp
            return value.date()
        if isinstance(value, date):
            return value
        return date.fromisoformat(str(value))
    if kind == "timestamp":
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return stamp.to_pydatetime()
    if kind == "int":
        number = float(value) if not isinstance(value, int) else value
        return int(number) if float(number).is_integer() else number
    if kind in ("money", "rate"):
        return float(value)
    raise ValueError(f"unknown column kind {kind!r}")


def _equal(actual: Any, expected: Any, kind: str) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    if kind == "money":
        return abs(actual - expected) < MONEY_TOLERANCE
    if kind == "rate":
        return math.isclose(actual, expected, rel_tol=RATE_RELATIVE_TOLERANCE, abs_tol=1e-12)
    return actual == expected


def _keyed_rows(frame: pd.DataFrame, mart: str) -> tuple[dict[tuple, dict[str, Any]], list[tuple]]:
    """Rows of `frame` by normalized grain key, and the keys that occur more than once."""
    keys = MART_KEYS[mart]
    columns = [c for c in MART_COLUMNS[mart] if c in frame.columns]
    rows: dict[tuple, dict[str, Any]] = {}
    duplicates: list[tuple] = []
    for record in frame.to_dict("records"):
        normalized = {c: _normalize(record[c], column_kind(mart, c)) for c in columns}
        key = tuple(normalized[k] for k in keys)
        if key in rows:
            duplicates.append(key)
        rows[key] = normalized
    return rows, duplicates


def _key_text(mart: str, key: tuple) -> str:
    return ", ".join(f"{k}={v}" for k, v in zip(MART_KEYS[mart], key, strict=True))


def diff_marts(actual: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> list[str]:
    """Readable differences between the dbt marts (`actual`) and the oracle (`expected`); [] when equal."""
    lines: list[str] = []
    for mart, columns in MART_COLUMNS.items():
        frame = actual.get(mart)
        if frame is None:
            lines.append(f"{mart}: missing from the warehouse")
            continue
        missing = [c for c in columns if c not in frame.columns]
        extra = [c for c in frame.columns if c not in columns and c not in UNCOMPARED_COLUMNS.get(mart, [])]
        if missing or extra:
            lines.append(f"{mart}: columns missing {missing}, unexpected {extra}")
        if any(k in missing for k in MART_KEYS[mart]):
            continue
        dbt_rows, duplicates = _keyed_rows(frame, mart)
        oracle_rows, _ = _keyed_rows(expected[mart], mart)
        lines += [f"{mart} [{_key_text(mart, k)}]: duplicate grain key in dbt" for k in duplicates]
        for key in sorted(dbt_rows.keys() - oracle_rows.keys(), key=str):
            lines.append(f"{mart} [{_key_text(mart, key)}]: row only in dbt")
        for key in sorted(oracle_rows.keys() - dbt_rows.keys(), key=str):
            lines.append(f"{mart} [{_key_text(mart, key)}]: row only in the oracle")
        for key in sorted(dbt_rows.keys() & oracle_rows.keys(), key=str):
            for column in columns:
                if column in missing:
                    continue
                got, want = dbt_rows[key][column], oracle_rows[key][column]
                if not _equal(got, want, column_kind(mart, column)):
                    lines.append(f"{mart} [{_key_text(mart, key)}] {column}: dbt={got!r} oracle={want!r}")
    return lines


# ---------------------------------------------------------------------------------------------------
# Building and checking one case


def read_compared_marts(workdir: Path) -> dict[str, pd.DataFrame]:
    """Every mart the oracle computes (MART_COLUMNS), read from the warehouse built in `workdir`."""
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as con:
        return {name: con.execute(f"select * from marts.{name}").df() for name in MART_COLUMNS}


def check_case(case: RawCase) -> None:
    """Build the dbt project on `case` and assert every mart equals the oracle's."""
    with tempfile.TemporaryDirectory(prefix="oracle-") as tmp:
        raw_dir = Path(tmp) / "raw"
        raw_dir.mkdir()
        (raw_dir / "payments.csv").write_text(case.payments_csv())
        customers_csv = case.customers_csv()
        if customers_csv is not None:
            (raw_dir / "customers.csv").write_text(customers_csv)
        spend_csv = case.marketing_spend_csv()
        if spend_csv is not None:
            (raw_dir / "marketing_spend.csv").write_text(spend_csv)
        # The oracle reads the very files dbt reads, every column as text.
        payments = pd.read_csv(raw_dir / "payments.csv", dtype=str)
        customers = None if customers_csv is None else pd.read_csv(raw_dir / "customers.csv", dtype=str)
        spend = None if spend_csv is None else pd.read_csv(raw_dir / "marketing_spend.csv", dtype=str)
        expected = compute_marts(
            payments,
            customers,
            as_of_date=case.as_of_date,
            churn_inactivity_days=case.churn_inactivity_days,
            reporting_timezone=case.reporting_timezone,
            marketing_spend=spend,
            settings=case.settings(),
        )
        workdir = Path(tmp) / "dbt"
        try:
            run_dbt(["build", "--exclude", "test_type:unit"], workdir, vars=case.dbt_vars(raw_dir))
        except DbtFailed as error:
            raise DbtFailed(f"{error}\n\nInput:\n{case.describe()}") from None
        actual = read_compared_marts(workdir)
    differences = diff_marts(actual, expected)
    if differences:
        shown = "\n".join(differences[:MAX_DIFF_LINES])
        more = len(differences) - MAX_DIFF_LINES
        raise AssertionError(
            f"{len(differences)} differences between the dbt marts and the oracle:\n{shown}"
            + (f"\n... and {more} more" if more > 0 else "")
            + f"\n\nInput:\n{case.describe()}"
        )


# ---------------------------------------------------------------------------------------------------
# Random raw datasets

FIRST_DAY, LAST_DAY = date(2024, 1, 1), date(2025, 2, 28)
SERIES_FIRST_DAY, SERIES_LAST_START = date(2023, 1, 1), date(2024, 12, 31)
TIMES = ["00:00:00", "00:30:00", "03:00:00", "04:59:59", "12:00:00", "19:30:00", "23:00:00", "23:59:59"]
OFFSETS = ["Z", "+05:00", "-08:00", "+0530", "", "date"]


def _paid_at(day: date, time: str, offset: str) -> str:
    """A wall-clock day and time written in one of the contract's formats."""
    if offset == "date":
        return day.isoformat()
    return f"{day.isoformat()}T{time}{offset}"


@st.composite
def raw_cases(draw: st.DrawFn) -> RawCase:
    customer_ids = [f"c{i}" for i in range(1, draw(st.integers(1, 8)) + 1)]
    # A few shared days (and shared times) so several payments land on one day, some at the same instant.
    days = draw(st.lists(st.dates(FIRST_DAY, LAST_DAY), min_size=1, max_size=8, unique=True))
    n_payments = draw(st.integers(0, 25))
    # Shuffled numeric ids: text order ("p10" < "p9") differs from numeric order for the tie-break.
    numbers = draw(st.permutations(list(range(1, n_payments + 1))))
    # Mostly purchases; some refunds and the odd zero.
    amount_cents = st.sampled_from(["purchase"] * 7 + ["refund"] * 2 + ["zero"]).flatmap(
        lambda kind: {
            "purchase": st.integers(1, 30_000),
            "refund": st.integers(-15_000, -1),
            "zero": st.just(0),
        }[kind]
    )
    statuses = st.sampled_from(["succeeded"] * 6 + ["failed", "pending"])
    payments = []
    for number in numbers:
        cents = draw(amount_cents)
        payments.append(
            {
                "payment_id": f"p{number}",
                "customer_id": draw(st.sampled_from(customer_ids)),
                "paid_at": _paid_at(
                    draw(st.sampled_from(days)), draw(st.sampled_from(TIMES)), draw(st.sampled_from(OFFSETS))
                ),
                "amount": f"{Decimal(cents) / 100:.2f}",
                "currency": "USD",
                "status": draw(statuses),
            }
        )

    # Customers who pay every k months for a while (from 2023 on, with the odd month skipped, and maybe once
    # more some months after they stopped), so that the segment rules (regular, periodic, one-off,
    # frequency lost, hidden churn) and the 12-month LTV horizon have histories to work on.
    for _ in range(draw(st.integers(0, 4))):
        customer_id = draw(st.sampled_from(customer_ids))
        start, step = draw(st.dates(SERIES_FIRST_DAY, SERIES_LAST_START)), draw(st.sampled_from([1, 1, 2, 3]))
        time, offset = draw(st.sampled_from(TIMES)), draw(st.sampled_from(OFFSETS))
        offsets = list(range(0, step * draw(st.integers(2, 16)), step))
        late = draw(st.one_of(st.none(), st.integers(1, 5)))
        for k in offsets + ([] if late is None else [offsets[-1] + late]):
            day = add_months(start.replace(day=1), k).replace(day=min(start.day, 28))
            if day > LAST_DAY or draw(st.integers(0, 5)) == 0:  # past the range, or a skipped month
                continue
            payments.append(
                {
                    "payment_id": f"p{len(payments) + 1}",
                    "customer_id": customer_id,
                    "paid_at": _paid_at(day, time, offset),
                    "amount": f"{Decimal(draw(st.integers(100, 20_000))) / 100:.2f}",
                    "currency": "USD",
                    "status": "succeeded",
                }
            )

    customers = None
    if draw(st.booleans()):
        listed = [c for c in customer_ids if draw(st.booleans())]
        listed += [f"x{i}" for i in range(1, draw(st.integers(0, 2)) + 1)]
        customers = []
        for customer_id in listed:
            created = draw(st.one_of(st.none(), st.dates(date(2023, 6, 1), date(2025, 6, 30))))
            created_at = "" if created is None else _paid_at(created, draw(st.sampled_from(TIMES)), "Z")
            customers.append(
                {
                    "customer_id": customer_id,
                    "created_at": created_at,
                    "country": draw(st.sampled_from(["US", "DE", "IN", ""])),
                    "acquisition_channel": draw(st.sampled_from(["organic", "paid_search", "referral", ""])),
                }
            )

    # Unset, a payment day (payments on as_of_date are kept), or any day in the range.
    as_of = draw(st.one_of(st.none(), st.one_of(st.sampled_from(days), st.dates(FIRST_DAY, LAST_DAY))))
    if as_of is None and not payments:  # the default as_of_date needs at least one payment
        as_of = draw(st.dates(FIRST_DAY, LAST_DAY))

    # Marketing spend per month and channel (some months after as_of_date, a channel nobody came through,
    # a zero, two rows of one month and channel), mostly in the months people paid in (so, often, in their
    # cohort months).
    marketing_spend = None
    if draw(st.integers(0, 3)) > (0 if customers else 1):  # 3 in 4 with a customers file, else 1 in 2
        month_of_text = {p["paid_at"]: date.fromisoformat(p["paid_at"][:10]).replace(day=1) for p in payments}
        paid_months = sorted(set(month_of_text.values()) or {FIRST_DAY})
        # (channel, month of one of their payments) of the customers with a channel: often a cohort month.
        channels = {
            c["customer_id"]: c["acquisition_channel"] for c in customers or [] if c["acquisition_channel"]
        }
        acquisitions = sorted(
            {
                (channels[p["customer_id"]], month_of_text[p["paid_at"]])
                for p in payments
                if p["customer_id"] in channels
            }
        )
        any_channel = st.sampled_from(["organic", "paid_search", "referral", "display"])
        any_month = st.dates(date(2023, 10, 1), date(2025, 3, 31)).map(lambda d: d.replace(day=1))
        pairs = st.tuples(any_channel, st.one_of(st.sampled_from(paid_months), any_month))
        if acquisitions:
            pairs = st.one_of(st.sampled_from(acquisitions), pairs)
        marketing_spend = []
        for _ in range(draw(st.integers(0, 10))):
            channel, month = draw(pairs)
            cents = draw(st.sampled_from([0, 1, 2]) | st.integers(0, 500_000))
            marketing_spend.append(
                {
                    "month": draw(st.sampled_from(["{:%Y-%m}", "{:%Y/%m}", "{:%Y-%m-%d}"])).format(month),
                    "acquisition_channel": channel,
                    "spend": f"{Decimal(cents) / 100:.2f}",
                    "currency": "USD",
                }
            )
    return RawCase(
        payments=payments,
        customers=customers,
        as_of_date=as_of,
        marketing_spend=marketing_spend,
        churn_inactivity_days=draw(st.sampled_from([7, 30, 90])),
        reporting_timezone=draw(st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata"])),
    )


# Not marked slow: ORACLE_EXAMPLES sizes it (`make test-fast` runs 3 examples, `make test` 8).
@settings(
    max_examples=EXAMPLES,
    phases=PHASES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=raw_cases())
def test_marts_match_oracle_on_random_inputs(case: RawCase) -> None:
    check_case(case)


# ---------------------------------------------------------------------------------------------------
# One fixed case with every tricky feature at once


def _payment(
    pid: str, cid: str, paid_at: str, amount: str, status: str = "succeeded", currency: str = "USD"
) -> dict[str, str]:
    return {
        "note": f"extra column ({pid})",
        "status": status,
        "amount": amount,
        "paid_at": paid_at,
        "customer_id": cid,
        "payment_id": pid,
        "currency": currency,
    }


#: Reported in New York with N = 30 and as_of_date 2024-06-20 (a month that is not complete).
EVERYTHING_CASE = RawCase(
    payments=[
        # c1: a failed first payment in January, then two purchases at one instant in February written in
        # two formats (10:00Z = 15:00+05:00; tie broken by payment_id: p2 first), then a refund in March
        # (a bare date = Mar 15 00:00 UTC = Mar 14 in New York). Lapses in March (N = 30).
        _payment("p1", "c1", "2024-01-10T15:00:00Z", "40.00", "failed"),
        _payment("p3", "c1", "2024-02-10T10:00:00Z", "12.5"),
        _payment("p2", "c1", "2024-02-10T15:00:00+05:00", "40.00"),
        _payment("p4", "c1", "2024-03-15", "-10.00"),
        # c2: joins Mar 1 and lapses by Mar 31 (window Mar 2 .. 31): new and churned in March; comes back on
        # May 31 23:30 -08:00 = Jun 1 07:30 UTC = Jun 1 in New York: reactivated in June.
        _payment("p5", "c2", "2024-03-01T12:00:00-08:00", "25.00"),
        _payment("p6", "c2", "2024-05-31T23:30:00-08:00", "30.00"),
        # c3 (no customers row): "2024-02-01" is Jan 31 19:00 in New York; 04:30+0530 = Jan 31 23:00 UTC;
        # 08:00+05 = Apr 10 03:00 UTC = Apr 9 in New York.
        _payment("p7", "c3", "2024-02-01", "19.99"),
        _payment("p8", "c3", "2024-02-01T04:30:00+0530", "9.99"),
        _payment("p15", "c3", "2024-03-28T12:00:00Z", "5.00"),
        _payment("p9", "c3", "2024-04-10T08:00:00+05", "15.00"),
        # c4: a prospect with a refund (naive timestamp = UTC) and a succeeded payment of 0.
        _payment("p10", "c4", "2024-04-05T12:00:00", "-5.00"),
        _payment("p11", "c4", "2024-04-06T12:00:00Z", "0.00"),
        # c5: pays after as_of_date (left out) and was created after it: not a customer at all.
        _payment("p12", "c5", "2024-06-25T12:00:00Z", "50.00"),
        # c6: a refund before the first purchase; an amount without decimals.
        _payment("p13", "c6", "2024-06-10T12:00:00Z", "-3.00"),
        _payment("p14", "c6", "2024-06-15T12:00:00Z", "20"),
        # c7: two purchases at one instant; "p100" < "p20" in text order, so p100 (70.00) is the first.
        _payment("p20", "c7", "2024-05-05T10:00:00Z", "7.00"),
        _payment("p100", "c7", "2024-05-05T10:00:00Z", "70.00"),
        # c8: only a pending payment: a prospect.
        _payment("p30", "c8", "2024-05-20T10:00:00Z", "10.00", "pending"),
        # Rows that cannot be read as payments: set aside, counted nowhere (c11 .. c13 never appear).
        _payment("p2", "c1", "2024-02-11T10:00:00Z", "500.00"),  # repeated payment_id: the first p2 is kept
        _payment("p40", "c1", "2024-03-03T10:00:00Z", "abc"),
        _payment("p41", "c11", "not a timestamp", "5.00"),
        _payment("p42", "c2", "2024-04-04T10:00:00Z", "5.00", "refunded"),
        _payment("p43", "", "2024-04-04T10:00:00Z", "5.00"),
        _payment("p44", "c12", "2024-04-04T10:00:00Z", "5.00", currency="dollars"),
        _payment("", "c13", "2024-04-04T10:00:00Z", "5.00"),
    ],
    customers=[
        {
            "customer_id": "c1",
            "created_at": "2024-01-05",
            "country": "US",
            "acquisition_channel": "paid_search",
        },
        {"customer_id": "c2", "created_at": "", "country": "", "acquisition_channel": "organic"},
        {"customer_id": "c5", "created_at": "2024-06-22", "country": "US", "acquisition_channel": ""},
        {
            "customer_id": "c6",
            "created_at": "2024-06-18T10:00:00Z",
            "country": "DE",
            "acquisition_channel": "",
        },
        # created after as_of_date but paid before it: kept, with its record
        {"customer_id": "c7", "created_at": "2024-07-01", "country": "IN", "acquisition_channel": "referral"},
        # no payments: a prospect
        {
            "customer_id": "c9",
            "created_at": "2024-03-01T08:00:00-08:00",
            "country": "",
            "acquisition_channel": "",
        },
        # Jun 21 02:00 UTC = Jun 20 22:00 in New York: created on the as_of day, so kept
        {
            "customer_id": "c10",
            "created_at": "2024-06-21T02:00:00Z",
            "country": "US",
            "acquisition_channel": "",
        },
    ],
    as_of_date=date(2024, 6, 20),
    # Spend: two rows of one month and channel (one written with spaces and capitals) are summed (c1's CAC
    # 50.00); a month written as a day; a channel and a month nobody was acquired in (display, April); spend
    # of 0 (organic, June); a day of the as_of month after as_of_date (kept: the month starts before it);
    # July (after as_of_date: left out).
    marketing_spend=[
        {"month": "2024-02", "acquisition_channel": "paid_search", "spend": "30.00", "currency": "USD"},
        {"month": "2024/02", "acquisition_channel": " Paid_Search ", "spend": "20", "currency": "USD"},
        {"month": "2024-03-31", "acquisition_channel": "organic", "spend": "12.50", "currency": "USD"},
        {"month": "2024-04", "acquisition_channel": "display", "spend": "99.99", "currency": "USD"},
        {"month": "2024-06", "acquisition_channel": "organic", "spend": "0.00", "currency": "USD"},
        {"month": "2024-06-25", "acquisition_channel": "referral", "spend": "7.00", "currency": "USD"},
        {"month": "2024-07", "acquisition_channel": "paid_search", "spend": "500.00", "currency": "USD"},
    ],
    churn_inactivity_days=30,
    reporting_timezone="America/New_York",
    payment_columns=["note", "status", "amount", "paid_at", "customer_id", "payment_id", "currency"],
)


@pytest.mark.slow
def test_marts_match_oracle_on_every_tricky_feature() -> None:
    check_case(EVERYTHING_CASE)


def test_diff_marts_reports_mart_key_column_and_both_values() -> None:
    """The comparison helper itself: equal marts give no lines; a changed cell is named precisely."""
    case = EVERYTHING_CASE
    payments = pd.read_csv(io.StringIO(case.payments_csv()), dtype=str)
    customers = pd.read_csv(io.StringIO(case.customers_csv() or ""), dtype=str)
    oracle = compute_marts(
        payments, customers, case.as_of_date, case.churn_inactivity_days, "America/New_York"
    )
    assert diff_marts(oracle, oracle) == []
    changed = {name: frame.copy() for name, frame in oracle.items()}
    churn = changed["fct_churn_monthly"]
    churn["churn_rate"] = churn["churn_rate"].astype(object)
    churn.loc[churn["month"] == date(2024, 4, 1), "churn_rate"] = 0.25
    changed["dim_customers"] = changed["dim_customers"].drop(columns=["country"])
    lines = diff_marts(changed, oracle)
    assert "dim_customers: columns missing ['country'], unexpected []" in lines
    assert any(
        line.startswith("fct_churn_monthly [month=2024-04-01] churn_rate: dbt=0.25 oracle=") for line in lines
    )
    assert len(lines) == 2
