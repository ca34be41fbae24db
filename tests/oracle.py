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

Segments, win-back list and LTV (docs/definitions.md, "Segments" to "LTV"); the readings chosen where the
text leaves room (the report that added them lists the sentences):

- The classified months are the last `segment_history_months` months of the monthly marts' months
  (first month with money .. the as_of month); "the first classified one" is the first of them.
- fct_segment_transitions has every classification but new_or_returning (its model description lists
  them; a move from new to returning says nothing).
- A customer is classified in a month M from their cohort month on (a refund dated before the first
  purchase makes nobody a classified customer); "money in it" = a purchase or refund dated in M.
- Window, recent and baseline figures count the customer's purchases and refunds dated in those months
  from the cohort month on, like fct_customer_months (a refund dated before the first purchase counts
  only in dim_customers' and dim_customer_segments' all-time `net_revenue`).
- `typical_gap_months` is reported for regular_monthly and regular_periodic only; the other per-month
  figures (`window_net_revenue`, `purchases_per_month`, the hidden-churn sizes) for every classified
  customer, and only for classified customers in dim_customer_segments.
- `is_hidden_churn` is false (not null) for everyone not flagged, prospects and unclassified customers
  included; `purchase_drop_share` / `net_revenue_drop` exist for every classified customer with a
  baseline pace (`net_revenue_drop` only when the expected net revenue is positive).
- Inactivity stage `churned` = out of the base (days since the latest purchase >= churn_inactivity_days).
- `never_converted`: more than `never_converted_days` calendar days from the reporting-time-zone day of
  `created_at` to `as_of_date`.
- Marketing spend (docs/definitions.md, "Marketing spend"): the oracle takes valid rows only (month
  `YYYY-MM`, `YYYY/MM` or `YYYY-MM-DD`; a channel; spend >= 0 with at most 4 decimals; the payments'
  currency) and raises on others; a month that starts after `as_of_date` is left out. Channels are
  matched trimmed and lower-cased on both sides.
- fct_ltv horizon: `horizon_customers` counts (customer, start month) pairs (for segments a customer
  counts once per start month), null when there are none, like the rates.
- fct_ltv CAC: "the months the spend input covers" are the months with any accepted spend row, for every
  grouping (a channel's customers count when acquired in any such month); `marketing_spend` and
  `acquired_customers` are the numerator and denominator (null without spend for the group; null for
  segments). A cohort month or channel with spend and no paying customer has a row of its own
  (customers 0, null CAC); the `all` row is always there (customers 0 without paying customers).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
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
    "fct_customer_status_monthly": ["month", "status", "customers", "net_revenue", "is_complete"],
    "dim_customer_segments": [
        "customer_id",
        "acquisition_channel",
        "cohort_month",
        "customer_type",
        "is_in_base",
        "lifecycle_state",
        "days_since_last_purchase",
        "net_revenue",
        "window_net_revenue",
        "regularity",
        "typical_gap_months",
        "purchases_per_month",
        "frequency_class",
        "recency_score",
        "frequency_score",
        "monetary_score",
        "rfm_segment",
        "inactivity_stage",
        "is_hidden_churn",
        "purchase_drop_share",
        "net_revenue_drop",
        "customer_acquisition_cost",
        "as_of_date",
    ],
    "fct_segment_monthly": [
        "month",
        "classification",
        "segment",
        "customers",
        "customers_in_base_at_end",
        "active_customers",
        "purchases",
        "net_revenue",
        "net_revenue_share",
        "is_complete",
    ],
    "fct_segment_transitions": ["month", "classification", "from_segment", "to_segment", "customers"],
    "fct_win_back_list": [
        "customer_id",
        "acquisition_channel",
        "cohort_month",
        "reasons",
        "days_since_last_purchase",
        "inactivity_stage",
        "rfm_segment",
        "frequency_class",
        "regularity",
        "is_hidden_churn",
        "net_revenue_drop",
        "window_net_revenue",
        "net_revenue",
        "as_of_date",
    ],
    "fct_ltv": [
        "grouping",
        "cohort_month",
        "acquisition_channel",
        "rfm_segment",
        "customers",
        "horizon_customers",
        "average_order_value",
        "purchases_per_year",
        "monthly_churn_rate",
        "expected_years_retained",
        "formula_ltv",
        "arpu",
        "arpu_churn_ltv",
        "realized_ltv_3m",
        "realized_ltv_6m",
        "realized_ltv_12m",
        "realized_ltv_24m",
        "marketing_spend",
        "acquired_customers",
        "customer_acquisition_cost",
        "ltv_to_cac",
        "payback_month",
        "as_of_date",
    ],
}

#: Mart columns the oracle does not compute: they come from the BG/NBD + Gamma-Gamma fit (predictive-clv.md;
#: tested by tests/test_clv.py), or, for the win-back list, are ordered by it (value_at_stake = predicted_clv
#: on DuckDB; priority ranks value_at_stake). fct_ltv.horizon_months (the h of the group's horizon) is not in
#: docs/definitions.md, nor what it holds for a group without horizon customers.
UNCOMPARED_COLUMNS: dict[str, list[str]] = {
    "dim_customer_segments": [
        "p_alive",
        "expected_purchases",
        "expected_average_order_value",
        "predicted_clv",
    ],
    "fct_win_back_list": ["value_at_stake", "priority", "predicted_clv", "p_alive"],
    "fct_ltv": ["predicted_clv", "horizon_months"],
}

#: The grain of each mart.
MART_KEYS: dict[str, list[str]] = {
    "dim_customers": ["customer_id"],
    "fct_customer_months": ["customer_id", "month"],
    "fct_cohort_retention": ["cohort_month", "months_since_first"],
    "fct_churn_monthly": ["month"],
    "fct_revenue_monthly": ["month"],
    "fct_customer_status_monthly": ["month", "status"],
    "dim_customer_segments": ["customer_id"],
    "fct_segment_monthly": ["month", "classification", "segment"],
    "fct_segment_transitions": ["month", "classification", "from_segment", "to_segment"],
    "fct_win_back_list": ["customer_id"],
    "fct_ltv": ["grouping", "cohort_month", "acquisition_channel", "rfm_segment"],
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
    # dim_customer_segments, fct_segment_monthly, fct_segment_transitions, fct_win_back_list, fct_ltv
    **dict.fromkeys(["classification", "segment", "from_segment", "to_segment", "grouping"], "text"),
    **dict.fromkeys(["regularity", "frequency_class", "rfm_segment", "inactivity_stage", "reasons"], "text"),
    "is_hidden_churn": "bool",
    **dict.fromkeys(
        [
            "customers",
            "customers_in_base_at_end",
            "recency_score",
            "frequency_score",
            "monetary_score",
            "acquired_customers",
            "payback_month",
            "horizon_customers",
        ],
        "int",
    ),
    **dict.fromkeys(["window_net_revenue", "marketing_spend"], "money"),
    **dict.fromkeys(
        [
            "typical_gap_months",
            "purchases_per_month",
            "purchase_drop_share",
            "net_revenue_drop",
            "net_revenue_share",
            "customer_acquisition_cost",
            "purchases_per_year",
            "monthly_churn_rate",
            "expected_years_retained",
            "formula_ltv",
            "arpu_churn_ltv",
            "realized_ltv_3m",
            "realized_ltv_6m",
            "realized_ltv_12m",
            "realized_ltv_24m",
            "ltv_to_cac",
        ],
        "rate",
    ),
}

#: Columns whose kind differs in one mart: fct_ltv's average order value is a double, not money.
MART_COLUMN_KINDS: dict[tuple[str, str], str] = {("fct_ltv", "average_order_value"): "rate"}


def column_kind(mart: str, column: str) -> str:
    """The kind of `column` in `mart` (COLUMN_KINDS unless MART_COLUMN_KINDS says otherwise)."""
    return MART_COLUMN_KINDS.get((mart, column), COLUMN_KINDS[column])


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


#: The default rfm_segment_rules of dbt_project.yml: the first rule that matches names the segment.
DEFAULT_RFM_SEGMENT_RULES: tuple[dict[str, Any], ...] = (
    {"segment": "champions", "r_min": 4, "f_min": 4, "m_min": 4},
    {"segment": "at_risk", "r_max": 2, "f_min": 4},
    {"segment": "at_risk", "r_max": 2, "m_min": 4},
    {"segment": "loyal", "f_min": 4},
    {"segment": "new", "regularity": ["new"]},
    {"segment": "promising", "r_min": 3},
    {"segment": "hibernating", "r_min": 2},
    {"segment": "lost"},
)


@dataclass(frozen=True)
class SegmentSettings:
    """The segment, LTV and margin vars (docs/definitions.md, "Segments" and "LTV").

    The defaults are hard-coded copies of dbt_project.yml's (tests/test_oracle.py checks they still are);
    `from_project()` reads the file's. Fractions are kept as the decimal text reads (Fraction(str(x))), so
    every threshold is compared exactly.
    """

    segment_history_months: int = 6
    segment_window_months: int = 12
    regularity_min_purchase_months: int = 3
    regular_monthly_max_missed_months: int = 1
    regular_periodic_max_gap_cv: float = 0.25
    regular_periodic_min_gap_months: float = 1.5
    one_off_min_gap_months: float = 6
    frequency_cutoff_method: str = "quantile"
    frequency_frequent_quantile: float = 0.8
    frequency_medium_quantile: float = 0.4
    frequency_frequent_per_month: float = 1.0
    frequency_medium_per_month: float = 0.34
    frequency_rare_floor_per_month: float = 0.1
    rfm_segment_rules: tuple[dict[str, Any], ...] = field(default=DEFAULT_RFM_SEGMENT_RULES)
    hidden_churn_recent_months: int = 3
    hidden_churn_baseline_months: int = 12
    hidden_churn_drop_fraction: float = 0.5
    hidden_churn_min_baseline_purchases: int = 4
    inactivity_cooling_days: int = 30
    inactivity_at_risk_days: int = 60
    never_converted_days: int = 30
    ltv_horizon_months: int = 12
    gross_margin: float = 1.0

    @classmethod
    def from_project(cls, project_file: Path | None = None, **overrides: Any) -> SegmentSettings:
        """The vars of dbt_project.yml (the project's by default), with `overrides` on top."""
        import yaml

        path = project_file or Path(__file__).resolve().parents[1] / "dbt_project.yml"
        project_vars = yaml.safe_load(path.read_text())["vars"]
        # An inactivity threshold left null in the file is a third / two thirds of
        # churn_inactivity_days (project default 90): the dataclass defaults, 30 and 60.
        values = {
            f.name: project_vars[f.name]
            for f in fields(cls)
            if f.name in project_vars and project_vars[f.name] is not None
        }
        values["rfm_segment_rules"] = tuple(values.get("rfm_segment_rules", DEFAULT_RFM_SEGMENT_RULES))
        return cls(**{**values, **overrides})

    def exact(self, name: str) -> Fraction:
        """A numeric setting as an exact fraction of its decimal text (0.1 -> 1/10)."""
        return Fraction(str(getattr(self, name)))


def _customer_type(purchase_count: int) -> str:
    if purchase_count == 0:
        return "prospect"
    return "one_time" if purchase_count == 1 else "repeat"


def _rows(records: Iterable[dict[str, Any]], mart: str) -> pd.DataFrame:
    """Records -> DataFrame with the mart's columns and a dtype per column kind."""
    columns = MART_COLUMNS[mart]
    frame = pd.DataFrame(list(records), columns=columns)
    for column in columns:
        kind = column_kind(mart, column)
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
    marketing_spend: pd.DataFrame | None = None,
    settings: SegmentSettings | None = None,
) -> dict[str, pd.DataFrame]:
    """The marts of docs/definitions.md (MART_COLUMNS) from the raw (all-text) `payments`, `customers` and
    `marketing_spend` tables; `settings` are the segment vars (dbt_project.yml's defaults when None)."""
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

    # --- fct_customer_status_monthly ----------------------------------------------------------------
    status_rows: list[dict[str, Any]] = []
    for month in months:
        for status in ["new", "reactivated", "churned", "retained", "lapsed"]:
            rows = [r for r in rows_in_month[month] if r["status"] == status]
            status_rows.append(
                {
                    "month": month,
                    "status": status,
                    "customers": len(rows),
                    "net_revenue": money(sum(r["gross_revenue_units"] + r["refunds_units"] for r in rows)),
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
        "fct_customer_status_monthly": _rows(status_rows, "fct_customer_status_monthly"),
        **_segment_and_ltv_marts(
            people,
            kept,
            months,
            as_of,
            n_days,
            {r["customer_id"]: r for r in dim_rows},
            parse_spend(marketing_spend, as_of),
            settings or SegmentSettings(),
            zone,
        ),
    }


# ---------------------------------------------------------------------------------------------------
# Segments, win-back list and LTV (docs/definitions.md, "Segments" .. "LTV")

#: The classifications of fct_segment_transitions; fct_segment_monthly has new_or_returning besides.
TRANSITION_CLASSIFICATIONS = [
    "regularity",
    "frequency_class",
    "rfm_segment",
    "inactivity_stage",
    "hidden_churn",
]
CLASSIFICATIONS = ["new_or_returning", *TRANSITION_CLASSIFICATIONS]
REALIZED_AGES = [3, 6, 12, 24]
_SPEND_MONTH = re.compile(r"^\s*(\d{4})[-/](\d{2})(?:-(\d{2}))?\s*$")


def parse_spend(marketing_spend: pd.DataFrame | None, as_of: date) -> dict[tuple[str, date], int]:
    """Accepted spend in units, summed per (channel, month); rows of months starting after as_of_date
    are left out. The oracle handles valid rows only (see the module docstring) and raises on others."""
    spend: dict[tuple[str, date], int] = defaultdict(int)
    if marketing_spend is None:
        return spend
    for row in marketing_spend.to_dict("records"):
        match = _SPEND_MONTH.match(str(row.get("month") or ""))
        channel = _text(row.get("acquisition_channel"))
        units = parse_amount(row.get("spend"))
        if match is None or channel is None or units is None or units < 0:
            raise ValueError(f"the oracle handles valid marketing_spend rows only: {row}")
        month = date(int(match[1]), int(match[2]), 1)
        date(month.year, month.month, int(match[3] or 1))  # an impossible day raises
        if month <= as_of:
            spend[(channel.strip().lower(), month)] += units
    return dict(spend)


def quantile_cont(values: list[Fraction], q: Fraction) -> Fraction | None:
    """Continuous (linearly interpolated) quantile, exact; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    if low == position:
        return ordered[low]
    return ordered[low] + (ordered[low + 1] - ordered[low]) * (position - low)


def _score(mine: Any, values: list[Any]) -> int:
    """RFM score 1-5: rank from worst (smallest value) to best, rank() ties, floor(5 (rank - 1) / n) + 1."""
    rank = 1 + sum(1 for v in values if v < mine)
    return 5 * (rank - 1) // len(values) + 1


def _rfm_segment(rules: Iterable[dict[str, Any]], r: int, f: int, m: int, regularity: str) -> str:
    scores = {"r": r, "f": f, "m": m}
    for rule in rules:
        matches = True
        for key, bound in rule.items():
            if key == "segment":
                continue
            if key == "regularity":
                matches &= regularity in bound
            elif key.endswith("_min"):
                matches &= scores[key[0]] >= int(bound)
            else:
                matches &= scores[key[0]] <= int(bound)
        if matches:
            return str(rule["segment"])
    raise ValueError("rfm_segment_rules has no catch-all rule")


def _fraction_float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _segment_and_ltv_marts(
    people: dict[str, Customer],
    kept: list[Payment],
    months: list[date],
    as_of: date,
    n_days: int,
    dim_by_id: dict[str, dict[str, Any]],
    spend: dict[tuple[str, date], int],
    settings: SegmentSettings,
    zone: ZoneInfo,
) -> dict[str, pd.DataFrame]:
    s = settings
    W = s.segment_window_months
    R, B = s.hidden_churn_recent_months, s.hidden_churn_baseline_months
    margin = s.exact("gross_margin")
    as_of_month = month_of(as_of)
    classified_months = months[-s.segment_history_months :] if months else []

    def month_end(month: date) -> date:
        return min(last_day(month), as_of)

    def is_complete(month: date) -> bool:
        return last_day(month) <= as_of

    buyers = [c for c in people.values() if c.purchases]
    # Per paying customer: purchases and money (purchases + refunds, in units) by the month they are dated in.
    purchases_in: dict[str, Counter[date]] = {}
    money_in: dict[str, Counter[date]] = {}
    gross_units: dict[str, int] = {}
    for person in buyers:
        purchases_in[person.customer_id] = Counter(p.paid_month for p in person.purchases or [])
        money_in[person.customer_id] = Counter()
        gross_units[person.customer_id] = sum(p.units for p in person.purchases or [])
    for p in kept:  # from the cohort month on, as in fct_customer_months
        person = people[p.customer_id]
        if p.moves_money and person.purchases and p.paid_month >= person.purchases[0].paid_month:
            money_in[p.customer_id][p.paid_month] += p.units

    def count(table: Counter[date], first: date, last: date) -> int:
        return sum(table[m] for m in month_range(first, last)) if first <= last else 0

    def in_base(person: Customer, day: date) -> bool:
        return person.in_base(day, n_days)

    # --- per customer and classified month ---------------------------------------------------------
    classified: dict[date, dict[str, dict[str, Any]]] = {}
    for month in classified_months:
        rows: dict[str, dict[str, Any]] = {}
        first_w = add_months(month, -(W - 1))
        for person in buyers:
            cid, cohort = person.customer_id, person.cohort_month
            assert cohort is not None
            if cohort > month:
                continue
            bought, paid = purchases_in[cid], money_in[cid]
            in_start = in_base(person, last_day(add_months(month, -1)))
            in_end = in_base(person, month_end(month))
            has_money = bought[month] > 0 or paid[month] != 0
            if not (in_start or in_end or has_money):
                continue
            observed = months_between(max(cohort, first_w), month) + 1
            window_purchases = count(bought, first_w, month)
            purchase_months = [m for m in month_range(first_w, month) if bought[m] > 0]
            every_purchase_month = sorted(m for m in bought if bought[m] > 0)
            gaps = []
            for m in purchase_months:
                earlier = [e for e in every_purchase_month if e < m]
                if earlier:
                    gaps.append(months_between(earlier[-1], m))
            mean_gap = Fraction(sum(gaps), len(gaps)) if gaps else None
            variance = sum((g - mean_gap) ** 2 for g in gaps) / len(gaps) if mean_gap is not None else None
            if not in_end:
                regularity = "lapsed"
            elif cohort >= first_w and len(purchase_months) < s.regularity_min_purchase_months:
                regularity = "new"
            elif (
                len(purchase_months) >= s.regularity_min_purchase_months
                and observed - len(purchase_months) <= s.regular_monthly_max_missed_months
            ):
                regularity = "regular_monthly"
            elif (
                len(gaps) >= 2
                and mean_gap is not None
                and variance is not None
                and mean_gap >= s.exact("regular_periodic_min_gap_months")
                # variation = sqrt(variance) / mean <= cv  <=>  variance <= cv^2 mean^2 (all >= 0)
                and variance <= s.exact("regular_periodic_max_gap_cv") ** 2 * mean_gap**2
            ):
                regularity = "regular_periodic"
            elif len(purchase_months) == 1 or (
                mean_gap is not None and mean_gap >= s.exact("one_off_min_gap_months")
            ):
                regularity = "one_off"
            else:
                regularity = "irregular"
            # The W months before the window, over their observed months.
            prev_first, prev_last = add_months(first_w, -W), add_months(first_w, -1)
            prev_observed = (
                months_between(max(cohort, prev_first), prev_last) + 1 if cohort <= prev_last else 0
            )
            prev_rate = (
                Fraction(count(bought, prev_first, prev_last), prev_observed) if prev_observed else None
            )
            purchase_dates = [d for d in person.purchase_dates or [] if d <= month_end(month)]
            # Hidden churn: the R months ending with the last complete month, and the B months before them.
            last_complete = month if is_complete(month) else add_months(month, -1)
            recent_first = add_months(last_complete, -(R - 1))
            base_first, base_last = add_months(recent_first, -B), add_months(recent_first, -1)
            recent_purchases = count(bought, recent_first, last_complete)
            recent_net = count(paid, recent_first, last_complete)
            base_purchases, base_net = (
                count(bought, base_first, base_last),
                count(paid, base_first, base_last),
            )
            expected_purchases = expected_net = None
            if base_purchases >= s.hidden_churn_min_baseline_purchases:
                expected_purchases = Fraction(base_purchases * R, B)
                expected_net = Fraction(base_net * R, B) if base_net > 0 else None  # in units
            drop = s.exact("hidden_churn_drop_fraction")
            is_hidden_churn = (
                in_end
                and expected_purchases is not None
                and (
                    recent_purchases < drop * expected_purchases
                    or (expected_net is not None and recent_net < drop * expected_net)
                )
            )
            days = (month_end(month) - purchase_dates[-1]).days
            if not in_end:
                stage = "churned"
            elif days > s.inactivity_at_risk_days:
                stage = "at_risk"
            elif days > s.inactivity_cooling_days:
                stage = "cooling"
            else:
                stage = "active"
            rows[cid] = {
                "customer_id": cid,
                "in_end": in_end,
                "purchases": bought[month],
                "net_units": paid[month],
                "window_purchases": window_purchases,
                "window_net_units": count(paid, first_w, month),
                "rate": Fraction(window_purchases, observed),
                "prev_rate": prev_rate,
                "typical_gap_months": mean_gap
                if regularity in ("regular_monthly", "regular_periodic")
                else None,
                "regularity": regularity,
                "days_since_last_purchase": days,
                "inactivity_stage": stage,
                "is_hidden_churn": is_hidden_churn,
                "hidden_churn": "hidden_churn" if is_hidden_churn else "not_hidden_churn",
                "purchase_drop_share": None
                if expected_purchases is None
                else 1 - Fraction(recent_purchases) / expected_purchases,
                "net_revenue_drop": None if expected_net is None else (expected_net - recent_net) / UNITS,
                "new_or_returning": "new" if month == cohort else "returning",
            }
        # Frequency classes: cut-offs over the in-base customers whose regularity is not new.
        if s.frequency_cutoff_method == "quantile":
            rates = [r["rate"] for r in rows.values() if r["in_end"] and r["regularity"] != "new"]
            frequent_cut = quantile_cont(rates, s.exact("frequency_frequent_quantile"))
            medium_cut = quantile_cont(rates, s.exact("frequency_medium_quantile"))
        else:
            frequent_cut = s.exact("frequency_frequent_per_month")
            medium_cut = s.exact("frequency_medium_per_month")
        for r in rows.values():
            if r["regularity"] == "new":
                r["frequency_class"] = "new"
            elif (
                r["prev_rate"] is not None
                and medium_cut is not None
                and r["prev_rate"] >= medium_cut
                and r["rate"] < s.exact("frequency_rare_floor_per_month")
            ):
                r["frequency_class"] = "lost"
            elif frequent_cut is not None and r["rate"] >= frequent_cut:
                r["frequency_class"] = "frequent"
            elif medium_cut is not None and r["rate"] >= medium_cut:
                r["frequency_class"] = "medium"
            else:
                r["frequency_class"] = "rare"
        # RFM among the customers in the base at the end of the month.
        in_base_rows = [r for r in rows.values() if r["in_end"]]
        recencies = [-r["days_since_last_purchase"] for r in in_base_rows]  # fewer days is better
        frequencies = [r["window_purchases"] for r in in_base_rows]
        monetaries = [r["window_net_units"] for r in in_base_rows]
        for r in rows.values():
            if r["in_end"]:
                r["recency_score"] = _score(-r["days_since_last_purchase"], recencies)
                r["frequency_score"] = _score(r["window_purchases"], frequencies)
                r["monetary_score"] = _score(r["window_net_units"], monetaries)
                r["rfm_segment"] = _rfm_segment(
                    s.rfm_segment_rules,
                    r["recency_score"],
                    r["frequency_score"],
                    r["monetary_score"],
                    r["regularity"],
                )
            else:
                r["recency_score"] = r["frequency_score"] = r["monetary_score"] = None
                r["rfm_segment"] = "churned"
        classified[month] = rows

    # --- fct_segment_monthly ------------------------------------------------------------------------
    segment_monthly: list[dict[str, Any]] = []
    for month in classified_months:
        rows = classified[month]
        total = sum(r["net_units"] for r in rows.values())
        for classification in CLASSIFICATIONS:
            members: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in rows.values():
                members[r[classification]].append(r)
            for segment, group in members.items():
                net = sum(r["net_units"] for r in group)
                segment_monthly.append(
                    {
                        "month": month,
                        "classification": classification,
                        "segment": segment,
                        "customers": len(group),
                        "customers_in_base_at_end": sum(r["in_end"] for r in group),
                        "active_customers": sum(r["purchases"] > 0 for r in group),
                        "purchases": sum(r["purchases"] for r in group),
                        "net_revenue": money(net),
                        "net_revenue_share": ratio(net, total),
                        "is_complete": is_complete(month),
                    }
                )

    # --- fct_segment_transitions --------------------------------------------------------------------
    transitions: list[dict[str, Any]] = []
    for before, month in zip(classified_months, classified_months[1:], strict=False):
        previous, current = classified[before], classified[month]
        for classification in TRANSITION_CLASSIFICATIONS:
            pairs: Counter[tuple[str, str]] = Counter()
            for cid in previous.keys() | current.keys():
                from_segment = previous[cid][classification] if cid in previous else "none"
                to_segment = current[cid][classification] if cid in current else "none"
                pairs[(from_segment, to_segment)] += 1
            for (from_segment, to_segment), customers in pairs.items():
                transitions.append(
                    {
                        "month": month,
                        "classification": classification,
                        "from_segment": from_segment,
                        "to_segment": to_segment,
                        "customers": customers,
                    }
                )

    # --- customer acquisition cost ------------------------------------------------------------------
    spend_months = sorted({m for (_, m) in spend})
    channel_of = {
        cid: None if dim["acquisition_channel"] is None else dim["acquisition_channel"].strip().lower()
        for cid, dim in dim_by_id.items()
    }
    acquired: Counter[tuple[str | None, date]] = Counter(
        (channel_of[c.customer_id], c.cohort_month) for c in buyers if c.cohort_month is not None
    )
    own_cac: dict[str, Fraction | None] = {}
    for person in buyers:
        key = (channel_of[person.customer_id], person.cohort_month)
        has_spend = key[0] is not None and (key[0], key[1]) in spend
        own_cac[person.customer_id] = Fraction(spend[key], UNITS * acquired[key]) if has_spend else None

    # --- dim_customer_segments ----------------------------------------------------------------------
    now = classified.get(as_of_month, {})
    segment_rows: list[dict[str, Any]] = []
    for cid, person in people.items():
        dim = dim_by_id[cid]
        r = now.get(cid)
        out: dict[str, Any] = {
            column: dim[column]
            for column in [
                "customer_id",
                "acquisition_channel",
                "cohort_month",
                "customer_type",
                "is_in_base",
                "lifecycle_state",
                "days_since_last_purchase",
                "net_revenue",
                "as_of_date",
            ]
        }
        out["customer_acquisition_cost"] = _fraction_float(own_cac.get(cid))
        if r is not None:
            out |= {
                "window_net_revenue": money(r["window_net_units"]),
                "regularity": r["regularity"],
                "typical_gap_months": _fraction_float(r["typical_gap_months"]),
                "purchases_per_month": float(r["rate"]),
                "frequency_class": r["frequency_class"],
                "recency_score": r["recency_score"],
                "frequency_score": r["frequency_score"],
                "monetary_score": r["monetary_score"],
                "rfm_segment": r["rfm_segment"],
                "inactivity_stage": r["inactivity_stage"],
                "is_hidden_churn": r["is_hidden_churn"],
                "purchase_drop_share": _fraction_float(r["purchase_drop_share"]),
                "net_revenue_drop": _fraction_float(r["net_revenue_drop"]),
            }
        elif person.purchases:
            out |= {"regularity": "lapsed", "rfm_segment": "churned", "inactivity_stage": "churned"}
            out["is_hidden_churn"] = False
        else:
            created = (person.record or {}).get("created_at")
            never = created is not None and (as_of - local_date(created, zone)).days > s.never_converted_days
            out |= {"rfm_segment": "prospect", "inactivity_stage": "never_converted" if never else "prospect"}
            out["is_hidden_churn"] = False
        segment_rows.append(out)

    # --- fct_win_back_list --------------------------------------------------------------------------
    win_back: list[dict[str, Any]] = []
    for out in segment_rows:
        if not out["is_in_base"]:
            continue
        reasons = [
            name
            for name, applies in [
                ("cooling", out["inactivity_stage"] == "cooling"),
                ("inactive_at_risk", out["inactivity_stage"] == "at_risk"),
                ("hidden_churn", out["is_hidden_churn"]),
                ("rfm_at_risk", out["rfm_segment"] == "at_risk"),
                ("frequency_lost", out.get("frequency_class") == "lost"),
            ]
            if applies
        ]
        if reasons:
            win_back.append({**out, "reasons": ",".join(reasons)})

    # --- fct_ltv ------------------------------------------------------------------------------------
    segment_now = {out["customer_id"]: out["rfm_segment"] for out in segment_rows}
    # All, cohorts and channels: the customers in the base at the end of the start month (the last complete
    # month minus ltv_horizon_months), followed for h = ltv_horizon_months months. Segments: every
    # classified month whose month h = ceil(N / 30) + 1 later is complete is a start month.
    last_complete = as_of_month if is_complete(as_of_month) else add_months(as_of_month, -1)
    group_start = add_months(last_complete, -s.ltv_horizon_months)
    segment_h = math.ceil(n_days / 30) + 1

    def follow(
        starts: list[tuple[Customer, date]], h: int
    ) -> tuple[float | None, Fraction | None, Fraction | None]:
        """(monthly churn rate, arpu, purchases per year) of (customer, start month) pairs over h months."""
        if not starts:
            return None, None, None
        n = len(starts)
        out_at_end = sum(not in_base(c, last_day(add_months(m, h))) for c, m in starts)
        after = [(c.customer_id, add_months(m, k)) for c, m in starts for k in range(1, h + 1)]
        net = sum(money_in[cid][month] for cid, month in after)
        bought = sum(purchases_in[cid][month] for cid, month in after)
        rate = 1 - (1 - float(Fraction(out_at_end, n))) ** (1 / h)
        return rate, Fraction(net, UNITS * n * h), Fraction(12 * bought, n * h)

    def cumulative_per_customer(members: list[Customer], last_age: int) -> Fraction | None:
        """Net revenue over ages 0..last_age per member, over the members whose age last_age is complete."""
        eligible = [c for c in members if is_complete(add_months(c.cohort_month, last_age))]  # type: ignore[arg-type]
        if not eligible:
            return None
        total = sum(
            money_in[c.customer_id][add_months(c.cohort_month, k)]  # type: ignore[arg-type]
            for c in eligible
            for k in range(last_age + 1)
        )
        return Fraction(total, UNITS * len(eligible))

    all_spend = sum(spend.values()) if spend else None
    groups: list[tuple[str, date | None, str | None, str | None, list[Customer]]] = []
    groups.append(("all", None, None, None, buyers))
    for cohort in sorted({c.cohort_month for c in buyers} | set(spend_months)):  # type: ignore[type-var]
        groups.append(("cohort_month", cohort, None, None, [c for c in buyers if c.cohort_month == cohort]))
    channels = {channel_of[c.customer_id] for c in buyers} | {ch for (ch, _) in spend}
    for channel in sorted(channels, key=lambda ch: (ch is not None, ch or "")):
        members = [c for c in buyers if channel_of[c.customer_id] == channel]
        groups.append(("acquisition_channel", None, channel, None, members))
    for segment in sorted({segment_now[c.customer_id] for c in buyers}):
        groups.append(
            ("rfm_segment", None, None, segment, [c for c in buyers if segment_now[c.customer_id] == segment])
        )

    ltv_rows: list[dict[str, Any]] = []
    for grouping, cohort, channel, segment, members in groups:
        purchases = sum(len(c.purchases or []) for c in members)
        aov = (
            Fraction(sum(gross_units[c.customer_id] for c in members), UNITS * purchases)
            if purchases
            else None
        )
        if grouping != "rfm_segment":
            h = s.ltv_horizon_months
            starts = [(c, group_start) for c in members if in_base(c, last_day(group_start))]
        else:
            # Customers count in the segment they had (in the base) at the end of the start month.
            h = segment_h
            starts = [
                (people[cid], m)
                for m in classified_months
                if is_complete(add_months(m, h))
                for cid, r in classified[m].items()
                if r["in_end"] and r["rfm_segment"] == segment
            ]
        churn_rate, arpu, per_year = follow(starts, h)
        years = None if not churn_rate else 1 / (12 * churn_rate)
        formula = (
            None
            if aov is None or per_year is None or years is None
            else float(aov) * float(per_year) * float(years) * float(margin)
        )
        arpu_churn = (
            None if arpu is None or not churn_rate else float(arpu) / float(churn_rate) * float(margin)
        )
        realized = {
            f"realized_ltv_{k}m": _fraction_float(
                None if (v := cumulative_per_customer(members, k - 1)) is None else v * margin
            )
            for k in REALIZED_AGES
        }
        # Acquisition cost: spend / customers acquired in the months the spend input covers.
        group_spend: int | None = None
        group_acquired: int | None = None
        if grouping == "all":
            group_spend = all_spend
            group_acquired = sum(1 for c in buyers if c.cohort_month in spend_months) if spend else None
        elif grouping == "cohort_month":
            if cohort in spend_months:
                group_spend = sum(units for (_, m), units in spend.items() if m == cohort)
                group_acquired = len(members)
        elif grouping == "acquisition_channel":
            if any(ch == channel for (ch, _) in spend):
                group_spend = sum(units for (ch, _), units in spend.items() if ch == channel)
                group_acquired = sum(1 for c in members if c.cohort_month in spend_months)
        cac: Fraction | None
        if grouping == "rfm_segment":
            costs = [own_cac[c.customer_id] for c in members if own_cac[c.customer_id] is not None]
            cac = sum(costs, Fraction(0)) / len(costs) if costs else None  # type: ignore[arg-type]
        else:
            cac = (
                Fraction(group_spend, UNITS * group_acquired)
                if group_spend is not None and group_acquired
                else None
            )
        payback = None
        if cac is not None:
            age = 0
            while (per_customer := cumulative_per_customer(members, age)) is not None:
                if per_customer * margin >= cac:
                    payback = age
                    break
                age += 1
        ltv_rows.append(
            {
                "grouping": grouping,
                "cohort_month": cohort,
                "acquisition_channel": channel,
                "rfm_segment": segment,
                "customers": len(members),
                "horizon_customers": len(starts) or None,
                "average_order_value": _fraction_float(aov),
                "purchases_per_year": _fraction_float(per_year),
                "monthly_churn_rate": None if churn_rate is None else float(churn_rate),
                "expected_years_retained": None if years is None else float(years),
                "formula_ltv": formula,
                "arpu": _fraction_float(arpu),
                "arpu_churn_ltv": arpu_churn,
                **realized,
                "marketing_spend": None if group_spend is None else money(group_spend),
                "acquired_customers": group_acquired,
                "customer_acquisition_cost": _fraction_float(cac),
                "ltv_to_cac": None if arpu_churn is None or not cac else arpu_churn / float(cac),
                "payback_month": payback,
                "as_of_date": as_of,
            }
        )

    return {
        "dim_customer_segments": _rows(segment_rows, "dim_customer_segments"),
        "fct_segment_monthly": _rows(segment_monthly, "fct_segment_monthly"),
        "fct_segment_transitions": _rows(transitions, "fct_segment_transitions"),
        "fct_win_back_list": _rows(win_back, "fct_win_back_list"),
        "fct_ltv": _rows(ltv_rows, "fct_ltv"),
    }
