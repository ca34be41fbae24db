"""Hold-out check of the predictive CLV models (lifecycle.clv) on the CDNOW sample.

    .venv/bin/python benchmark/clv_holdout.py

The CDNOW sample (2,357 customers who first bought at CDNOW in the first quarter of 1997, their
purchases to 1998-06-30) is the data set of Fader, Hardie & Lee (2005). It ships with the `lifetimes`
package (a test-only dependency, see requirements.txt); its transaction file is read straight from the
installed package's folder, without importing lifetimes (whose datasets module needs pkg_resources).

Fits BG/NBD and Gamma-Gamma on the calibration period (1997-01-01 .. 1997-09-30, time in weeks,
frequency = distinct repeat purchase days, spend = the mean of the repeat days' values) and prints,
as Markdown (docs/predictive-clv.md holds a copy):

* the fitted parameters;
* predicted against actual repeat purchases (distinct days) in the 39-week hold-out
  (1997-10-01 .. 1998-06-30), in total and by calibration frequency 0..7+;
* p_alive in bands against the inactivity rule (no purchase in the last 90 days of the calibration
  period = churned) and against whether the customer bought in the hold-out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lifecycle import clv

CALIBRATION_START = dt.date(1997, 1, 1)
CALIBRATION_END = dt.date(1997, 9, 30)
HOLDOUT_END = dt.date(1998, 6, 30)
INACTIVITY_DAYS = 90
WEEK_DAYS = 7
P_ALIVE_BANDS = [0.0, 0.25, 0.5, 0.75, 1.0]
P_ALIVE_LABELS = ["< 0.25", "0.25 - 0.5", "0.5 - 0.75", ">= 0.75"]


def lifetimes_data_file(name: str) -> Path:
    """A data file shipped in the installed `lifetimes` package (lifetimes/datasets/NAME)."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the lifetimes package is not installed (pip install -r requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / name


def cdnow_transactions() -> pd.DataFrame:
    """The CDNOW sample's transactions: customer_id (1..2357), date, cds, value (US dollars).

    The file has one line per transaction: the master-file id, the sample id, yyyymmdd, the number of
    CDs and the dollar value, separated by blanks.
    """
    frame = pd.read_csv(
        lifetimes_data_file("CDNOW_sample.txt"),
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "value"],
        dtype={
            "master_id": "int64",
            "customer_id": "int64",
            "date": "str",
            "cds": "int64",
            "value": "float64",
        },
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame[["customer_id", "date", "cds", "value"]]


def calibration_summary(
    transactions: pd.DataFrame,
    calibration_end: dt.date = CALIBRATION_END,
    holdout_end: dt.date = HOLDOUT_END,
) -> pd.DataFrame:
    """One row per customer with a purchase by calibration_end, indexed by customer_id.

    Transactions on one day count as one purchase of their summed value (as in FHL's data). Columns:
    frequency (repeat purchase days in the calibration period), recency and T (weeks, from the first
    purchase to the last one and to calibration_end), monetary (mean value of the repeat days; NaN
    without one), first_purchase and last_purchase (dates), holdout_purchases (purchase days after
    calibration_end, up to holdout_end).
    """
    end = pd.Timestamp(calibration_end)
    days = transactions.groupby(["customer_id", "date"], as_index=False)["value"].sum()
    calibration = days[days["date"] <= end]
    grouped = calibration.groupby("customer_id")
    summary = pd.DataFrame(
        {
            "first_purchase": grouped["date"].min(),
            "last_purchase": grouped["date"].max(),
            "frequency": grouped.size() - 1,
        }
    )
    summary["recency"] = (summary["last_purchase"] - summary["first_purchase"]).dt.days / WEEK_DAYS
    summary["T"] = (end - summary["first_purchase"]).dt.days / WEEK_DAYS
    first = calibration["customer_id"].map(summary["first_purchase"])
    repeats = calibration[calibration["date"] > first]
    summary["monetary"] = repeats.groupby("customer_id")["value"].mean()
    holdout = days[(days["date"] > end) & (days["date"] <= pd.Timestamp(holdout_end))]
    summary["holdout_purchases"] = holdout.groupby("customer_id").size()
    summary["holdout_purchases"] = summary["holdout_purchases"].fillna(0).astype("int64")
    summary.index.name = "customer_id"
    return summary


@dataclass
class HoldoutResult:
    """What main() measured: the fits, the per-customer table and the Markdown report."""

    bgnbd: clv.FitResult
    gamma_gamma: clv.FitResult
    customers: pd.DataFrame
    predicted_total: float
    unconditional_total: float
    actual_total: int
    markdown: str


def _markdown_table(frame: pd.DataFrame, floats: str = "{:,.3f}") -> str:
    header = "| " + " | ".join(str(column) for column in frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = []
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            if isinstance(value, bool | np.bool_):
                cells.append("yes" if value else "no")
            elif isinstance(value, float | np.floating):
                cells.append(floats.format(value))
            elif isinstance(value, int | np.integer):
                cells.append(f"{value:,}")
            else:
                cells.append(str(value))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join([header, rule, *rows])


def _crosstab(rows: pd.Series, columns: pd.Series) -> pd.DataFrame:
    table = pd.crosstab(rows, columns).reindex(index=rows.cat.categories, fill_value=0)
    table["customers"] = table.sum(axis=1)
    table.index.name = "p_alive"
    return table


def run(calibration_end: dt.date = CALIBRATION_END, holdout_end: dt.date = HOLDOUT_END) -> HoldoutResult:
    """Fit on the calibration period, predict the hold-out and build the Markdown report."""
    customers = calibration_summary(cdnow_transactions(), calibration_end, holdout_end)
    x, t_x, age = customers["frequency"], customers["recency"], customers["T"]
    bgnbd = clv.fit_bgnbd(x, t_x, age)
    gamma_gamma = clv.fit_gamma_gamma(x, customers["monetary"].fillna(0.0))
    holdout_weeks = (holdout_end - calibration_end).days / WEEK_DAYS
    customers["predicted_holdout"] = clv.expected_purchases(bgnbd.params, holdout_weeks, x, t_x, age)
    customers["p_alive"] = clv.p_alive(bgnbd.params, x, t_x, age)
    inactive_since = pd.Timestamp(calibration_end) - pd.Timedelta(days=INACTIVITY_DAYS)
    customers["rule"] = np.where(customers["last_purchase"] > inactive_since, "active", "churned")
    customers["bought_in_holdout"] = np.where(customers["holdout_purchases"] > 0, "bought", "did not buy")
    customers["p_alive_band"] = pd.cut(
        customers["p_alive"], P_ALIVE_BANDS, right=False, labels=P_ALIVE_LABELS, include_lowest=True
    )
    # p_alive is exactly 1.0 for frequency 0: right=False would leave 1.0 outside [0.75, 1.0).
    customers.loc[customers["p_alive"] >= 0.75, "p_alive_band"] = P_ALIVE_LABELS[-1]

    predicted_total = float(customers["predicted_holdout"].sum())
    actual_total = int(customers["holdout_purchases"].sum())
    # The aggregate forecast, from each customer's age alone (FHL 2005, eq. 9), for comparison.
    calibration_expected = float(clv.unconditional_expected_purchases(bgnbd.params, age).sum())
    unconditional_total = float(
        (
            clv.unconditional_expected_purchases(bgnbd.params, age + holdout_weeks)
            - clv.unconditional_expected_purchases(bgnbd.params, age)
        ).sum()
    )
    lines = [
        f"Calibration {CALIBRATION_START} .. {calibration_end}, hold-out {calibration_end + dt.timedelta(1)}"
        f" .. {holdout_end} ({holdout_weeks:g} weeks), {len(customers):,} customers; time in weeks.",
        "",
        _markdown_table(
            pd.DataFrame(
                {
                    "model": ["BG/NBD", "Gamma-Gamma"],
                    "parameters": [
                        "r = {:.4f}, alpha = {:.4f}, a = {:.4f}, b = {:.4f}".format(*bgnbd.params),
                        "p = {:.4f}, q = {:.4f}, v = {:.4f}".format(*gamma_gamma.params),
                    ],
                    "customers": [len(customers), int((x > 0).sum())],
                    "log-likelihood": [bgnbd.log_likelihood, gamma_gamma.log_likelihood],
                    "converged": [bgnbd.converged, gamma_gamma.converged],
                }
            ),
            floats="{:,.2f}",
        ),
        "",
        f"**Repeat purchases in the hold-out:** predicted {predicted_total:,.1f}, actual {actual_total:,}"
        f" ({(predicted_total / actual_total - 1) * 100:+.1f}%): the sum of each customer's conditional"
        " expectation given their calibration history. The unconditional forecast from the customers' ages"
        f" alone is {unconditional_total:,.1f} ({(unconditional_total / actual_total - 1) * 100:+.1f}%);"
        f" in the calibration period it expects {calibration_expected:,.1f} repeat purchases against"
        f" {int(x.sum()):,} made.",
        "",
    ]

    group = np.minimum(x, 7).map(lambda f: "7+" if f >= 7 else str(f))
    by_frequency = (
        customers.assign(group=group)
        .groupby("group", sort=False)
        .agg(
            customers=("frequency", "size"),
            actual_mean=("holdout_purchases", "mean"),
            predicted_mean=("predicted_holdout", "mean"),
            actual_total=("holdout_purchases", "sum"),
            predicted_total=("predicted_holdout", "sum"),
        )
        .reindex([str(f) for f in range(7)] + ["7+"])
        .reset_index()
        .rename(columns={"group": "calibration frequency"})
    )
    lines += ["Hold-out repeat purchases by calibration frequency (mean per customer and total):", ""]
    lines += [_markdown_table(by_frequency), ""]

    by_rule = _crosstab(customers["p_alive_band"], customers["rule"])
    by_rule = by_rule.reindex(columns=["active", "churned", "customers"], fill_value=0)
    bought = _crosstab(customers["p_alive_band"], customers["bought_in_holdout"])
    bought = bought.reindex(columns=["bought", "did not buy", "customers"], fill_value=0)
    bought["share bought"] = bought["bought"] / bought["customers"].where(bought["customers"] > 0)
    lines += [
        f"p_alive at the end of calibration against the inactivity rule (churned = no purchase in the last"
        f" {INACTIVITY_DAYS} days of the calibration period):",
        "",
        _markdown_table(by_rule.reset_index()),
        "",
        "p_alive against whether the customer bought in the hold-out:",
        "",
        _markdown_table(bought.reset_index()),
        "",
    ]
    repeaters = customers[customers["frequency"] > 0]
    repeat_bought = _crosstab(repeaters["p_alive_band"], repeaters["bought_in_holdout"])
    repeat_bought = repeat_bought.reindex(columns=["bought", "did not buy", "customers"], fill_value=0)
    repeat_bought["share bought"] = repeat_bought["bought"] / repeat_bought["customers"].where(
        repeat_bought["customers"] > 0
    )
    repeat_rule = _crosstab(repeaters["p_alive_band"], repeaters["rule"])
    repeat_rule = repeat_rule.reindex(columns=["active", "churned"], fill_value=0)
    repeat_bought.insert(0, "rule: churned", repeat_rule["churned"])
    repeat_bought.insert(0, "rule: active", repeat_rule["active"])
    lines += [
        "The same for repeat buyers only (calibration frequency >= 1): one-time buyers have p_alive = 1 by"
        " construction (BG/NBD lets a customer drop out only right after a repeat purchase), and they fill"
        " the top band above.",
        "",
        _markdown_table(repeat_bought.reset_index()),
        "",
    ]
    rule_bought = pd.crosstab(customers["rule"], customers["bought_in_holdout"])
    rule_bought["customers"] = rule_bought.sum(axis=1)
    rule_bought["share bought"] = rule_bought["bought"] / rule_bought["customers"]
    lines += [
        "The inactivity rule against whether the customer bought in the hold-out:",
        "",
        _markdown_table(rule_bought.reset_index()),
    ]
    return HoldoutResult(
        bgnbd, gamma_gamma, customers, predicted_total, unconditional_total, actual_total, "\n".join(lines)
    )


def main(argv: list[str] | None = None) -> HoldoutResult:
    """Print the hold-out report as Markdown; returns what it measured."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    result = run()
    print(result.markdown)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
