"""Hand-computed checks of the oracle (tests/oracle.py) itself, one small scenario per rule.

Every expected number is worked out in the comments from docs/definitions.md, not from the oracle.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from oracle import MART_COLUMNS, SegmentSettings, _score, compute_marts, parse_timestamp, quantile_cont

D = Decimal


def payments(*rows: tuple[str, ...]) -> pd.DataFrame:
    """Raw payments from (payment_id, customer_id, paid_at, amount[, status[, currency]]) tuples, all text."""
    records = [
        {
            "payment_id": r[0],
            "customer_id": r[1],
            "paid_at": r[2],
            "amount": r[3],
            "currency": r[5] if len(r) > 5 else "USD",
            "status": r[4] if len(r) > 4 else "succeeded",
        }
        for r in rows
    ]
    return pd.DataFrame(records, dtype=str)


def row(frame: pd.DataFrame, **key: Any) -> dict[str, Any]:
    """The single row of `frame` matching `key`, as a dict of Python values (NA -> None)."""
    mask = pd.Series(True, index=frame.index)
    for column, value in key.items():
        mask &= frame[column] == value
    matches = frame[mask]
    assert len(matches) == 1, f"{len(matches)} rows match {key}"
    return {c: _py(v) for c, v in matches.iloc[0].items()}


def _py(value: Any) -> Any:
    """numpy scalars -> Python scalars, NA/NaN/NaT -> None."""
    if pd.isna(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def by_month(frame: pd.DataFrame, column: str) -> dict[date, Any]:
    return {m: _py(v) for m, v in zip(frame["month"], frame[column], strict=True)}


def m(year: int, month: int) -> date:
    return date(year, month, 1)


def assert_bridge_closes(marts: dict[str, pd.DataFrame]) -> None:
    """start + new + reactivated - churned = end; churned = count of is_churned; churn + retention = 1."""
    churn = marts["fct_churn_monthly"]
    months = marts["fct_customer_months"]
    for r in churn.to_dict("records"):
        start, end = r["customers_start"], r["customers_end"]
        assert start + r["new_customers"] + r["reactivated_customers"] - r["churned_customers"] == end
        in_month = months[months["month"] == r["month"]]
        assert r["churned_customers"] == int(in_month["is_churned"].sum())
        assert start == int(in_month["was_in_base_at_start"].sum())
        assert end == int(in_month["is_in_base_at_end"].sum())
        if start == 0:
            assert pd.isna(r["churn_rate"]) and pd.isna(r["retention_rate"])
        else:
            assert r["churn_rate"] + r["retention_rate"] == pytest.approx(1.0, abs=1e-12)


def test_parse_timestamp_formats() -> None:
    assert parse_timestamp("2024-02-01T03:00:00Z") == datetime(2024, 2, 1, 3)
    assert parse_timestamp("2024-02-01T03:00:00+05:00") == datetime(2024, 1, 31, 22)
    assert parse_timestamp("2024-02-01T03:00:00+0530") == datetime(2024, 1, 31, 21, 30)
    assert parse_timestamp("2024-02-01T03:00:00+05") == datetime(2024, 1, 31, 22)
    assert parse_timestamp("2024-01-31T20:00:00-08:00") == datetime(2024, 2, 1, 4)
    assert parse_timestamp("2024-02-01T03:00:00") == datetime(2024, 2, 1, 3)
    assert parse_timestamp("2024-02-01 03:00:00.25") == datetime(2024, 2, 1, 3, 0, 0, 250000)
    assert parse_timestamp("2024-02-01") == datetime(2024, 2, 1)
    assert parse_timestamp("") is None and parse_timestamp(None) is None
    with pytest.raises(ValueError):
        parse_timestamp("01/02/2024")


def test_output_columns_and_empty_input() -> None:
    # Only a failed payment: as_of_date = its day, one prospect, no months with money -> empty monthly marts.
    marts = compute_marts(payments(("p1", "a", "2024-03-03", "5.00", "failed")), None)
    for name, columns in MART_COLUMNS.items():
        assert list(marts[name].columns) == columns
    assert marts["dim_customers"]["customer_type"].tolist() == ["prospect"]
    for name in ["fct_customer_months", "fct_cohort_retention", "fct_churn_monthly", "fct_revenue_monthly"]:
        assert marts[name].empty, name


def test_refund_in_a_later_month() -> None:
    # a buys 100.00 on 2024-01-10 and is refunded 30.00 on 2024-03-15 (= as_of_date, the latest payment).
    marts = compute_marts(
        payments(
            ("p1", "a", "2024-01-10T12:00:00Z", "100.00"), ("p2", "a", "2024-03-15T12:00:00Z", "-30.00")
        ),
        None,
    )
    dim = row(marts["dim_customers"], customer_id="a")
    # One purchase; gross 100, refunds -30, net 70; AOV = gross / purchases = 100.
    assert (dim["purchase_count"], dim["customer_type"]) == (1, "one_time")
    assert (dim["gross_revenue"], dim["refunds"], dim["net_revenue"]) == (D("100"), D("-30"), D("70"))
    assert dim["average_order_value"] == D("100")
    # Mar 15 - Jan 10 = 21 (rest of Jan) + 29 (Feb 2024) + 15 = 65 days; Jan -> Mar = 2 months.
    assert (dim["days_since_last_purchase"], dim["tenure_days"], dim["tenure_months"]) == (65, 65, 2)
    # In base on Mar 15 (window Dec 17 .. Mar 15 holds Jan 10); the refund changes nobody's status.
    assert dim["is_in_base"] and dim["lifecycle_state"] == "retained"

    revenue = marts["fct_revenue_monthly"]
    assert revenue["month"].tolist() == [m(2024, 1), m(2024, 2), m(2024, 3)]
    assert by_month(revenue, "gross_revenue") == {m(2024, 1): 100, m(2024, 2): 0, m(2024, 3): 0}
    assert by_month(revenue, "refunds") == {m(2024, 1): 0, m(2024, 2): 0, m(2024, 3): D("-30")}
    assert by_month(revenue, "net_revenue") == {m(2024, 1): 100, m(2024, 2): 0, m(2024, 3): D("-30")}
    assert by_month(revenue, "average_order_value") == {m(2024, 1): 100, m(2024, 2): None, m(2024, 3): None}
    assert by_month(revenue, "is_complete") == {m(2024, 1): True, m(2024, 2): True, m(2024, 3): False}

    march = row(marts["fct_customer_months"], customer_id="a", month=m(2024, 3))
    assert (march["purchases"], march["refunds"], march["net_revenue"]) == (0, D("-30"), D("-30"))
    assert (march["is_active"], march["status"], march["month_end_date"]) == (
        False,
        "retained",
        date(2024, 3, 15),
    )

    # The bridge: Mar start 1, end 1; ARPU = -30 / ((1 + 1) / 2) = -30.
    march_churn = row(marts["fct_churn_monthly"], month=m(2024, 3))
    assert (march_churn["net_revenue"], march_churn["arpu"]) == (D("-30"), -30.0)

    # Cohort Jan 2024 at k = 2: net -30, cumulative 100 - 30 = 70, per customer 70; March is not complete.
    k2 = row(marts["fct_cohort_retention"], cohort_month=m(2024, 1), months_since_first=2)
    assert (k2["net_revenue"], k2["cumulative_net_revenue"]) == (D("-30"), D("70"))
    assert k2["cumulative_net_revenue_per_customer"] == D("70") and k2["is_complete"] is False
    assert_bridge_closes(marts)


def test_purchase_order_by_paid_at_then_amount() -> None:
    # All on 2024-05-01 (UTC). Customer a: p2 at 14:00+05:00 (= 09:00Z) 20.00, p1 at 09:00Z 5.00, p0 at 10:00Z
    # 7.00 -> order p1 (tie on paid_at, 5.00 < 20.00), p2, p0 (later, despite the smaller amount).
    # Customer b: x9 3.00 and x10 4.00 both at 08:00Z -> the smaller, x9 (3.00), is first.
    marts = compute_marts(
        payments(
            ("p2", "a", "2024-05-01T14:00:00+05:00", "20.00"),
            ("p1", "a", "2024-05-01T09:00:00Z", "5.00"),
            ("p0", "a", "2024-05-01T10:00:00Z", "7.00"),
            ("x9", "b", "2024-05-01T08:00:00Z", "3.00"),
            ("x10", "b", "2024-05-01T08:00:00Z", "4.00"),
        ),
        None,
    )
    may = row(marts["fct_revenue_monthly"], month=m(2024, 5))
    # First purchases p1 (5.00) + x9 (3.00) = 8.00; repeat p2 + p0 + x10 = 20 + 7 + 4 = 31.00; gross 39.00.
    assert (may["purchases"], may["first_purchases"], may["repeat_purchases"]) == (5, 2, 3)
    assert (may["first_purchase_revenue"], may["repeat_purchase_revenue"]) == (D("8"), D("31"))
    assert (may["gross_revenue"], may["average_order_value"]) == (D("39"), D("7.8"))  # 39 / 5
    assert (may["active_customers"], may["new_customers"], may["returning_customers"]) == (2, 2, 0)

    a = row(marts["dim_customers"], customer_id="a")
    assert a["first_purchase_at"] == pd.Timestamp("2024-05-01 09:00:00")
    assert a["last_purchase_at"] == pd.Timestamp("2024-05-01 10:00:00")
    assert (a["purchase_count"], a["customer_type"], a["gross_revenue"]) == (3, "repeat", D("32"))
    b = row(marts["dim_customers"], customer_id="b")
    assert (b["purchase_count"], b["customer_type"], b["lifecycle_state"]) == (2, "repeat", "new")


def test_failed_first_payment_then_success_a_month_later() -> None:
    # a: failed 50.00 on Jan 20, succeeded 50.00 on Feb 20 -> cohort February (failed payments make no one a
    # customer). c: only a pending payment on Mar 5, which still sets as_of_date (any status) -> 2024-03-05.
    marts = compute_marts(
        payments(
            ("p1", "a", "2024-01-20T10:00:00Z", "50.00", "failed"),
            ("p2", "a", "2024-02-20T10:00:00Z", "50.00"),
            ("p3", "c", "2024-03-05T10:00:00Z", "9.00", "pending"),
        ),
        None,
    )
    a = row(marts["dim_customers"], customer_id="a")
    assert (a["cohort_month"], a["first_purchase_date"], a["purchase_count"]) == (
        m(2024, 2),
        date(2024, 2, 20),
        1,
    )
    # Mar 5 - Feb 20 = 9 (to Feb 29) + 5 = 14 days; Feb -> Mar = 1 month; in base; March status retained.
    assert (a["days_since_last_purchase"], a["tenure_months"], a["lifecycle_state"]) == (14, 1, "retained")
    c = row(marts["dim_customers"], customer_id="c")
    assert (c["customer_type"], c["lifecycle_state"], c["cohort_month"], c["purchase_count"]) == (
        "prospect",
        "prospect",
        None,
        0,
    )
    assert c["gross_revenue"] == 0 and c["average_order_value"] is None and c["is_in_base"] is False
    # Monthly marts start at the first month with money (February), not January.
    assert marts["fct_revenue_monthly"]["month"].tolist() == [m(2024, 2), m(2024, 3)]
    assert marts["fct_churn_monthly"]["month"].tolist() == [m(2024, 2), m(2024, 3)]
    assert marts["fct_customer_months"]["month"].tolist() == [m(2024, 2), m(2024, 3)]
    assert set(marts["fct_customer_months"]["customer_id"]) == {"a"}
    assert row(marts["fct_customer_months"], month=m(2024, 2))["status"] == "new"


def test_reactivation_after_a_lapse() -> None:
    # N = 90. a buys 10.00 on Jan 15 and 10.00 on Jun 10; as_of_date = Jun 30.
    # In base at day D <=> last purchase >= D - 89:
    #   Jan 31, Feb 29 (>= Dec 2), Mar 31 (>= Jan 2): yes.  Apr 30 (>= Feb 1): no.  May 31: no.  Jun 30: yes.
    marts = compute_marts(
        payments(("p1", "a", "2024-01-15T10:00:00Z", "10.00"), ("p2", "a", "2024-06-10T10:00:00Z", "10.00")),
        None,
        as_of_date=date(2024, 6, 30),
    )
    months = marts["fct_customer_months"]
    assert months["status"].tolist() == ["new", "retained", "retained", "churned", "lapsed", "reactivated"]
    assert months["is_reactivated"].tolist() == [False] * 5 + [True]
    assert months["is_churned"].tolist() == [False, False, False, True, False, False]

    churn = marts["fct_churn_monthly"]
    assert churn["customers_start"].tolist() == [0, 1, 1, 1, 0, 0]
    assert churn["customers_end"].tolist() == [1, 1, 1, 0, 0, 1]
    assert churn["churned_customers"].tolist() == [0, 0, 0, 1, 0, 0]
    assert churn["reactivated_customers"].tolist() == [0, 0, 0, 0, 0, 1]
    apr, may, jun = (row(churn, month=m(2024, k)) for k in (4, 5, 6))
    assert (apr["churn_rate"], apr["retention_rate"], apr["avg_customer_lifetime_months"]) == (1.0, 0.0, 1.0)
    assert apr["ltv"] == 0.0  # arpu 0 / churn 1
    assert may["churn_rate"] is None and may["arpu"] is None  # start = end = 0
    assert jun["churn_rate"] is None and jun["arpu"] == 20.0  # 10 / ((0 + 1) / 2)
    # Trailing 6m at June (Jan..Jun): churned 1 / start 3; arpu mean of 20, 0, 0, 0, 20 (May null) = 8;
    # lifetime 3; LTV 8 / (1/3) = 24.
    assert jun["churn_rate_trailing_6m"] == pytest.approx(1 / 3)
    assert jun["arpu_trailing_6m"] == pytest.approx(8.0)
    assert jun["avg_customer_lifetime_months_trailing_6m"] == pytest.approx(3.0)
    assert jun["ltv_trailing_6m"] == pytest.approx(24.0)

    cohort = marts["fct_cohort_retention"]
    assert cohort["survival_rate"].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 1.0]
    assert cohort["retention_rate"].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    june = row(marts["fct_revenue_monthly"], month=m(2024, 6))
    assert (june["active_customers"], june["new_customers"], june["returning_customers"]) == (1, 0, 1)
    a = row(marts["dim_customers"], customer_id="a")
    assert (a["lifecycle_state"], a["is_in_base"], a["customer_type"]) == ("reactivated", True, "repeat")
    assert_bridge_closes(marts)


def test_join_and_lapse_within_one_month() -> None:
    # N = 7. a buys Mar 5, b buys Mar 28; as_of_date Apr 30.
    # End of March (Mar 31): window Mar 25 .. Mar 31 -> a out, b in.
    # End of April: window Apr 24 .. Apr 30 -> nobody.
    marts = compute_marts(
        payments(("p1", "a", "2024-03-05T10:00:00Z", "10.00"), ("p2", "b", "2024-03-28T10:00:00Z", "20.00")),
        None,
        as_of_date=date(2024, 4, 30),
        churn_inactivity_days=7,
    )
    a_mar = row(marts["fct_customer_months"], customer_id="a", month=m(2024, 3))
    assert (a_mar["is_new"], a_mar["is_churned"], a_mar["is_in_base_at_end"], a_mar["status"]) == (
        True,
        True,
        False,
        "new",
    )
    assert row(marts["fct_customer_months"], customer_id="a", month=m(2024, 4))["status"] == "lapsed"
    assert row(marts["fct_customer_months"], customer_id="b", month=m(2024, 4))["status"] == "churned"

    mar = row(marts["fct_churn_monthly"], month=m(2024, 3))
    # start 0 + new 2 + reactivated 0 - churned 1 = end 1; churn rate null (start 0).
    assert (mar["customers_start"], mar["new_customers"], mar["churned_customers"], mar["customers_end"]) == (
        0,
        2,
        1,
        1,
    )
    assert mar["churn_rate"] is None and mar["retention_rate"] is None
    assert mar["arpu"] == 60.0  # 30 / ((0 + 1) / 2)
    apr = row(marts["fct_churn_monthly"], month=m(2024, 4))
    assert (apr["customers_start"], apr["churned_customers"], apr["customers_end"], apr["churn_rate"]) == (
        1,
        1,
        0,
        1.0,
    )
    assert {r["customer_id"]: r["lifecycle_state"] for r in marts["dim_customers"].to_dict("records")} == {
        "a": "churned",
        "b": "churned",
    }
    cohort = row(marts["fct_cohort_retention"], cohort_month=m(2024, 3), months_since_first=0)
    assert (cohort["cohort_size"], cohort["customers_in_base"], cohort["survival_rate"]) == (2, 1, 0.5)
    assert_bridge_closes(marts)


@pytest.mark.parametrize(
    ("timezone", "cohort"),
    [("UTC", m(2024, 1)), ("America/New_York", m(2024, 1)), ("Asia/Kolkata", m(2024, 2))],
)
def test_offset_timestamp_lands_in_january_in_utc(timezone: str, cohort: date) -> None:
    # 2024-02-01T03:00:00+05:00 = 2024-01-31 22:00 UTC: January in UTC and New York (17:00 on Jan 31),
    # February in Kolkata (+05:30 -> Feb 1 03:30).
    marts = compute_marts(
        payments(("p1", "a", "2024-02-01T03:00:00+05:00", "10.00")), None, reporting_timezone=timezone
    )
    a = row(marts["dim_customers"], customer_id="a")
    assert a["first_purchase_at"] == pd.Timestamp("2024-01-31 22:00:00")  # stored in UTC whatever the zone
    assert a["cohort_month"] == cohort
    assert marts["fct_revenue_monthly"]["month"].tolist() == [cohort]


def test_bare_date_is_midnight_utc() -> None:
    # "2024-02-01" = 2024-02-01 00:00 UTC = Jan 31 19:00 in New York -> January there, February in UTC.
    pay = payments(("p1", "a", "2024-02-01", "10.00"))
    assert row(compute_marts(pay, None)["dim_customers"], customer_id="a")["cohort_month"] == m(2024, 2)
    ny = compute_marts(pay, None, reporting_timezone="America/New_York")
    assert row(ny["dim_customers"], customer_id="a")["first_purchase_date"] == date(2024, 1, 31)


def test_as_of_date_drops_later_payments_and_changes_month_end_status() -> None:
    # N = 90. a buys 10.00 on Jan 10 and 15.00 on Apr 20.
    pay = payments(("p1", "a", "2024-01-10T10:00:00Z", "10.00"), ("p2", "a", "2024-04-20T10:00:00Z", "15.00"))

    # Default as_of_date = Apr 20. April: in base at end of March (Mar 31 - 89 = Jan 2 <= Jan 10), active,
    # in base on Apr 20 -> retained.
    full = compute_marts(pay, None)
    april = row(full["fct_customer_months"], customer_id="a", month=m(2024, 4))
    assert (april["status"], april["month_end_date"], april["purchases"]) == (
        "retained",
        date(2024, 4, 20),
        1,
    )
    assert row(full["dim_customers"], customer_id="a")["purchase_count"] == 2

    # as_of_date = Apr 15: p2 is left out; April's month-end is Apr 15, window Jan 17 .. Apr 15 misses Jan 10,
    # so a churns in April. days since last purchase = 21 + 29 + 31 + 15 = 96.
    cut = compute_marts(pay, None, as_of_date=date(2024, 4, 15))
    april = row(cut["fct_customer_months"], customer_id="a", month=m(2024, 4))
    assert (april["status"], april["month_end_date"], april["purchases"]) == ("churned", date(2024, 4, 15), 0)
    a = row(cut["dim_customers"], customer_id="a")
    assert (a["purchase_count"], a["gross_revenue"], a["days_since_last_purchase"]) == (1, D("10"), 96)
    assert (a["is_in_base"], a["lifecycle_state"]) == (False, "churned")
    apr_churn = row(cut["fct_churn_monthly"], month=m(2024, 4))
    assert (apr_churn["customers_start"], apr_churn["churned_customers"], apr_churn["customers_end"]) == (
        1,
        1,
        0,
    )
    assert apr_churn["net_revenue"] == 0 and apr_churn["is_complete"] is False
    assert row(cut["fct_churn_monthly"], month=m(2024, 3))["is_complete"] is True

    # An earlier as_of_date also drops customers created later who had not paid by then.
    customers = pd.DataFrame(
        [
            {"customer_id": "a", "created_at": "2024-01-01", "country": "DE", "acquisition_channel": ""},
            {
                "customer_id": "z",
                "created_at": "2024-04-18T00:00:00Z",
                "country": "",
                "acquisition_channel": "ads",
            },
            {"customer_id": "y", "created_at": "", "country": "FR", "acquisition_channel": "seo"},
        ],
        dtype=str,
    )
    assert set(compute_marts(pay, customers)["dim_customers"]["customer_id"]) == {"a", "y", "z"}
    dim = compute_marts(pay, customers, as_of_date=date(2024, 4, 15))["dim_customers"]
    assert set(dim["customer_id"]) == {"a", "y"}
    a = row(dim, customer_id="a")
    assert (a["has_customer_record"], a["country"], a["acquisition_channel"]) == (True, "DE", None)
    assert a["created_at"] == pd.Timestamp("2024-01-01 00:00:00")
    y = row(dim, customer_id="y")
    assert (y["has_customer_record"], y["created_at"], y["customer_type"]) == (True, None, "prospect")


def seven_month_example() -> dict[str, pd.DataFrame]:
    """N = 30, as_of 2024-07-31; a purchase on the 15th keeps a buyer in base to that month's end only.

    a buys 10.00 every month Jan..Jul; b 10.00 in Jan and May; c 20.00 in Feb and Mar; d 30.00 in Mar.
    """
    rows = [(f"a{k}", "a", f"2024-{k:02d}-15T12:00:00Z", "10.00") for k in range(1, 8)]
    rows += [("b1", "b", "2024-01-15T12:00:00Z", "10.00"), ("b5", "b", "2024-05-15T12:00:00Z", "10.00")]
    rows += [("c2", "c", "2024-02-15T12:00:00Z", "20.00"), ("c3", "c", "2024-03-15T12:00:00Z", "20.00")]
    rows += [("d3", "d", "2024-03-15T12:00:00Z", "30.00")]
    return compute_marts(payments(*rows), None, as_of_date=date(2024, 7, 31), churn_inactivity_days=30)


def test_seven_month_bridge() -> None:
    #        start new react churned end  net   arpu = net / ((start + end) / 2)
    # Jan      0    2    0     0      2   20    20
    # Feb      2    1    0     1 (b)  2   30    15
    # Mar      2    1    0     0      3   60    24
    # Apr      3    0    0     2 (cd) 1   10    5
    # May      1    0    1 (b) 0      2   20    40/3
    # Jun      2    0    0     1 (b)  1   10    20/3
    # Jul      1    0    0     0      1   10    10
    churn = seven_month_example()["fct_churn_monthly"]
    assert churn["customers_start"].tolist() == [0, 2, 2, 3, 1, 2, 1]
    assert churn["new_customers"].tolist() == [2, 1, 1, 0, 0, 0, 0]
    assert churn["reactivated_customers"].tolist() == [0, 0, 0, 0, 1, 0, 0]
    assert churn["churned_customers"].tolist() == [0, 1, 0, 2, 0, 1, 0]
    assert churn["customers_end"].tolist() == [2, 2, 3, 1, 2, 1, 1]
    assert churn["net_revenue"].tolist() == [20, 30, 60, 10, 20, 10, 10]
    assert churn["arpu"].tolist() == pytest.approx([20, 15, 24, 5, 40 / 3, 20 / 3, 10])
    # Monthly churn: Feb 1/2 (lifetime 2, LTV 15 * 2 = 30); Apr 2/3 (lifetime 1.5, LTV 5 * 1.5 = 7.5);
    # Jun 1/2 (lifetime 2, LTV 20/3 * 2 = 40/3).
    feb, apr, jun = (row(churn, month=m(2024, k)) for k in (2, 4, 6))
    assert (feb["churn_rate"], feb["avg_customer_lifetime_months"], feb["ltv"]) == pytest.approx((0.5, 2, 30))
    assert (apr["churn_rate"], apr["avg_customer_lifetime_months"], apr["ltv"]) == pytest.approx(
        (2 / 3, 1.5, 7.5)
    )
    assert (jun["churn_rate"], jun["avg_customer_lifetime_months"], jun["ltv"]) == pytest.approx(
        (0.5, 2, 40 / 3)
    )
    mar = row(churn, month=m(2024, 3))
    assert mar["churn_rate"] == 0.0 and mar["avg_customer_lifetime_months"] is None and mar["ltv"] is None
    assert churn["is_complete"].tolist() == [True] * 7


def test_trailing_6m_on_seven_months() -> None:
    churn = seven_month_example()["fct_churn_monthly"]
    jan, jun, jul = (row(churn, month=m(2024, k)) for k in (1, 6, 7))
    # Jan: only itself; sum(start) = 0 -> churn, lifetime, LTV null; arpu_6m = 20.
    assert jan["churn_rate_trailing_6m"] is None and jan["arpu_trailing_6m"] == pytest.approx(20)
    assert jan["avg_customer_lifetime_months_trailing_6m"] is None and jan["ltv_trailing_6m"] is None
    # Jun (Jan..Jun): churned 0+1+0+2+0+1 = 4, start 0+2+2+3+1+2 = 10 -> 0.4; lifetime 2.5;
    # arpu mean (20 + 15 + 24 + 5 + 40/3 + 20/3) / 6 = 84 / 6 = 14; LTV 14 / 0.4 = 35.
    assert jun["churn_rate_trailing_6m"] == pytest.approx(0.4)
    assert jun["avg_customer_lifetime_months_trailing_6m"] == pytest.approx(2.5)
    assert jun["arpu_trailing_6m"] == pytest.approx(14)
    assert jun["ltv_trailing_6m"] == pytest.approx(35)
    # Jul (Feb..Jul, January drops out): churned 1+0+2+0+1+0 = 4, start 2+2+3+1+2+1 = 11 -> 4/11;
    # lifetime 11/4 = 2.75; arpu mean (15 + 24 + 5 + 40/3 + 20/3 + 10) / 6 = 74 / 6 = 37/3;
    # LTV (37/3) / (4/11) = 407/12.
    assert jul["churn_rate_trailing_6m"] == pytest.approx(4 / 11)
    assert jul["avg_customer_lifetime_months_trailing_6m"] == pytest.approx(2.75)
    assert jul["arpu_trailing_6m"] == pytest.approx(37 / 3)
    assert jul["ltv_trailing_6m"] == pytest.approx(407 / 12)


def test_seven_month_statuses_cohorts_and_bridge_identity() -> None:
    marts = seven_month_example()
    months = marts["fct_customer_months"]
    b = months[months["customer_id"] == "b"]["status"].tolist()
    assert b == ["new", "churned", "lapsed", "lapsed", "reactivated", "churned", "lapsed"]
    c = months[months["customer_id"] == "c"]["status"].tolist()
    assert c == ["new", "retained", "churned", "lapsed", "lapsed", "lapsed"]
    # Cohort Jan 2024 = {a, b}: in base at end of Jan..Jul = 2, 1, 1, 1, 2, 1, 1;
    # net 20, 10, 10, 10, 20, 10, 10.
    jan = marts["fct_cohort_retention"]
    jan = jan[jan["cohort_month"] == m(2024, 1)]
    assert jan["customers_in_base"].tolist() == [2, 1, 1, 1, 2, 1, 1]
    assert jan["survival_rate"].tolist() == [1.0, 0.5, 0.5, 0.5, 1.0, 0.5, 0.5]
    assert jan["active_customers"].tolist() == [2, 1, 1, 1, 2, 1, 1]
    assert jan["cumulative_net_revenue"].tolist() == [20, 30, 40, 50, 70, 80, 90]
    assert jan["cumulative_net_revenue_per_customer"].tolist() == [10, 15, 20, 25, 35, 40, 45]
    # Cohort Mar 2024 = {d}: k = 0..4 (Mar..Jul).
    mar = marts["fct_cohort_retention"]
    assert (mar["cohort_month"] == m(2024, 3)).sum() == 5
    # dim: a retained, b/c/d churned at Jul 31.
    states = {r["customer_id"]: r["lifecycle_state"] for r in marts["dim_customers"].to_dict("records")}
    assert states == {"a": "retained", "b": "churned", "c": "churned", "d": "churned"}
    assert_bridge_closes(marts)


def test_prospect_refund_counts_in_monthly_revenue_only_where_dated() -> None:
    # p refunds 5.00 on Jan 3 without ever buying (a prospect); a buys 10.00 on Feb 1 and is refunded 2.00 on
    # Jan 20 (before the first purchase). Months start in January (first succeeded non-zero payment).
    marts = compute_marts(
        payments(
            ("r1", "p", "2024-01-03T10:00:00Z", "-5.00"),
            ("r2", "a", "2024-01-20T10:00:00Z", "-2.00"),
            ("s1", "a", "2024-02-01T10:00:00Z", "10.00"),
            ("z1", "a", "2024-02-02T10:00:00Z", "0.00"),
        ),
        None,
    )
    churn = marts["fct_churn_monthly"]
    assert by_month(churn, "net_revenue") == {m(2024, 1): D("-7"), m(2024, 2): D("10")}
    assert by_month(marts["fct_revenue_monthly"], "refunds") == {m(2024, 1): D("-7"), m(2024, 2): 0}
    jan = row(churn, month=m(2024, 1))
    assert jan["arpu"] is None  # start + end = 0
    a = row(marts["dim_customers"], customer_id="a")
    assert (a["gross_revenue"], a["refunds"], a["net_revenue"], a["purchase_count"]) == (
        D("10"),
        D("-2"),
        D("8"),
        1,
    )
    p = row(marts["dim_customers"], customer_id="p")
    assert (p["customer_type"], p["refunds"], p["net_revenue"]) == ("prospect", D("-5"), D("-5"))
    # The customer-month and cohort marts start at the cohort month, so the January refund is not in them.
    assert row(marts["fct_customer_months"], customer_id="a", month=m(2024, 2))["net_revenue"] == D("10")
    assert marts["fct_cohort_retention"]["cumulative_net_revenue"].tolist() == [D("10")]


def test_unreadable_rows_are_set_aside_and_count_nowhere() -> None:
    # Only p1 is a readable payment. The rest: a repeated payment_id (the first row is kept), an
    # unparseable amount, an unparseable paid_at, an impossible date, an unknown status, a missing
    # customer_id, a missing payment_id and a currency that is not ISO 4217. None of them makes a customer,
    # moves money or sets the default as_of_date (which would otherwise be Mar 30 from p6).
    marts = compute_marts(
        payments(
            ("p1", "a", "2024-01-10T10:00:00Z", "10.00"),
            ("p1", "a", "2024-01-11T10:00:00Z", "99.00"),
            ("p2", "a", "2024-01-12T10:00:00Z", "abc"),
            ("p3", "b", "yesterday", "5.00"),
            ("p4", "b", "2024-02-30T10:00:00Z", "5.00"),
            ("p5", "b", "2024-01-13T10:00:00Z", "5.00", "refunded"),
            ("p6", "", "2024-03-30T10:00:00Z", "5.00"),
            ("", "c", "2024-03-30T10:00:00Z", "5.00"),
            ("p7", "d", "2024-03-30T10:00:00Z", "5.00", "succeeded", "dollars"),
        ),
        None,
    )
    dim = marts["dim_customers"]
    assert dim["customer_id"].tolist() == ["a"]
    a = row(dim, customer_id="a")
    assert (a["purchase_count"], a["gross_revenue"], a["days_since_last_purchase"]) == (1, D("10"), 0)
    assert marts["fct_revenue_monthly"]["month"].tolist() == [m(2024, 1)]
    assert row(marts["fct_revenue_monthly"], month=m(2024, 1))["net_revenue"] == D("10")


# ---------------------------------------------------------------------------------------------------
# Segments, win-back list and LTV (docs/definitions.md, "Segments" .. "LTV"), with the default settings.


def test_segment_settings_are_dbt_project_vars() -> None:
    # Every setting the oracle reads is a var of dbt_project.yml, under the same name.
    project = SegmentSettings.from_project()
    names = {f.name for f in fields(SegmentSettings)}
    project_vars = yaml.safe_load((Path(__file__).resolve().parents[1] / "dbt_project.yml").read_text())[
        "vars"
    ]
    assert names <= set(project_vars)
    assert all(
        getattr(project, name) == project_vars[name]
        for name in names
        if name != "rfm_segment_rules" and project_vars[name] is not None
    )
    # Left null, the inactivity stages are a third and two thirds of churn_inactivity_days.
    days = project_vars["churn_inactivity_days"]
    assert (project.inactivity_cooling_days, project.inactivity_at_risk_days) == (days // 3, 2 * days // 3)
    assert list(project.rfm_segment_rules) == project_vars["rfm_segment_rules"]


def test_quantile_and_score_helpers() -> None:
    # Continuous quantile of 1/12, 1/3, 1/3, 1: position q (n - 1); 0.8 -> 2.4 -> 1/3 + 0.4 (1 - 1/3) = 3/5.
    rates = [Fraction(1, 12), Fraction(1, 3), Fraction(1, 3), Fraction(1)]
    assert quantile_cont(rates, Fraction("0.8")) == Fraction(3, 5)
    assert quantile_cont(rates, Fraction("0.4")) == Fraction(1, 3)
    assert quantile_cont([], Fraction("0.4")) is None
    # rank() from worst: 30, 26, 26, 21, 11 days -> ranks 1, 2, 2, 4, 5 -> scores 1, 2, 2, 4, 5 of 5.
    days = [-30, -26, -26, -21, -11]
    assert [_score(d, days) for d in days] == [1, 2, 2, 4, 5]
    # Two customers: ranks 1 and 2 -> floor(5 (rank - 1) / 2) + 1 = 1 and 3; a tie shares score 1.
    assert [_score(v, [1, 2]) for v in [1, 2]] == [1, 3] and _score(4, [4, 4]) == 1


def regularity_example() -> dict[str, pd.DataFrame]:
    """as_of 2024-12-31 (N = 90): the window of December is Jan..Dec 2024.

    m: 10.00 on the 10th of every month of 2024. q: 20.00 quarterly on the 5th, Mar 2023 .. Dec 2024.
    o: 50.00 on 2023-01-15 and 2024-12-20. i: 5.00 on 2023-02-10, 2024-02-10, 03-10, 08-10 and 12-01.
    n: 30.00 on 2024-11-05 and 12-05. l: 40.00 on 2024-09-15. g: 25.00 on 2024-01-20.
    Prospects (customers file): p created 2024-11-01, r created 2024-12-15.
    """
    rows = [(f"m{k}", "m", f"2024-{k:02d}-10", "10.00") for k in range(1, 13)]
    rows += [(f"q{y}{k}", "q", f"{y}-{k:02d}-05", "20.00") for y in (2023, 2024) for k in (3, 6, 9, 12)]
    rows += [("o1", "o", "2023-01-15", "50.00"), ("o2", "o", "2024-12-20", "50.00")]
    rows += [(f"i{k}", "i", day, "5.00") for k, day in enumerate(["2023-02-10", "2024-02-10", "2024-03-10"])]
    rows += [("i3", "i", "2024-08-10", "5.00"), ("i4", "i", "2024-12-01", "5.00")]
    rows += [("n1", "n", "2024-11-05", "30.00"), ("n2", "n", "2024-12-05", "30.00")]
    rows += [("l1", "l", "2024-09-15", "40.00"), ("g1", "g", "2024-01-20", "25.00")]
    customers = pd.DataFrame(
        [
            {"customer_id": "p", "created_at": "2024-11-01", "country": "", "acquisition_channel": ""},
            {"customer_id": "r", "created_at": "2024-12-15", "country": "", "acquisition_channel": ""},
        ],
        dtype=str,
    )
    return compute_marts(
        payments(*rows), customers, as_of_date=date(2024, 12, 31), settings=SegmentSettings()
    )


def test_regularity_frequency_rfm_and_inactivity() -> None:
    dim = regularity_example()["dim_customer_segments"]
    seg = {r["customer_id"]: r for r in (row(dim, customer_id=c) for c in dim["customer_id"])}
    # m: 12 purchase months of 12 observed, none missed -> regular_monthly; gaps Feb..Dec all 1.
    # q: purchase months Mar, Jun, Sep, Dec; gaps 3, 3, 3, 3 (Mar's from Dec 2023) -> regular_periodic.
    # o: one purchase month in the window (its gap of 23 months does not make a second) -> one_off.
    # i: Feb, Mar, Aug, Dec: gaps 12, 1, 5, 4: mean 5.5 (< 6), variation sqrt(16.25) / 5.5 = 0.73: irregular.
    # n: cohort Nov 2024 inside the window, 2 purchase months (< 3) -> new.
    # l: bought Sep 15, out of the base by Dec 31 (window Oct 3 .. Dec 31) but in it on Nov 30 -> lapsed.
    assert {c: seg[c]["regularity"] for c in "mqoinl"} == {
        "m": "regular_monthly",
        "q": "regular_periodic",
        "o": "one_off",
        "i": "irregular",
        "n": "new",
        "l": "lapsed",
    }
    # typical_gap_months only for monthly and periodic payers.
    assert {c: seg[c]["typical_gap_months"] for c in "mqoin"} == {
        "m": 1,
        "q": 3,
        "o": None,
        "i": None,
        "n": None,
    }
    # purchases_per_month = window purchases / observed months: n 2 / 2 (Nov, Dec); l 1 / 4 (Sep .. Dec).
    assert {c: seg[c]["purchases_per_month"] for c in "mqnl"} == pytest.approx(
        {"m": 1, "q": 1 / 3, "n": 1, "l": 1 / 4}
    )
    # Cut-offs over the in-base customers not new: m 1, q 1/3, o 1/12, i 1/3 -> frequent 3/5, medium 1/3
    # (test_quantile_and_score_helpers). q and i reach 1/3 exactly: medium. o: 1/12; the year before it paid
    # once in 12 months (1/12 < 1/3), so it is rare, not lost. l (out of the base) 1/4 -> rare.
    assert {c: seg[c]["frequency_class"] for c in "mqoinl"} == {
        "m": "frequent",
        "q": "medium",
        "o": "rare",
        "i": "medium",
        "n": "new",
        "l": "rare",
    }
    # RFM among m, q, o, i, n. Recency (days to Dec 31): i 30, q 26, n 26, m 21, o 11 -> R 1, 2, 2, 4, 5.
    # Frequency: o 1, n 2, q 4, i 4, m 12 -> F 1, 2, 3, 3, 5. Monetary: i 20, o 50, n 60, q 80, m 120 -> 1..5.
    assert {
        c: (seg[c]["recency_score"], seg[c]["frequency_score"], seg[c]["monetary_score"]) for c in "mqoin"
    } == {
        "m": (4, 5, 5),
        "q": (2, 3, 4),
        "o": (5, 1, 2),
        "i": (1, 3, 1),
        "n": (2, 2, 3),
    }
    # m champions; q at_risk (R <= 2, M >= 4); o promising (R >= 3); i lost (R = 1); n new (regularity new).
    assert {c: seg[c]["rfm_segment"] for c in "mqoinl"} == {
        "m": "champions",
        "q": "at_risk",
        "o": "promising",
        "i": "lost",
        "n": "new",
        "l": "churned",
    }
    # Inactivity: i's last purchase is 30 days old: still active (<= 30); l is out of the base: churned.
    assert {c: seg[c]["inactivity_stage"] for c in "mqoinl"} == {
        "m": "active",
        "q": "active",
        "o": "active",
        "i": "active",
        "n": "active",
        "l": "churned",
    }
    # g left the base in April and bought nothing since: not classified in December.
    g = seg["g"]
    assert (g["regularity"], g["rfm_segment"], g["inactivity_stage"], g["is_hidden_churn"]) == (
        "lapsed",
        "churned",
        "churned",
        False,
    )
    assert g["frequency_class"] is None and g["window_net_revenue"] is None and g["recency_score"] is None
    assert (g["net_revenue"], seg["l"]["window_net_revenue"]) == (D("25"), D("40"))
    # Prospects: p signed up 60 days before as_of_date (> 30): never_converted; r 16 days: prospect.
    assert (seg["p"]["rfm_segment"], seg["p"]["inactivity_stage"], seg["p"]["regularity"]) == (
        "prospect",
        "never_converted",
        None,
    )
    assert seg["r"]["inactivity_stage"] == "prospect"
    # Hidden churn: recent Oct..Dec, baseline Oct 2023 .. Sep 2024. m: 9 baseline purchases (90.00) ->
    # expected 2.25 purchases and 22.50; recent 3 and 30.00: drop share 1 - 3 / 2.25 = -1/3, drop -7.50.
    # q: 4 baseline purchases (80.00) -> expected 1 and 20.00, recent 1 and 20.00. i: 3 (< 4): no pace.
    assert (seg["m"]["purchase_drop_share"], seg["m"]["net_revenue_drop"]) == pytest.approx((-1 / 3, -7.5))
    assert (seg["q"]["purchase_drop_share"], seg["q"]["net_revenue_drop"]) == (0, 0)
    assert seg["i"]["purchase_drop_share"] is None and not any(seg[c]["is_hidden_churn"] for c in seg)


def test_segment_monthly_and_transitions() -> None:
    marts = regularity_example()
    monthly = marts["fct_segment_monthly"]
    december = monthly[monthly["month"] == m(2024, 12)]
    # Classified in December: m, q, o, i, n (in the base) and l (in it at the start); every classification's
    # segments add up to them and to their December net revenue 10 + 20 + 50 + 5 + 30 = 115.
    for _, group in december.groupby("classification"):
        assert group["customers"].sum() == 6 and group["net_revenue"].sum() == D("115")
        assert group["net_revenue_share"].sum() == pytest.approx(1)
    frequency = december[december["classification"] == "frequency_class"]
    rare = row(frequency, segment="rare")  # o and l
    assert (rare["customers"], rare["customers_in_base_at_end"], rare["active_customers"]) == (2, 1, 1)
    assert (rare["net_revenue"], rare["net_revenue_share"]) == (D("50"), pytest.approx(50 / 115))
    transitions = marts["fct_segment_transitions"]
    assert "new_or_returning" not in set(transitions["classification"])
    regularity = transitions[transitions["classification"] == "regularity"]

    def moves(month: date) -> dict[tuple[str, str], int]:
        rows = regularity[regularity["month"] == month]
        return {(r["from_segment"], r["to_segment"]): r["customers"] for r in rows.to_dict("records")}

    # November: n arrives (none -> new); l new -> new; i left the base (one_off in October: mean gap of
    # Feb, Mar, Aug 2024 = (12 + 1 + 5) / 3 = 6 -> one_off -> lapsed); m, q stay. o is not classified.
    assert moves(m(2024, 11)) == {
        ("none", "new"): 1,
        ("new", "new"): 1,
        ("one_off", "lapsed"): 1,
        ("regular_monthly", "regular_monthly"): 1,
        ("regular_periodic", "regular_periodic"): 1,
    }
    # December: i comes back (lapsed -> irregular), o buys again (none -> one_off), l lapses (new -> lapsed).
    assert moves(m(2024, 12)) == {
        ("lapsed", "irregular"): 1,
        ("none", "one_off"): 1,
        ("new", "lapsed"): 1,
        ("new", "new"): 1,
        ("regular_monthly", "regular_monthly"): 1,
        ("regular_periodic", "regular_periodic"): 1,
    }
    # The win-back list: in the base with a reason: q only (rfm at_risk).
    win_back = marts["fct_win_back_list"]
    assert win_back["customer_id"].tolist() == ["q"] and win_back["reasons"].tolist() == ["rfm_at_risk"]


@pytest.mark.parametrize("as_of", [date(2024, 12, 31), date(2025, 1, 10)])
def test_hidden_churn_and_frequency_lost(as_of: date) -> None:
    # h: 10.00 on the 15th monthly Jan 2023 .. Sep 2024, then once on Nov 20. f: 10.00 monthly in 2023, then
    # on 2024-12-05. On Dec 31 (December complete) and on Jan 10 (January incomplete: the last complete
    # month is December) the recent period is Oct..Dec 2024 and the baseline Oct 2023 .. Sep 2024.
    rows = [(f"h{y}{k}", "h", f"{y}-{k:02d}-15", "10.00") for y in (2023, 2024) for k in range(1, 13)]
    rows = [r for r in rows if r[2] < "2024-10"] + [("h-nov", "h", "2024-11-20", "10.00")]
    rows += [(f"f{k}", "f", f"2023-{k:02d}-15", "10.00") for k in range(1, 13)]
    rows += [("f-dec", "f", "2024-12-05", "10.00")]
    marts = compute_marts(payments(*rows), None, as_of_date=as_of, settings=SegmentSettings())
    dim = marts["dim_customer_segments"]
    h, f = row(dim, customer_id="h"), row(dim, customer_id="f")
    # h: 12 baseline purchases (120.00) -> expected 3 purchases and 30.00; recent 1 and 10.00: 1 < 1.5.
    assert h["is_hidden_churn"] is True
    assert (h["purchase_drop_share"], h["net_revenue_drop"]) == pytest.approx((2 / 3, 20))
    # f: 3 baseline purchases (Oct..Dec 2023): no pace, not flagged.
    assert f["is_hidden_churn"] is False and f["purchase_drop_share"] is None
    if as_of == date(2024, 12, 31):
        # Window Jan..Dec 2024: h 10 purchases (10/12), f 1 (1/12). Cut-offs over both: medium
        # 1/12 + 0.4 (9/12) = 0.383, frequent 1/12 + 0.8 (9/12) = 0.683. f paid 12 times in the 12 months
        # before the window (1 >= 0.383) and now 1/12 < 0.1: lost. h is frequent.
        assert (f["frequency_class"], h["frequency_class"]) == ("lost", "frequent")
        # h: 41 days since Nov 20 -> cooling. Reasons in the documented order.
        assert h["inactivity_stage"] == "cooling"
        reasons = marts["fct_win_back_list"].set_index("customer_id")["reasons"].to_dict()
        assert reasons == {"h": "cooling,hidden_churn", "f": "frequency_lost"}


def ltv_example() -> dict[str, pd.DataFrame]:
    """N = 30, as_of 2025-06-30 (a month's last day): the horizon of all, cohorts and channels starts at the
    end of June 2024 and runs 12 months, Jul 2024 .. Jun 2025; segments use h = ceil(30 / 30) + 1 = 2.

    a (paid_search): 10.00 on the 10th of every month, Jun 2024 .. Jun 2025. b (paid_search): 40.00 on
    2024-06-15, 20.00 on 2024-12-15, a refund of 5.00 on 2025-01-05. c (organic): 100.00 on 2024-05-20,
    50.00 on 2025-04-10. d (no channel): 30.00 on 2024-06-25 and 2025-06-05.
    Spend: paid_search Jun 2024 50.00 + 30.00 (two rows); organic May 2024 100.00; display Mar 2025 25.00
    (nobody came through it, nobody joined in March 2025); organic Aug 2025 500.00 (after as_of_date).
    """
    rows = [
        (f"a{k}", "a", f"{(date(2024, 6, 1) + pd.DateOffset(months=k)):%Y-%m}-10", "10.00") for k in range(13)
    ]
    rows += [
        ("b1", "b", "2024-06-15", "40.00"),
        ("b2", "b", "2024-12-15", "20.00"),
        ("b3", "b", "2025-01-05", "-5"),
    ]
    rows += [("c1", "c", "2024-05-20", "100.00"), ("c2", "c", "2025-04-10", "50.00")]
    rows += [("d1", "d", "2024-06-25", "30.00"), ("d2", "d", "2025-06-05", "30.00")]
    customers = pd.DataFrame(
        [
            {"customer_id": cid, "created_at": "", "country": "", "acquisition_channel": channel}
            for cid, channel in [("a", "paid_search"), ("b", "paid_search"), ("c", "organic"), ("d", "")]
        ],
        dtype=str,
    )
    spend = pd.DataFrame(
        [
            {"month": month, "acquisition_channel": channel, "spend": amount, "currency": "USD"}
            for month, channel, amount in [
                ("2024-06", "paid_search", "50.00"),
                ("2024/06", "paid_search", "30.00"),
                ("2024-05-17", "organic", "100.00"),
                ("2025-03", "display", "25.00"),
                ("2025-08", "organic", "500.00"),
            ]
        ],
        dtype=str,
    )
    settings = replace(SegmentSettings(), inactivity_cooling_days=10, inactivity_at_risk_days=20)
    return compute_marts(
        payments(*rows), customers, date(2025, 6, 30), 30, marketing_spend=spend, settings=settings
    )


def test_ltv_by_grouping() -> None:
    marts = ltv_example()
    ltv = marts["fct_ltv"]
    everyone = row(ltv, grouping="all")
    # In the base on 2024-06-30 (window Jun 1 .. 30): a, b, d (c bought May 20). On 2025-06-30: a, d (d
    # left and came back: kept); b is out -> share 1/3, monthly rate 1 - (2/3)^(1/12). Their net revenue
    # Jul 2024 .. Jun 2025: a 120, b 20 - 5, d 30 = 165 over 3 x 12 customer-months; 12 + 1 + 1 purchases.
    rate = 1 - (2 / 3) ** (1 / 12)
    assert (everyone["customers"], everyone["horizon_customers"]) == (4, 3)
    assert everyone["monthly_churn_rate"] == pytest.approx(rate)
    assert everyone["arpu"] == pytest.approx(165 / 36) and everyone["purchases_per_year"] == pytest.approx(
        14 / 3
    )
    # AOV: gross 130 + 60 + 150 + 60 = 400 over 19 purchases.
    assert everyone["average_order_value"] == pytest.approx(400 / 19)
    assert everyone["expected_years_retained"] == pytest.approx(1 / (12 * rate))
    assert everyone["formula_ltv"] == pytest.approx(400 / 19 * 14 / 3 / (12 * rate))
    assert everyone["arpu_churn_ltv"] == pytest.approx(165 / 36 / rate)
    # Realized, ages 0..k-1: 3 months a 30, b 40, c 100, d 30 -> 50; 6 months a 60 -> 57.5; 12 months
    # (every member's age 11 is complete) a 120, b 55, c 150, d 30 -> 88.75; 24 months: nobody.
    assert (everyone["realized_ltv_3m"], everyone["realized_ltv_6m"]) == pytest.approx((50, 57.5))
    assert everyone["realized_ltv_12m"] == pytest.approx(88.75) and everyone["realized_ltv_24m"] is None
    # CAC: spend months May 2024, Jun 2024, Mar 2025; 205.00 over a, b, c, d (d has no channel but was
    # acquired in June) = 51.25. Payback: cumulative per customer at ages 0, 1, 2, 3: 45, 47.5, 50, 52.5 -> 3.
    assert (everyone["marketing_spend"], everyone["acquired_customers"]) == (D("205"), 4)
    assert everyone["customer_acquisition_cost"] == pytest.approx(51.25)
    assert everyone["ltv_to_cac"] == pytest.approx(165 / 36 / rate / 51.25) and everyone["payback_month"] == 3

    june = row(ltv, grouping="cohort_month", cohort_month=m(2024, 6))  # a, b, d: the horizon customers of all
    assert (june["horizon_customers"], june["monthly_churn_rate"]) == (3, pytest.approx(rate))
    assert (june["marketing_spend"], june["acquired_customers"]) == (D("80"), 3)
    assert june["customer_acquisition_cost"] == pytest.approx(80 / 3)
    may = row(ltv, grouping="cohort_month", cohort_month=m(2024, 5))  # c: out of the base at the start
    assert may["horizon_customers"] is None and may["monthly_churn_rate"] is None and may["arpu"] is None
    assert (may["customer_acquisition_cost"], may["payback_month"]) == (100, 0)
    march = row(ltv, grouping="cohort_month", cohort_month=m(2025, 3))  # spend, nobody acquired
    assert (march["customers"], march["marketing_spend"], march["acquired_customers"]) == (0, D("25"), 0)
    assert march["customer_acquisition_cost"] is None and march["average_order_value"] is None

    channels = ltv[ltv["grouping"] == "acquisition_channel"]
    cac = {r["acquisition_channel"]: _py(r["customer_acquisition_cost"]) for r in channels.to_dict("records")}
    assert cac == {None: None, "display": None, "organic": 100, "paid_search": 40}
    paid = row(channels, acquisition_channel="paid_search")  # a kept, b out: 1/2 over 12 months
    assert paid["monthly_churn_rate"] == pytest.approx(1 - 0.5 ** (1 / 12))
    assert (paid["arpu"], paid["purchases_per_year"]) == pytest.approx((135 / 24, 6.5))

    # Segments on June 30: a promising (R 3, F 3, M 3 of two in the base), d lost (R = F = M = 1), b and c
    # churned (not classified in June). Start months Jan .. Apr 2025 (month + 2 complete): a alone in the
    # base at the ends of Jan, Feb, Mar (regular_monthly, scores 1: lost) and with c at the end of April
    # (a: R 1, F 3, M 1: lost; c: new). lost: 4 starts of a, all still in the base two months later: churn 0;
    # a's 20.00 over each start's next two months -> arpu 80 / 8 = 10, 12 purchases a year.
    segments = marts["dim_customer_segments"].set_index("customer_id")["rfm_segment"].to_dict()
    assert segments == {"a": "promising", "b": "churned", "c": "churned", "d": "lost"}
    lost = row(ltv, grouping="rfm_segment", rfm_segment="lost")
    assert (lost["customers"], lost["horizon_customers"]) == (1, 4)
    assert (lost["monthly_churn_rate"], lost["arpu"], lost["purchases_per_year"]) == (0, 10, 12)
    assert lost["expected_years_retained"] is None and lost["arpu_churn_ltv"] is None
    assert lost["customer_acquisition_cost"] is None  # d has no channel
    promising = row(ltv, grouping="rfm_segment", rfm_segment="promising")  # nobody promising at a start
    assert promising["horizon_customers"] is None and promising["monthly_churn_rate"] is None
    # a alone, CAC 40: 10.00 a month reaches 40 at age 3.
    assert (promising["customer_acquisition_cost"], promising["payback_month"]) == (40, 3)
    churned = row(ltv, grouping="rfm_segment", rfm_segment="churned")  # b, c: mean of 40 and 100
    assert churned["customer_acquisition_cost"] == 70 and churned["marketing_spend"] is None
    # Payback of b and c against 70: age 0 (40 + 100) / 2 = 70 reaches it exactly -> 0.
    assert churned["payback_month"] == 0 and churned["acquired_customers"] is None

    own = {
        r["customer_id"]: _py(r["customer_acquisition_cost"])
        for r in marts["dim_customer_segments"].to_dict("records")
    }
    assert own == {"a": 40, "b": 40, "c": 100, "d": None}
