"""The six lifecycle marts in pandas and numpy.

Input: the generator's Parquet files, every column text, assumed clean (see the package docstring):
`paid_at` is `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS` followed by nothing (UTC),
`Z` or an offset `+HH:MM`; `amount` has at most four decimals.

Text is read with the pyarrow backend and parsed with Arrow casts. Money is summed exactly as int64
1/10000 units and returned as float64 currency units; times are int64 seconds, days and months int64
counts since 1970-01-01 until the frames are built, and customers integer codes (pd.factorize). The
customer-month table is built from the months in which a customer has money: each is repeated for
itself and the empty months up to the next one (np.repeat), so there is no customer x month cross join
and no per-customer Python.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import CHURN_INACTIVITY_DAYS

UNITS = 10_000
DAY = 86_400
NONE = np.iinfo(np.int64).min  # no value in int64 time and day columns (the integer of NaT)
NEVER = np.iinfo(np.int64).max  # first purchase time and cohort month of a customer without purchases
STATUSES = np.array(["new", "reactivated", "churned", "retained", "lapsed"])


def build(data_dir: Path) -> dict[str, pd.DataFrame]:
    """Build the marts from `data_dir`/payments.parquet and customers.parquet."""
    payments = pd.read_parquet(
        data_dir / "payments.parquet",
        columns=["payment_id", "customer_id", "paid_at", "amount", "status"],
        dtype_backend="pyarrow",
    )
    cust, customer_ids = pd.factorize(payments["customer_id"])
    paid_at = _parse_utc(payments["paid_at"])
    day = paid_at // DAY
    month = _month_of(day)
    units = np.rint(payments["amount"].astype("double[pyarrow]").to_numpy() * UNITS).astype(np.int64)
    succeeded = payments["status"].eq("succeeded").to_numpy(dtype=bool)
    is_purchase = succeeded & (units > 0)
    is_refund = succeeded & (units < 0)
    money = is_purchase | is_refund

    as_of_day = int(day.max())
    window = Window(as_of_day, int(month[money].min()))

    # One row per customer and month with money, sorted by customer and month.
    by_month = (
        pd.DataFrame(
            {
                "key": cust[money] * window.n_months + (month[money] - window.first_month),
                "purchases": is_purchase[money],
                "gross": np.where(is_purchase, units, 0)[money],
                "refunds": np.where(is_refund, units, 0)[money],
                "first_at": np.where(is_purchase, paid_at, NEVER)[money],
                "last_at": np.where(is_purchase, paid_at, NONE)[money],
            },
            copy=False,
        )
        .groupby("key")
        .agg(
            purchases=("purchases", "sum"),
            gross=("gross", "sum"),
            refunds=("refunds", "sum"),
            first_at=("first_at", "min"),
            last_at=("last_at", "max"),
        )
    )
    key = by_month.index.to_numpy()
    by_month["cust"], by_month["month"] = key // window.n_months, key % window.n_months + window.first_month

    customers = _customers(by_month, len(customer_ids))
    customers["first_amount"] = _first_purchase_amounts(
        payments["payment_id"], cust, paid_at, units, is_purchase, customers["first_at"].to_numpy()
    )
    months = _customer_months(by_month, customers["cohort"].to_numpy(), window)
    revenue = _revenue_monthly(by_month, customers, window)
    registered = pd.read_parquet(data_dir / "customers.parquet", dtype_backend="pyarrow")
    return {
        "dim_customers": _dim_customers(registered, customer_ids, customers, months, window),
        "fct_customer_months": pd.DataFrame(
            {
                "customer_id": pd.Categorical.from_codes(months["cust"], categories=customer_ids),
                "month": _dates(window.first_day(months["month"])),
                "cohort_month": _dates(window.first_day(months["cohort"])),
                "months_since_first": months["month"] - months["cohort"],
                "month_end_date": _dates(months["end_day"]),
                "purchases": months["purchases"],
                "gross_revenue": months["gross"] / UNITS,
                "refunds": months["refunds"] / UNITS,
                "net_revenue": months["net"] / UNITS,
                "is_active": months["is_active"],
                "was_in_base_at_start": months["was_in_base"],
                "is_in_base_at_end": months["in_base"],
                "is_new": months["is_new"],
                "is_reactivated": months["is_reactivated"],
                "is_churned": months["is_churned"],
                "status": pd.Categorical.from_codes(months["status"], categories=STATUSES),
            },
            copy=False,
        ),
        "fct_cohort_retention": _cohort_retention(months, window),
        "fct_churn_monthly": _churn_monthly(months, revenue, window),
        "fct_revenue_monthly": revenue,
        "fct_customer_status_monthly": _status_monthly(months, window),
    }


class Window:
    """The reporting window: as_of_date and the months from the first month with money to its month."""

    def __init__(self, as_of_day: int, first_month: int) -> None:
        self.as_of_day = as_of_day
        self.as_of_month = int(_month_of(np.array([as_of_day]))[0])
        self.first_month = first_month
        self.n_months = self.as_of_month - first_month + 1
        # First day of each month from first_month to the month after as_of.
        self._first_days = (
            np.arange(first_month, self.as_of_month + 2)
            .astype("datetime64[M]")
            .astype("datetime64[D]")
            .astype(np.int64)
        )

    def first_day(self, month: np.ndarray) -> np.ndarray:
        """Day number of the first day of each month number in the window (or the month after it)."""
        return self._first_days[month - self.first_month]

    def is_complete(self, month: np.ndarray) -> np.ndarray:
        """The month ended on or before as_of_date."""
        return self.first_day(month + 1) - 1 <= self.as_of_day


def _parse_utc(text: pd.Series) -> np.ndarray:
    """ISO-8601 text -> int64 seconds since the epoch, UTC (NONE for null); see the module docstring."""
    local = text.str.slice(0, 19).astype("timestamp[s][pyarrow]").astype("datetime64[s]")
    seconds = np.where(local.isna(), NONE, local.to_numpy().astype(np.int64))
    has_offset = (text.str.len() > 20).to_numpy(dtype=bool, na_value=False)  # longer than ...SSZ
    codes, offsets = pd.factorize(text[has_offset].str.slice(19))
    seconds[has_offset] -= np.array([_offset_seconds(offset) for offset in offsets], dtype=np.int64)[codes]
    return seconds


def _offset_seconds(offset: str) -> int:
    """'+05:30' -> 19800, '-08:00' -> -28800."""
    seconds = int(offset[1:3]) * 3600 + int(offset[4:6]) * 60
    return -seconds if offset[0] == "-" else seconds


def _month_of(day: np.ndarray) -> np.ndarray:
    """Day numbers -> month numbers (months since 1970-01), through a table of the days in range."""
    low = day.min()
    table = np.arange(low, day.max() + 1).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return table[day - low]


def _dates(day: np.ndarray) -> np.ndarray:
    """Day numbers (NONE for none) -> datetime64[s]."""
    return np.where(day == NONE, np.datetime64("NaT"), (day * DAY).astype("datetime64[s]"))


def _timestamps(seconds: np.ndarray) -> np.ndarray:
    """Seconds since the epoch (NONE or NEVER for none) -> datetime64[s]."""
    none = (seconds == NONE) | (seconds == NEVER)
    return np.where(none, np.datetime64("NaT"), seconds.astype("datetime64[s]"))


def _nullable(values: np.ndarray, valid: np.ndarray) -> pd.Series:
    """Nullable Int64 of `values`, null where not `valid`."""
    return pd.Series(values, dtype="Int64").where(valid)


def _customers(by_month: pd.DataFrame, n_customers: int) -> pd.DataFrame:
    """Per customer code: purchases, gross, refunds, first and last purchase time, cohort month."""
    summed = by_month.groupby("cust").agg(
        purchases=("purchases", "sum"),
        gross=("gross", "sum"),
        refunds=("refunds", "sum"),
        first_at=("first_at", "min"),
        last_at=("last_at", "max"),
    )
    empty = {"purchases": 0, "gross": 0, "refunds": 0, "first_at": NEVER, "last_at": NONE}
    everyone = pd.RangeIndex(n_customers)
    customers = pd.DataFrame(
        {name: summed[name].reindex(everyone, fill_value=fill) for name, fill in empty.items()}
    )
    paying = customers["purchases"].to_numpy() > 0
    cohort = np.full(n_customers, NEVER)  # after every month: prospects have no customer months
    cohort[paying] = _month_of(customers["first_at"].to_numpy()[paying] // DAY)
    return customers.assign(paying=paying, cohort=cohort)


def _first_purchase_amounts(
    payment_ids: pd.Series,
    cust: np.ndarray,
    paid_at: np.ndarray,
    units: np.ndarray,
    is_purchase: np.ndarray,
    first_at: np.ndarray,
) -> np.ndarray:
    """Amount (units) of each customer's first purchase: earliest paid_at, then the smaller amount."""
    candidate = is_purchase & (paid_at == first_at[cust])
    firsts = (
        pd.DataFrame(
            {"cust": cust[candidate], "payment_id": payment_ids[candidate].array, "units": units[candidate]}
        )
        .sort_values(["cust", "units"])
        .drop_duplicates("cust")
    )
    amounts = np.zeros(len(first_at), dtype=np.int64)
    amounts[firsts["cust"].to_numpy()] = firsts["units"].to_numpy()
    return amounts


def _customer_months(by_month: pd.DataFrame, cohort: np.ndarray, window: Window) -> dict[str, np.ndarray]:
    """Columns of fct_customer_months as arrays (customer codes, month and day numbers, units)."""
    anchors = by_month[by_month["month"].to_numpy() >= cohort[by_month["cust"].to_numpy()]]
    a_cust, a_month = anchors["cust"].to_numpy(), anchors["month"].to_numpy()
    purchases = anchors["purchases"].to_numpy()
    # Forward fill over customers is safe: each customer's first row (cohort month) has a purchase.
    last_to_date = anchors["last_at"].where(purchases > 0).ffill().to_numpy().astype(np.int64) // DAY
    first_of_customer = np.r_[True, a_cust[1:] != a_cust[:-1]]
    last_of_customer = np.r_[a_cust[1:] != a_cust[:-1], True]
    last_before = np.where(first_of_customer, NONE, np.roll(last_to_date, 1))
    span = np.where(last_of_customer, window.as_of_month + 1, np.roll(a_month, -1)) - a_month

    # One row per customer month; 32-bit numbers keep the 10M-payment arrays small.
    starts = np.cumsum(span) - span
    row = np.repeat(np.arange(len(a_cust), dtype=np.int32), span)
    m = np.arange(len(row), dtype=np.int32) + (a_month - starts).astype(np.int32)[row]
    is_anchor = np.zeros(len(row), dtype=bool)
    is_anchor[starts] = True

    def on_anchor(values: np.ndarray) -> np.ndarray:
        """The anchor's value on its own month, zero on the empty months after it."""
        spread = np.zeros(len(row), dtype=values.dtype)
        spread[starts] = values
        return spread

    last = last_to_date[row]
    prior = np.where(is_anchor, last_before[row], last)
    end_day = np.minimum(window.first_day(m + 1) - 1, window.as_of_day)
    is_active = on_anchor(purchases > 0)
    was_in_base = prior >= window.first_day(m) - 1 - (CHURN_INACTIVITY_DAYS - 1)
    in_base = last >= end_day - (CHURN_INACTIVITY_DAYS - 1)
    month_cohort = cohort[a_cust].astype(np.int32)[row]
    is_new = m == month_cohort
    is_reactivated = is_active & ~is_new & ~was_in_base
    is_churned = (was_in_base | is_new | is_reactivated) & ~in_base
    gross, refunds = on_anchor(anchors["gross"].to_numpy()), on_anchor(anchors["refunds"].to_numpy())
    return {
        "cust": a_cust.astype(np.int32)[row],
        "month": m,
        "cohort": month_cohort,
        "end_day": end_day,
        "purchases": on_anchor(purchases),
        "gross": gross,
        "refunds": refunds,
        "net": gross + refunds,
        "is_active": is_active,
        "was_in_base": was_in_base,
        "in_base": in_base,
        "is_new": is_new,
        "is_reactivated": is_reactivated,
        "is_churned": is_churned,
        # index into STATUSES: the first that applies
        "status": np.select([is_new, is_reactivated, is_churned, was_in_base], [0, 1, 2, 3], 4).astype(
            np.int8
        ),
    }


def _dim_customers(
    registered: pd.DataFrame,
    customer_ids: pd.Index,
    customers: pd.DataFrame,
    months: dict[str, np.ndarray],
    window: Window,
) -> pd.DataFrame:
    created_at = _parse_utc(registered["created_at"])
    registered = registered.assign(created_at=_timestamps(created_at))
    registered = registered[(created_at == NONE) | (created_at // DAY <= window.as_of_day)]

    paying = customers["paying"].to_numpy()
    cohort = customers["cohort"].to_numpy()
    at_as_of = months["month"] == window.as_of_month
    in_base = np.zeros(len(customers), dtype=bool)
    in_base[months["cust"][at_as_of]] = months["in_base"][at_as_of]
    status = np.full(len(customers), 4)
    status[months["cust"][at_as_of]] = months["status"][at_as_of]
    first_day = np.where(paying, customers["first_at"].to_numpy() // DAY, NONE)
    last_day = np.where(paying, customers["last_at"].to_numpy() // DAY, NONE)
    cohort_day = np.full(len(customers), NONE)
    cohort_day[paying] = window.first_day(cohort[paying])
    from_payments = pd.DataFrame(
        {
            "customer_id": customer_ids,
            "first_purchase_at": _timestamps(customers["first_at"].to_numpy()),
            "last_purchase_at": _timestamps(customers["last_at"].to_numpy()),
            "first_purchase_date": _dates(first_day),
            "last_purchase_date": _dates(last_day),
            "cohort_month": _dates(cohort_day),
            "purchase_count": customers["purchases"].to_numpy(),
            "gross": customers["gross"].to_numpy(),
            "refunds": customers["refunds"].to_numpy(),
            "days_since_last_purchase": _nullable(window.as_of_day - last_day, paying),
            "tenure_days": _nullable(window.as_of_day - first_day, paying),
            "tenure_months": _nullable(window.as_of_month - cohort, paying),
            "is_in_base": in_base,
            "lifecycle_state": np.where(~paying, "prospect", np.where(~in_base, "churned", STATUSES[status])),
        }
    )
    dim = registered.merge(from_payments, on="customer_id", how="outer", indicator=True)
    count = dim["purchase_count"].fillna(0).astype(np.int64)
    gross, refunds = dim["gross"].fillna(0).astype(np.int64), dim["refunds"].fillna(0).astype(np.int64)
    return pd.DataFrame(
        {
            "customer_id": dim["customer_id"],
            "has_customer_record": dim["_merge"].ne("right_only"),
            "created_at": dim["created_at"],
            "country": dim["country"],
            "acquisition_channel": dim["acquisition_channel"],
            "first_purchase_at": dim["first_purchase_at"],
            "last_purchase_at": dim["last_purchase_at"],
            "first_purchase_date": dim["first_purchase_date"],
            "last_purchase_date": dim["last_purchase_date"],
            "cohort_month": dim["cohort_month"],
            "purchase_count": count,
            "gross_revenue": gross / UNITS,
            "refunds": refunds / UNITS,
            "net_revenue": (gross + refunds) / UNITS,
            "average_order_value": (gross / UNITS / count).where(count > 0),
            "days_since_last_purchase": dim["days_since_last_purchase"],
            "tenure_days": dim["tenure_days"],
            "tenure_months": dim["tenure_months"],
            "customer_type": np.select([count == 0, count == 1], ["prospect", "one_time"], "repeat"),
            "is_in_base": dim["is_in_base"].eq(True),
            "lifecycle_state": dim["lifecycle_state"].fillna("prospect"),
            "as_of_date": _dates(np.full(len(dim), window.as_of_day)),
        },
        copy=False,
    )


def _cohort_retention(months: dict[str, np.ndarray], window: Window) -> pd.DataFrame:
    n = window.n_months
    cell = (months["cohort"] - window.first_month) * n + (months["month"] - window.first_month)
    size = np.bincount(cell, minlength=n * n)
    cells = np.flatnonzero(size)  # cohort-major, then month: cumulative sums run within each cohort
    cohort, month = cells // n + window.first_month, cells % n + window.first_month
    size = size[cells]
    active = np.bincount(cell[months["is_active"]], minlength=n * n)[cells]
    in_base = np.bincount(cell[months["in_base"]], minlength=n * n)[cells]
    # bincount sums in float64, exact for these integer sums (far below 2**53 units).
    net = np.rint(np.bincount(cell, weights=months["net"], minlength=n * n)[cells]).astype(np.int64)
    cumulative = pd.Series(net).groupby(cohort).cumsum().to_numpy()
    return pd.DataFrame(
        {
            "cohort_month": _dates(window.first_day(cohort)),
            "months_since_first": month - cohort,
            "month": _dates(window.first_day(month)),
            "cohort_size": size,
            "active_customers": active,
            "retention_rate": active / size,
            "customers_in_base": in_base,
            "survival_rate": in_base / size,
            "net_revenue": net / UNITS,
            "cumulative_net_revenue": cumulative / UNITS,
            "cumulative_net_revenue_per_customer": cumulative / UNITS / size,
            "is_complete": window.is_complete(month),
        }
    )


def _revenue_monthly(by_month: pd.DataFrame, customers: pd.DataFrame, window: Window) -> pd.DataFrame:
    all_months = pd.RangeIndex(window.first_month, window.first_month + window.n_months)
    summed = (
        by_month.assign(active=by_month["purchases"] > 0)
        .groupby("month")[["active", "purchases", "gross", "refunds"]]
        .sum()
        .reindex(all_months, fill_value=0)
    )
    paying = customers[customers["paying"]]
    firsts = paying.groupby("cohort")["first_amount"].agg(["size", "sum"]).reindex(all_months, fill_value=0)
    month = all_months.to_numpy()
    active, purchases = summed["active"].to_numpy(), summed["purchases"].to_numpy()
    gross, refunds = summed["gross"].to_numpy(), summed["refunds"].to_numpy()
    first_purchases, first_revenue = firsts["size"].to_numpy(), firsts["sum"].to_numpy()
    return pd.DataFrame(
        {
            "month": _dates(window.first_day(month)),
            "active_customers": active,
            "new_customers": first_purchases,
            "returning_customers": active - first_purchases,
            "purchases": purchases,
            "first_purchases": first_purchases,
            "repeat_purchases": purchases - first_purchases,
            "gross_revenue": gross / UNITS,
            "first_purchase_revenue": first_revenue / UNITS,
            "repeat_purchase_revenue": (gross - first_revenue) / UNITS,
            "refunds": refunds / UNITS,
            "net_revenue": (gross + refunds) / UNITS,
            "average_order_value": (gross / UNITS / pd.Series(purchases)).where(purchases > 0),
            "is_complete": window.is_complete(month),
        }
    )


def _churn_monthly(months: dict[str, np.ndarray], revenue: pd.DataFrame, window: Window) -> pd.DataFrame:
    index = months["month"] - window.first_month

    def count(flags: np.ndarray) -> np.ndarray:
        return np.bincount(index[flags], minlength=window.n_months)

    start, end = pd.Series(count(months["was_in_base"])), pd.Series(count(months["in_base"]))
    new, reactivated = count(months["is_new"]), count(months["is_reactivated"])
    churned = start + new + reactivated - end
    churn_rate = (churned / start).where(start > 0)
    arpu = (revenue["net_revenue"] / ((start + end) / 2)).where(start + end > 0)
    trailing_start = start.rolling(6, min_periods=1).sum()
    churn_rate_6m = (churned.rolling(6, min_periods=1).sum() / trailing_start).where(trailing_start > 0)
    arpu_6m = arpu.rolling(6, min_periods=1).mean()
    positive, positive_6m = churn_rate.where(churn_rate > 0), churn_rate_6m.where(churn_rate_6m > 0)
    return pd.DataFrame(
        {
            "month": revenue["month"],
            "customers_start": start,
            "new_customers": new,
            "reactivated_customers": reactivated,
            "churned_customers": churned,
            "customers_end": end,
            "churn_rate": churn_rate,
            "retention_rate": ((end - new - reactivated) / start).where(start > 0),
            "net_revenue": revenue["net_revenue"],
            "arpu": arpu,
            "avg_customer_lifetime_months": 1 / positive,
            "ltv": arpu / positive,
            "churn_rate_trailing_6m": churn_rate_6m,
            "arpu_trailing_6m": arpu_6m,
            "avg_customer_lifetime_months_trailing_6m": 1 / positive_6m,
            "ltv_trailing_6m": arpu_6m / positive_6m,
            "is_complete": revenue["is_complete"],
        }
    )


def _status_monthly(months: dict[str, np.ndarray], window: Window) -> pd.DataFrame:
    """Every month of the window x every status, 0 where nobody had the status."""
    n = window.n_months * len(STATUSES)
    cell = (months["month"] - window.first_month) * len(STATUSES) + months["status"]  # month-major
    month = np.arange(n) // len(STATUSES) + window.first_month
    # bincount sums in float64, exact for these integer sums (far below 2**53 units).
    net = np.rint(np.bincount(cell, weights=months["net"], minlength=n)).astype(np.int64)
    return pd.DataFrame(
        {
            "month": _dates(window.first_day(month)),
            "status": np.tile(STATUSES, window.n_months),
            "customers": np.bincount(cell, minlength=n),
            "net_revenue": net / UNITS,
            "is_complete": window.is_complete(month),
        }
    )
