"""Independent pandas/Python re-implementation of docs/definitions.md: the "oracle".

It is written from the written definitions only (never from the dbt SQL), so that comparing it with the
marts on randomized inputs catches mistakes in either. It favours obviousness over speed: plain loops
over customers and months, exact integer money (units of 1/10000 of a currency unit).

Details that docs/definitions.md leaves open are decided as follows (and mirrored by the models):

- `as_of_date` defaults to the latest `paid_date` over all payments of any status.
- The monthly marts run from the first month with a succeeded payment of non-zero amount (on/before
  `as_of_date`) to the `as_of_date` month, without gaps.
- `is_complete` = the month's last day <= `as_of_date`; `month_end_date` = min(last day, `as_of_date`).
- `months_since_first` / `tenure_months` = whole calendar months between cohort month and the month.
- Customer-month money counts the customer's payments dated in that month, so refunds dated before the
  cohort month show only in dim_customers and the monthly marts.
- `created_at` is parsed like `paid_at`; a customers row whose `created_at` falls (in the reporting
  time zone) after `as_of_date` is set aside: the customer still exists if they paid on/before
  `as_of_date`, but without the record (`has_customer_record` false, no attributes).
- Set-aside payment rows (missing ids, repeated `payment_id`, unparseable `paid_at`/`amount`, unknown
  `status`, currency not three upper-case letters) count nowhere, not even for the default
  `as_of_date`. A repeated `payment_id` is judged in file order before anything else: the first row
  with the id is kept only if it is readable, later rows are always set aside.
- Amounts with more than 4 decimals are outside what the oracle handles (it raises).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

#: Money is carried as integers in units of 1/UNITS of a currency unit, so every sum is exact.
UNITS = 10_000
FOUR_DP = Decimal("0.0001")
STATUSES = {"succeeded", "failed", "pending"}
_CURRENCY = re.compile(r"^[A-Z]{3}$")

MART_COLUMNS: dict[str, list[str]] = {
    "dim_customers": [
        "customer_id",
        "has_customer_record",
        "created_at",
        "country",
        "acquisition_channel",
        "first_purchase_at",
        "last_purchase_at",
        "first_purchase_date",
        "last_purchase_date",
        "cohort_month",
        "purchase_count",
        "gross_revenue",
        "refunds",
        "net_revenue",
        "average_order_value",
        "days_since_last_purchase",
        "tenure_days",
        "tenure_months",
        "customer_type",
        "is_in_base",
        "lifecycle_state",
        "as_of_date",
    ],
    "fct_customer_months": [
        "customer_id",
        "month",
        "cohort_month",
        "months_since_first",
        "month_end_date",
        "purchases",
        "gross_revenue",
        "refunds",
        "net_revenue",
        "is_active",
        "was_in_base_at_start",
        "is_in_base_at_end",
        "is_new",
        "is_reactivated",
        "is_churned",
        "status",
    ],
    "fct_cohort_retention": [
        "cohort_month",
        "months_since_first",
        "month",
        "cohort_size",
        "active_customers",
        "retention_rate",
        "customers_in_base",
        "survival_rate",
        "net_revenue",
        "cumulative_net_revenue",
        "cumulative_net_revenue_per_customer",
        "is_complete",
    ],
    "fct_churn_monthly": [
        "month",
        "customers_start",
        "new_customers",
        "reactivated_customers",
        "churned_customers",
        "customers_end",
        "churn_rate",
        "retention_rate",
        "net_revenue",
        "arpu",
        "avg_customer_lifetime_months",
        "ltv",
        "churn_rate_trailing_6m",
        "arpu_trailing_6m",
        "avg_customer_lifetime_months_trailing_6m",
        "ltv_trailing_6m",
        "is_complete",
    ],
    "fct_revenue_monthly": [
        "month",
        "active_customers",
        "new_customers",
        "returning_customers",
        "purchases",
        "first_purchases",
        "repeat_purchases",
        "gross_revenue",
        "first_purchase_revenue",
        "repeat_purchase_revenue",
        "refunds",
        "net_revenue",
        "average_order_value",
        "is_complete",
    ],
}

#: The grain of each mart.
MART_KEYS: dict[str, list[str]] = {
    "dim_customers": ["customer_id"],
    "fct_customer_months": ["customer_id", "month"],
    "fct_cohort_retention": ["cohort_month", "months_since_first"],
    "fct_churn_monthly": ["month"],
    "fct_revenue_monthly": ["month"],
}

#: What kind of value each column holds (drives the output dtypes here and the comparison in tests).
COLUMN_KINDS: dict[str, str] = {
    **dict.fromkeys(["customer_id", "country", "acquisition_channel", "customer_type"], "text"),
    **dict.fromkeys(["lifecycle_state", "status"], "text"),
    **dict.fromkeys(["created_at", "first_purchase_at", "last_purchase_at"], "timestamp"),
    **dict.fromkeys(["first_purchase_date", "last_purchase_date", "cohort_month", "month"], "date"),
    "as_of_date": "date",
    "month_end_date": "date",
    **dict.fromkeys(["has_customer_record", "is_in_base", "is_active", "was_in_base_at_start"], "bool"),
    **dict.fromkeys(["is_in_base_at_end", "is_new", "is_reactivated", "is_churned", "is_complete"], "bool"),
    **dict.fromkeys(
        [
            "purchase_count",
            "days_since_last_purchase",
            "tenure_days",
            "tenure_months",
            "months_since_first",
            "purchases",
            "cohort_size",
            "active_customers",
            "customers_in_base",
            "customers_start",
            "new_customers",
            "reactivated_customers",
            "churned_customers",
            "customers_end",
            "returning_customers",
            "first_purchases",
            "repeat_purchases",
        ],
        "int",
    ),
    **dict.fromkeys(
        [
            "gross_revenue",
            "refunds",
            "net_revenue",
            "average_order_value",
            "cumulative_net_revenue",
            "cumulative_net_revenue_per_customer",
            "first_purchase_revenue",
            "repeat_purchase_revenue",
        ],
        "money",
    ),
    **dict.fromkeys(
        [
            "retention_rate",
            "survival_rate",
            "churn_rate",
            "arpu",
            "avg_customer_lifetime_months",
            "ltv",
            "churn_rate_trailing_6m",
            "arpu_trailing_6m",
            "avg_customer_lifetime_months_trailing_6m",
            "ltv_trailing_6m",
        ],
        "rate",
    ),
}

_TIMESTAMP = re.compile(
    r"""^\s*
    (?P<date>\d{4}-\d{2}-\d{2})
    (?:[T\ ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?)?
    \s*(?P<offset>[Zz]|[+-]\d{2}(?::?\d{2})?)?
    \s*$""",
    re.VERBOSE,
)


# ---------------------------------------------------------------------------------------------------
# Parsing


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str | None:
    return None if _is_missing(value) else str(value)


class Unreadable(ValueError):
    """A raw value that cannot be read as what its column holds."""


def parse_timestamp(value: Any) -> datetime | None:
    """ISO-8601 text -> naive UTC datetime. An offset is applied; no offset means UTC; a date is midnight."""
    if _is_missing(value):
        return None
    match = _TIMESTAMP.match(str(value))
    if match is None:
        raise Unreadable(f"not an ISO-8601 timestamp: {value!r}")
    fraction = (match["fraction"] or "0")[:6].ljust(6, "0")
    try:
        day = date.fromisoformat(match["date"])
        local = datetime(
            day.year,
            day.month,
            day.day,
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
            int(fraction),
        )
    except ValueError as error:  # e.g. 2024-02-30 or 25:00
        raise Unreadable(f"not a valid timestamp: {value!r}") from error
    offset = match["offset"]
    if offset is None or offset in ("Z", "z"):
        return local
    sign = 1 if offset[0] == "+" else -1
    digits = offset[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return local - sign * delta


def parse_amount(value: Any) -> int | None:
    """Decimal text -> integer units of 1/UNITS (exact); None when missing."""
    if _is_missing(value):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as error:
        raise Unreadable(f"not a decimal amount: {value!r}") from error
    if not amount.is_finite():
        raise Unreadable(f"not a finite amount: {value!r}")
    units = amount * UNITS
    if units != units.to_integral_value():
        raise ValueError(f"amount {value!r} has more than 4 decimals")
    return int(units)


def local_date(utc: datetime, zone: ZoneInfo) -> date:
    """Calendar day of a naive-UTC instant in `zone`."""
    return utc.replace(tzinfo=UTC).astimezone(zone).date()


# ---------------------------------------------------------------------------------------------------
# Calendar helpers


def month_of(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, k: int) -> date:
    index = month.year * 12 + month.month - 1 + k
    return date(index // 12, index % 12 + 1, 1)


def months_between(start: date, end: date) -> int:
    """Whole calendar months from the month of `start` to the month of `end`."""
    return (end.year - start.year) * 12 + end.month - start.month


def last_day(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)


def month_range(first: date, last: date) -> list[date]:
    return [add_months(first, k) for k in range(months_between(first, last) + 1)]


# ---------------------------------------------------------------------------------------------------
# Money helpers


def money(units: int) -> Decimal:
    return Decimal(units) / UNITS


def money_ratio(units: int, divisor: int) -> Decimal | None:
    """units / divisor as currency, rounded to 4 dp; None when divisor is 0."""
    if divisor == 0:
        return None
    return (Decimal(units) / UNITS / divisor).quantize(FOUR_DP, rounding=ROUND_HALF_UP)


def ratio(numerator: Decimal | int | None, denominator: Decimal | int | None) -> float | None:
    """numerator / denominator as float; None when the denominator is 0 (or either side is None)."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return float(Decimal(numerator) / Decimal(denominator))


# ---------------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class Payment:
    payment_id: str
    customer_id: str
    paid_at: datetime  # naive UTC
    paid_date: date  # reporting time zone
    units: int
    status: str

    @property
    def paid_month(self) -> date:
        return month_of(self.paid_date)

    @property
    def moves_money(self) -> bool:
        return self.status == "succeeded" and self.units != 0

    @property
    def is_purchase(self) -> bool:
        return self.status == "succeeded" and self.units > 0

    @property
    def is_refund(self) -> bool:
        return self.status == "succeeded" and self.units < 0


@dataclass
class Customer:
    customer_id: str
    record: dict[str, Any] | None = None  # the customers-table row, if any
    purchases: list[Payment] | None = None  # in purchase order
    refunds: list[Payment] | None = None
    purchase_dates: list[date] | None = None  # sorted

    @property
    def cohort_month(self) -> date | None:
        return self.purchases[0].paid_month if self.purchases else None

    def in_base(self, day: date, inactivity_days: int) -> bool:
        """At least one purchase with paid_date in [day - N + 1, day]."""
        dates = self.purchase_dates or []
        i = bisect_right(dates, day)
        return i > 0 and dates[i - 1] >= day - timedelta(days=inactivity_days - 1)


def _customer_type(purchase_count: int) -> str:
    if purchase_count == 0:
        return "prospect"
    return "one_time" if purchase_count == 1 else "repeat"


def _rows(records: Iterable[dict[str, Any]], mart: str) -> pd.DataFrame:
    """Records -> DataFrame with the mart's columns and a dtype per column kind."""
    columns = MART_COLUMNS[mart]
    frame = pd.DataFrame(list(records), columns=columns)
    for column in columns:
        kind = COLUMN_KINDS[column]
        if kind == "int":
            frame[column] = frame[column].astype("Int64")
        elif kind == "bool":
            frame[column] = frame[column].astype("boolean")
        elif kind == "rate":
            frame[column] = frame[column].astype("float64")
        elif kind == "timestamp":
            frame[column] = pd.to_datetime(frame[column])
        else:  # text, date, money: keep the Python objects (str, datetime.date, Decimal)
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame.sort_values(MART_KEYS[mart], kind="stable").reset_index(drop=True)


def _read_payment(row: dict[str, Any], zone: ZoneInfo) -> Payment | None:
    """One raw row as a Payment, or None when it cannot be read as one (it is set aside)."""
    if _is_missing(row.get("payment_id")) or _is_missing(row.get("customer_id")):
        return None
    status = _text(row.get("status"))
    currency = _text(row.get("currency"))
    if status not in STATUSES or currency is None or not _CURRENCY.match(currency):
        return None
    try:
        paid_at = parse_timestamp(row.get("paid_at"))
        units = parse_amount(row.get("amount"))
    except Unreadable:
        return None
    if paid_at is None or units is None:
        return None
    return Payment(
        payment_id=str(row["payment_id"]),
        customer_id=str(row["customer_id"]),
        paid_at=paid_at,
        paid_date=local_date(paid_at, zone),
        units=units,
        status=status,
    )


def _parse_payments(payments: pd.DataFrame, zone: ZoneInfo) -> list[Payment]:
    """The readable payments; set-aside rows (see the module docstring) are dropped."""
    parsed = []
    seen_ids: set[str] = set()
    for row in payments.to_dict("records"):
        payment_id = _text(row.get("payment_id"))
        if payment_id is not None:
            if payment_id in seen_ids:
                continue
            seen_ids.add(payment_id)
        payment = _read_payment(row, zone)
        if payment is not None:
            parsed.append(payment)
    return parsed


def compute_marts(
    payments: pd.DataFrame,
    customers: pd.DataFrame | None,
    as_of_date: date | None = None,
    churn_inactivity_days: int = 90,
    reporting_timezone: str = "UTC",
) -> dict[str, pd.DataFrame]:
    """The five marts of docs/definitions.md from the raw (all-text) `payments` and `customers` tables."""
    zone = ZoneInfo(reporting_timezone)
    n_days = churn_inactivity_days
    all_payments = _parse_payments(payments, zone)

    if as_of_date is None:
        if not all_payments:
            raise ValueError("as_of_date cannot default to the latest payment date: there are no payments")
        as_of_date = max(p.paid_date for p in all_payments)
    as_of = as_of_date
    as_of_month = month_of(as_of)
    kept = [p for p in all_payments if p.paid_date <= as_of]

    # --- the customer list ------------------------------------------------------------------------
    records: dict[str, dict[str, Any]] = {}
    if customers is not None:
        for row in customers.to_dict("records"):
            if not _is_missing(row.get("customer_id")):
                records[str(row["customer_id"])] = {
                    "created_at": parse_timestamp(row.get("created_at")),
                    "country": _text(row.get("country")),
                    "acquisition_channel": _text(row.get("acquisition_channel")),
                }
    created_by_as_of = [
        cid
        for cid, record in records.items()
        if record["created_at"] is None or local_date(record["created_at"], zone) <= as_of
    ]
    paying = sorted({p.customer_id for p in kept})
    accepted_records = {cid: records[cid] for cid in created_by_as_of}
    people = {cid: Customer(cid, record=accepted_records.get(cid)) for cid in [*created_by_as_of, *paying]}

    payments_of: dict[str, list[Payment]] = defaultdict(list)
    for p in kept:
        payments_of[p.customer_id].append(p)
    for person in people.values():
        mine = payments_of[person.customer_id]
        person.purchases = sorted(
            (p for p in mine if p.is_purchase), key=lambda p: (p.paid_at, p.units, p.payment_id)
        )
        person.refunds = [p for p in mine if p.is_refund]
        person.purchase_dates = sorted(p.paid_date for p in person.purchases)

    buyers = [c for c in people.values() if c.purchases]
    first_purchase_ids = {c.purchases[0].payment_id for c in buyers if c.purchases}

    def month_end(month: date) -> date:
        return min(last_day(month), as_of)

    # --- fct_customer_months ----------------------------------------------------------------------
    customer_months: list[dict[str, Any]] = []
    for person in buyers:
        cohort = person.cohort_month
        assert cohort is not None and person.purchases is not None and person.refunds is not None
        for month in month_range(cohort, as_of_month):
            bought = [p for p in person.purchases if p.paid_month == month]
            refunded = [p for p in person.refunds if p.paid_month == month]
            gross = sum(p.units for p in bought)
            refunds = sum(p.units for p in refunded)
            is_new = month == cohort
            was_in_base = (not is_new) and person.in_base(last_day(add_months(month, -1)), n_days)
            in_base_end = person.in_base(month_end(month), n_days)
            is_active = len(bought) > 0
            is_reactivated = is_active and not is_new and not was_in_base
            is_churned = (was_in_base or is_new or is_reactivated) and not in_base_end
            if is_new:
                status = "new"
            elif is_reactivated:
                status = "reactivated"
            elif is_churned:
                status = "churned"
            elif was_in_base:
                status = "retained"
            else:
                status = "lapsed"
            customer_months.append(
                {
                    "customer_id": person.customer_id,
                    "month": month,
                    "cohort_month": cohort,
                    "months_since_first": months_between(cohort, month),
                    "month_end_date": month_end(month),
                    "purchases": len(bought),
                    "gross_revenue_units": gross,
                    "refunds_units": refunds,
                    "is_active": is_active,
                    "was_in_base_at_start": was_in_base,
                    "is_in_base_at_end": in_base_end,
                    "is_new": is_new,
                    "is_reactivated": is_reactivated,
                    "is_churned": is_churned,
                    "status": status,
                }
            )
    months_by_key = {(r["customer_id"], r["month"]): r for r in customer_months}
    rows_in_month: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for r in customer_months:
        rows_in_month[r["month"]].append(r)

    # --- the months of the monthly marts ------------------------------------------------------------
    money_months = [p.paid_month for p in kept if p.moves_money]
    months = month_range(min(money_months), as_of_month) if money_months else []

    # --- fct_churn_monthly ------------------------------------------------------------------------
    churn_rows: list[dict[str, Any]] = []
    exact_arpu: list[Decimal | None] = []
    for month in months:
        rows = rows_in_month[month]
        start = sum(r["was_in_base_at_start"] for r in rows)
        new = sum(r["is_new"] for r in rows)
        reactivated = sum(r["is_reactivated"] for r in rows)
        end = sum(r["is_in_base_at_end"] for r in rows)
        churned = start + new + reactivated - end
        assert churned == sum(r["is_churned"] for r in rows), f"the bridge does not close in {month}"
        net = sum(p.units for p in kept if p.moves_money and p.paid_month == month)
        arpu = None if start + end == 0 else money(net) * 2 / (start + end)
        exact_arpu.append(arpu)
        # churn_rate = churned / start, so 1 / churn_rate = start / churned and arpu / churn_rate =
        # arpu * start / churned (both null when churn_rate is 0 or null, i.e. when churned = 0).
        churn_rows.append(
            {
                "month": month,
                "customers_start": start,
                "new_customers": new,
                "reactivated_customers": reactivated,
                "churned_customers": churned,
                "customers_end": end,
                "churn_rate": ratio(churned, start),
                "retention_rate": ratio(end - new - reactivated, start),
                "net_revenue": money(net),
                "arpu": None if arpu is None else float(arpu),
                "avg_customer_lifetime_months": ratio(start, churned) if start else None,
                "ltv": ratio(arpu * start, churned) if start and arpu is not None else None,
                "is_complete": last_day(month) <= as_of,
            }
        )
    for i, row in enumerate(churn_rows):
        window = range(max(0, i - 5), i + 1)
        sum_churned = sum(churn_rows[j]["churned_customers"] for j in window)
        sum_start = sum(churn_rows[j]["customers_start"] for j in window)
        arpus = [a for a in (exact_arpu[j] for j in window) if a is not None]
        arpu_6m = sum(arpus, Decimal(0)) / len(arpus) if arpus else None
        row["churn_rate_trailing_6m"] = ratio(sum_churned, sum_start)
        row["arpu_trailing_6m"] = None if arpu_6m is None else float(arpu_6m)
        row["avg_customer_lifetime_months_trailing_6m"] = ratio(sum_start, sum_churned) if sum_start else None
        row["ltv_trailing_6m"] = (
            ratio(arpu_6m * sum_start, sum_churned) if sum_start and arpu_6m is not None else None
        )

    # --- fct_revenue_monthly ----------------------------------------------------------------------
    revenue_rows: list[dict[str, Any]] = []
    for month in months:
        bought = [p for c in buyers for p in (c.purchases or []) if p.paid_month == month]
        first = [p for p in bought if p.payment_id in first_purchase_ids]
        repeat = [p for p in bought if p.payment_id not in first_purchase_ids]
        gross = sum(p.units for p in bought)
        refunds = sum(p.units for p in kept if p.is_refund and p.paid_month == month)
        active = {p.customer_id for p in bought}
        new = {p.customer_id for p in first}
        revenue_rows.append(
            {
                "month": month,
                "active_customers": len(active),
                "new_customers": len(new),
                "returning_customers": len(active - new),
                "purchases": len(bought),
                "first_purchases": len(first),
                "repeat_purchases": len(repeat),
                "gross_revenue": money(gross),
                "first_purchase_revenue": money(sum(p.units for p in first)),
                "repeat_purchase_revenue": money(sum(p.units for p in repeat)),
                "refunds": money(refunds),
                "net_revenue": money(gross + refunds),
                "average_order_value": money_ratio(gross, len(bought)),
                "is_complete": last_day(month) <= as_of,
            }
        )

    # --- fct_cohort_retention ---------------------------------------------------------------------
    cohort_rows: list[dict[str, Any]] = []
    for cohort in sorted({c.cohort_month for c in buyers if c.cohort_month is not None}):
        members = [c.customer_id for c in buyers if c.cohort_month == cohort]
        size = len(members)
        cumulative = 0
        for k, month in enumerate(month_range(cohort, as_of_month)):
            rows = [months_by_key[(cid, month)] for cid in members]
            net = sum(r["gross_revenue_units"] + r["refunds_units"] for r in rows)
            cumulative += net
            active = sum(r["is_active"] for r in rows)
            in_base = sum(r["is_in_base_at_end"] for r in rows)
            cohort_rows.append(
                {
                    "cohort_month": cohort,
                    "months_since_first": k,
                    "month": month,
                    "cohort_size": size,
                    "active_customers": active,
                    "retention_rate": ratio(active, size),
                    "customers_in_base": in_base,
                    "survival_rate": ratio(in_base, size),
                    "net_revenue": money(net),
                    "cumulative_net_revenue": money(cumulative),
                    "cumulative_net_revenue_per_customer": money_ratio(cumulative, size),
                    "is_complete": last_day(month) <= as_of,
                }
            )

    # --- dim_customers ----------------------------------------------------------------------------
    dim_rows: list[dict[str, Any]] = []
    for person in people.values():
        purchases = person.purchases or []
        refunds_units = sum(p.units for p in person.refunds or [])
        gross = sum(p.units for p in purchases)
        record = person.record or {}
        first_p = purchases[0] if purchases else None
        last_p = purchases[-1] if purchases else None
        in_base = person.in_base(as_of, n_days)
        if first_p is None:
            lifecycle = "prospect"
        elif not in_base:
            lifecycle = "churned"
        else:
            lifecycle = months_by_key[(person.customer_id, as_of_month)]["status"]
        dim_rows.append(
            {
                "customer_id": person.customer_id,
                "has_customer_record": person.record is not None,
                "created_at": record.get("created_at"),
                "country": record.get("country"),
                "acquisition_channel": record.get("acquisition_channel"),
                "first_purchase_at": first_p.paid_at if first_p else None,
                "last_purchase_at": last_p.paid_at if last_p else None,
                "first_purchase_date": first_p.paid_date if first_p else None,
                "last_purchase_date": last_p.paid_date if last_p else None,
                "cohort_month": person.cohort_month,
                "purchase_count": len(purchases),
                "gross_revenue": money(gross),
                "refunds": money(refunds_units),
                "net_revenue": money(gross + refunds_units),
                "average_order_value": money_ratio(gross, len(purchases)),
                "days_since_last_purchase": (as_of - last_p.paid_date).days if last_p else None,
                "as_of_date": as_of,
                "tenure_days": (as_of - first_p.paid_date).days if first_p else None,
                "tenure_months": months_between(first_p.paid_month, as_of_month) if first_p else None,
                "customer_type": _customer_type(len(purchases)),
                "is_in_base": in_base,
                "lifecycle_state": lifecycle,
            }
        )

    cm_rows = [
        {
            **{k: v for k, v in r.items() if not k.endswith("_units")},
            "gross_revenue": money(r["gross_revenue_units"]),
            "refunds": money(r["refunds_units"]),
            "net_revenue": money(r["gross_revenue_units"] + r["refunds_units"]),
        }
        for r in customer_months
    ]
    return {
        "dim_customers": _rows(dim_rows, "dim_customers"),
        "fct_customer_months": _rows(cm_rows, "fct_customer_months"),
        "fct_cohort_retention": _rows(cohort_rows, "fct_cohort_retention"),
        "fct_churn_monthly": _rows(churn_rows, "fct_churn_monthly"),
        "fct_revenue_monthly": _rows(revenue_rows, "fct_revenue_monthly"),
    }
