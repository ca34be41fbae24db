"""The marts on public data nobody here wrote: the sample input of dbt Labs' mrr-playbook project
(tests/fixtures/mrr_playbook_subscription_periods.csv, 121 subscription periods of 55 customers).

Each subscription month becomes a payment of `monthly_amount` on the month's first day. With
`churn_inactivity_days: 31` "in the base at the end of a month" then means "paid this month", so the
bridge must agree with the playbook's own reading of the periods (a period covers the months from
start_date up to, not including, end_date), computed here with plain interval logic.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dbt_project_runner import read_marts, run_dbt

PERIODS = Path(__file__).parent / "fixtures" / "mrr_playbook_subscription_periods.csv"


@pytest.fixture(scope="module")
def playbook(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    periods = pd.read_csv(PERIODS, parse_dates=["start_date", "end_date"])
    months = periods.assign(
        month=[
            pd.date_range(start, end, freq="MS", inclusive="left")
            for start, end in zip(periods.start_date, periods.end_date, strict=True)
        ]
    ).explode("month")
    data = tmp_path_factory.mktemp("playbook")
    payments = pd.DataFrame(
        {
            "payment_id": months.subscription_id.astype(str) + "-" + months.month.dt.strftime("%Y%m"),
            "customer_id": months.customer_id.astype(str),
            "paid_at": months.month.dt.strftime("%Y-%m-%d"),
            "amount": months.monthly_amount.map("{:.2f}".format),
            "currency": "USD",
            "status": "succeeded",
        }
    )
    payments.to_csv(data / "payments.csv", index=False)
    workdir = data / "build"
    run_dbt(
        ["build", "--exclude", "test_type:unit"],
        workdir,
        vars={"raw_data_dir": str(data), "churn_inactivity_days": 31, "as_of_date": "2020-01-31"},
    )
    return months, read_marts(workdir)


def expected_bridge(months: pd.DataFrame) -> pd.DataFrame:
    """Active, new, reactivated and churned customers per month from the periods alone."""
    active = months.groupby("month").customer_id.apply(set)
    calendar = pd.date_range(months.month.min(), "2020-01-01", freq="MS")
    first_month = months.groupby("customer_id").month.min()
    rows, previous = [], set()
    for month in calendar:
        current = active.get(month, set())
        new = {customer for customer in current if first_month[customer] == month}
        rows.append(
            {
                "month": month.date(),
                "customers_start": len(previous),
                "new_customers": len(new),
                "reactivated_customers": len(current - previous - new),
                "churned_customers": len(previous - current),
                "customers_end": len(current),
            }
        )
        previous = current
    return pd.DataFrame(rows)


def test_bridge_matches_the_playbook_periods(playbook: tuple[pd.DataFrame, dict[str, pd.DataFrame]]) -> None:
    months, marts = playbook
    expected = expected_bridge(months)
    churn = marts["fct_churn_monthly"].sort_values("month").reset_index(drop=True)
    churn["month"] = pd.to_datetime(churn["month"]).dt.date
    columns = list(expected.columns)
    pd.testing.assert_frame_equal(churn[columns], expected, check_dtype=False)
    # Hand-checked anchors: customer 1 pays Nov 2018-Jan 2019, lapses Feb-Mar, comes back in April.
    customer_months = marts["fct_customer_months"]
    one = customer_months[customer_months.customer_id == "1"].set_index("month")["status"]
    one.index = pd.to_datetime(one.index)
    assert [one[pd.Timestamp(m)] for m in ["2018-11-01", "2019-02-01", "2019-03-01", "2019-04-01"]] == [
        "new",
        "churned",
        "lapsed",
        "reactivated",
    ]


def test_revenue_matches_the_playbook_mrr(playbook: tuple[pd.DataFrame, dict[str, pd.DataFrame]]) -> None:
    months, marts = playbook
    mrr = months.groupby("month").monthly_amount.sum()
    revenue = marts["fct_revenue_monthly"].set_index("month")["net_revenue"]
    revenue.index = pd.to_datetime(revenue.index)
    for month, amount in mrr.items():
        assert revenue[pd.Timestamp(month)] == pytest.approx(amount, abs=0.005)
    assert revenue.sum() == pytest.approx(months.monthly_amount.sum(), abs=0.005)
    cohorts = marts["fct_cohort_retention"]
    assert (
        cohorts.loc[cohorts.months_since_first == 0, "cohort_size"].sum()
        == months.customer_id.nunique()
        == 55
    )
