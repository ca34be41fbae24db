"""Predictive CLV (lifecycle.clv): the published CDNOW fits, closed forms checked by hand, the hold-out
report (benchmark/clv_holdout.py) and the dbt Python models on the demo data."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import clv_holdout
from dbt_project_runner import read_table, run_dbt
from lifecycle import clv

# Fader, Hardie & Lee (2005), CDNOW sample, calibration 1997-01-01 .. 1997-09-30, weeks.
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
# Fader, Hardie & Lee (2005), "RFM and CLV", the same customers' mean repeat-purchase values.
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}
CDNOW_PARAMS = clv.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return clv_holdout.calibration_summary(clv_holdout.cdnow_transactions())


def test_calibration_summary_matches_the_shipped_one(cdnow: pd.DataFrame) -> None:
    """Our summary of the transaction file equals lifetimes' cdnow_customers_summary.csv (2 decimals)."""
    shipped = pd.read_csv(clv_holdout.lifetimes_data_file("cdnow_customers_summary.csv")).set_index("ID")
    assert len(cdnow) == len(shipped) == 2_357
    ours = cdnow.reindex(shipped.index)
    assert (ours["frequency"] == shipped["frequency"]).all()
    assert np.allclose(ours["recency"], shipped["recency"], atol=0.005 + 1e-9)
    assert np.allclose(ours["T"], shipped["T"], atol=0.005 + 1e-9)
    assert int(ours["frequency"].sum()) == 2_457


def test_bgnbd_reproduces_the_published_cdnow_parameters(cdnow: pd.DataFrame) -> None:
    fit = clv.fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert fit.converged
    assert {name: round(value, 3) for name, value in fit.params._asdict().items()} == PUBLISHED_BGNBD
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.05)  # FHL 2005 report LL = -9582.4


def test_gamma_gamma_reproduces_the_published_cdnow_parameters(cdnow: pd.DataFrame) -> None:
    """From the transactions (mean value of the repeat purchase days) the published p, q, v come out to
    two decimals. lifetimes' shipped summary rounds each mean to cents, which moves v to 15.45: the
    fit on it is asserted too, so a change of data file shows here."""
    repeat = cdnow[cdnow["frequency"] > 0]
    assert len(repeat) == 946
    fit = clv.fit_gamma_gamma(repeat["frequency"], repeat["monetary"])
    assert fit.converged
    assert {name: round(value, 2) for name, value in fit.params._asdict().items()} == PUBLISHED_GAMMA_GAMMA

    shipped = pd.read_csv(clv_holdout.lifetimes_data_file("cdnow_customers_summary_with_transactions.csv"))
    shipped = shipped.set_index("ID")
    assert np.allclose(shipped.loc[repeat.index, "zbar"], repeat["monetary"], atol=0.005 + 1e-9)
    rounded = clv.fit_gamma_gamma(shipped["x"], shipped["zbar"])
    assert [round(value, 2) for value in rounded.params] == [6.25, 3.74, 15.45]


def test_fit_with_weights_equals_the_fit_on_repeated_rows(cdnow: pd.DataFrame) -> None:
    """The warehouse passes its sample's distinct (x, t_x, T) rows with their counts."""
    distinct = cdnow.groupby(["frequency", "recency", "T"]).size().reset_index(name="customers")
    assert len(distinct) < len(cdnow)
    weighted = clv.fit_bgnbd(distinct["frequency"], distinct["recency"], distinct["T"], distinct["customers"])
    each = clv.fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert weighted.converged
    assert np.allclose(weighted.params, each.params, rtol=1e-6)
    assert weighted.log_likelihood == pytest.approx(each.log_likelihood, rel=1e-12)


def test_a_fit_the_data_cannot_pin_down_is_not_converged() -> None:
    """Nobody seems to drop out: a and b run off towards infinity, and the fit says so."""
    fit = clv.fit_bgnbd([0, 1, 3, 0, 2], [0.0, 5.0, 20.0, 0.0, 12.0], [30.0, 25.0, 28.0, 10.0, 40.0])
    assert not fit.converged
    assert not clv.fit_bgnbd([0, 0], [0.0, 0.0], [10.0, 20.0]).converged  # no repeat purchase at all


def test_fit_rejects_inconsistent_inputs() -> None:
    with pytest.raises(ValueError):
        clv.fit_bgnbd([1], [5.0], [4.0])  # recency after T
    with pytest.raises(ValueError):
        clv.fit_bgnbd([], [], [])
    with pytest.raises(ValueError):
        clv.fit_gamma_gamma([0, 0], [1.0, 2.0])


def test_p_alive_is_one_without_a_repeat_purchase() -> None:
    assert np.array_equal(clv.p_alive(CDNOW_PARAMS, [0, 0, 0], [0.0, 0.0, 0.0], [1.0, 38.0, 1e6]), [1, 1, 1])


def _hyp2f1_series(a: float, b: float, c: float, z: float) -> float:
    """Gauss's series, term by term (|z| < 1), independent of scipy."""
    total, term, n = 1.0, 1.0, 0
    while abs(term) > 1e-17 * abs(total):
        term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
        total += term
        n += 1
    return total


def test_one_customer_by_hand() -> None:
    """x = 2, t_x = 30.43, T = 38.86 weeks (CDNOW customer 1), the next 39 weeks, the closed forms of FHL
    2005 (eq. 10 and 13) written out with math and a plain hypergeometric series."""
    r, alpha, a, b = CDNOW_PARAMS
    x, t_x, T, t = 2, 30.43, 38.86, 39.0
    dead_odds = a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    p_alive = 1 / (1 + dead_odds)
    hyper = _hyp2f1_series(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    expected = (
        (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyper) / (1 + dead_odds)
    )
    # By hand: a/(b+x-1) = 0.793/3.426 = 0.231465; (43.274/34.844)^2.243 = 1.241935^2.243 = 1.62578.
    assert p_alive == pytest.approx(1 / (1 + 0.231465 * 1.62578), abs=5e-6)
    assert clv.p_alive(CDNOW_PARAMS, x, t_x, T) == pytest.approx(p_alive, rel=1e-12)
    assert clv.expected_purchases(CDNOW_PARAMS, t, x, t_x, T) == pytest.approx(expected, rel=1e-10)
    assert expected == pytest.approx(1.22603, abs=5e-5)


def test_expected_purchases_stays_finite_for_large_frequencies() -> None:
    """The direct closed form overflows (2F1) and underflows (the power) as x grows; the transformed
    one agrees with it where both work and stays finite and sensible far beyond."""
    r, alpha, a, b = CDNOW_PARAMS
    T, t = 38.0, 52.0
    for x in (5, 30, 60, 300):  # x = 300: 2F1 ~ 1e100 and the power ~ 1e-100, still within a double
        hyper = _hyp2f1_series(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        direct = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyper)
        direct /= 1 + a / (b + x - 1) * ((alpha + T) / (alpha + T)) ** (r + x)
        assert clv.expected_purchases(CDNOW_PARAMS, t, x, T, T) == pytest.approx(direct, rel=1e-8)
    x = np.array([100.0, 1_000.0, 10_000.0, 100_000.0])
    expected = clv.expected_purchases(CDNOW_PARAMS, t, x, np.full(4, T), np.full(4, T))
    assert np.all(np.isfinite(expected))
    # Someone who bought x times, the last time on T, is alive; their pace grows like x and so does
    # their chance to drop out after each purchase: expected purchases settle at a fixed multiple of x,
    # below the pace x t / (alpha + T) of a customer who never drops out.
    per_purchase = expected / x
    assert np.allclose(per_purchase, per_purchase[-1], rtol=0.01)
    assert np.all(per_purchase < t / (alpha + T))
    assert np.all(np.isfinite(clv.p_alive(CDNOW_PARAMS, x, np.zeros(4) + 1.0, np.full(4, T))))


def test_expected_average_value() -> None:
    gg = clv.GammaGammaParams(p=6.25, q=3.74, v=15.44)
    population_mean = 6.25 * 15.44 / 2.74
    values = clv.expected_average_value(gg, [0, 1, 10], [np.nan, 20.0, 20.0])
    assert values[0] == pytest.approx(population_mean)
    assert values[1] == pytest.approx((15.44 + 20.0) * 6.25 / (6.25 + 2.74))
    # More purchases pull the expectation towards the customer's own mean.
    assert abs(values[2] - 20.0) < abs(values[1] - 20.0)
    assert np.isnan(clv.expected_average_value(clv.GammaGammaParams(1.0, 0.9, 1.0), [1], [5.0])).all()


def test_discounted_clv_without_discount_is_the_undiscounted_sum() -> None:
    gg = clv.GammaGammaParams(p=6.25, q=3.74, v=15.44)
    x = np.array([0, 2, 7, 2])
    t_x = np.array([0.0, 30.43, 35.0, 10.0])
    T = np.array([38.86, 38.86, 38.86, 38.86])
    monetary = np.array([np.nan, 22.35, 40.0, 22.35])
    horizon, margin = 12, 0.3
    months_in_weeks = horizon * clv.DAYS_PER_MONTH / 7
    value = clv.expected_average_value(gg, x, monetary)
    undiscounted = clv.expected_purchases(CDNOW_PARAMS, months_in_weeks, x, t_x, T) * value * margin
    flat = clv.discounted_clv(CDNOW_PARAMS, gg, x, t_x, T, monetary, horizon, 0.0, margin, 7.0)
    assert np.allclose(flat, undiscounted, rtol=1e-10)

    # With a discount rate, month k's purchases are divided by (1 + d)^k.
    d = 0.01
    cumulative = [
        clv.expected_purchases(CDNOW_PARAMS, k * clv.DAYS_PER_MONTH / 7, x, t_x, T)
        for k in range(horizon + 1)
    ]
    by_month = sum((cumulative[k] - cumulative[k - 1]) / (1 + d) ** k for k in range(1, horizon + 1))
    discounted = clv.discounted_clv(CDNOW_PARAMS, gg, x, t_x, T, monetary, horizon, d, margin, 7.0)
    assert np.allclose(discounted, by_month * value * margin, rtol=1e-10)
    assert np.all(discounted < flat)

    # The same customers in days (period_days = 1, alpha in days) give the same CLV.
    in_days = CDNOW_PARAMS._replace(alpha=CDNOW_PARAMS.alpha * 7)
    days = clv.discounted_clv(in_days, gg, x, t_x * 7, T * 7, monetary, horizon, d, margin, 1.0)
    assert np.allclose(days, discounted, rtol=1e-9)
    assert np.array_equal(
        clv.discounted_clv(CDNOW_PARAMS, gg, x, t_x, T, monetary, 0, d, margin, 7.0), [0] * 4
    )


def test_fit_sample_is_chosen_by_the_ids_alone() -> None:
    ids = [f"cus_{i:07d}" for i in range(2_000)]
    chosen = clv.choose_fit_sample(ids, 300)
    assert chosen.sum() == 300
    # Row order does not matter, and DuckDB picks the same customers with md5().
    shuffled = list(reversed(ids))
    assert {i for i, c in zip(shuffled, clv.choose_fit_sample(shuffled, 300), strict=True) if c} == {
        i for i, c in zip(ids, chosen, strict=True) if c
    }
    in_sql = duckdb.sql(
        "select customer_id from (select unnest($ids) as customer_id)"
        " order by md5(customer_id), customer_id limit 300",
        params={"ids": ids},
    ).fetchall()
    assert {row[0] for row in in_sql} == {i for i, c in zip(ids, chosen, strict=True) if c}
    assert clv.choose_fit_sample(ids[:10], 300).all()
    assert clv.sample_key("kunde-ü") == duckdb.sql("select md5('kunde-ü')").fetchone()[0]


def test_holdout_report() -> None:
    """The classic hold-out check. FHL's BG/NBD under-forecasts CDNOW's 39-week hold-out: 1,653 repeat
    purchases expected against 1,882 made (-12%; the unconditional forecast from the ages alone is
    1,667), so the 5% we had hoped for does not hold and the measured numbers are asserted instead,
    with the error bounded at 15%."""
    result = clv_holdout.main([])
    assert result.actual_total == 1_882
    assert result.predicted_total == pytest.approx(1_653.4, abs=0.5)
    assert result.unconditional_total == pytest.approx(1_666.7, abs=0.5)
    assert abs(result.predicted_total / result.actual_total - 1) < 0.15
    assert "| 7+ |" in result.markdown and "p_alive" in result.markdown


def test_python_models_on_the_demo_data(demo_build: Path, tmp_path: Path) -> None:
    """The dbt Python models: one fit row, one prediction per customer with a purchase, the types the
    docs give; rebuilt with a small sample and a zero horizon, the fit equals lifecycle.clv's on the
    customers choose_fit_sample picks."""
    fit = read_table(demo_build, "intermediate.int_clv_model_fit")
    predicted = read_table(demo_build, "intermediate.int_customer_clv_predicted")
    assert len(fit) == 1 and bool(fit["bgnbd_converged"][0]) and bool(fit["gamma_gamma_converged"][0])
    assert int(fit["customers_scored"][0]) == int(fit["customers_in_sample"][0]) == len(predicted) == 2_923
    with duckdb.connect(str(demo_build / "warehouse.duckdb"), read_only=True) as con:
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = 'int_customer_clv_predicted'"
            ).fetchall()
        )
    assert types == {
        "customer_id": "VARCHAR",
        "p_alive": "DOUBLE",
        "expected_purchases": "DOUBLE",
        "expected_average_order_value": "DOUBLE",
        "predicted_clv": "DOUBLE",
    }
    assert predicted[["p_alive", "expected_purchases", "predicted_clv"]].notna().all().all()
    assert predicted["p_alive"].between(0, 1).all() and (predicted["predicted_clv"] >= 0).all()

    shutil.copy(demo_build / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    run_dbt(
        ["run", "-s", "int_clv_model_fit", "int_customer_clv_predicted"],
        tmp_path,
        vars={"clv_fit_sample_customers": 500, "clv_horizon_months": 0},
    )
    small = read_table(tmp_path, "intermediate.int_clv_model_fit").iloc[0]
    assert int(small["customers_in_sample"]) == 500
    zero = read_table(tmp_path, "intermediate.int_customer_clv_predicted")
    assert (zero["expected_purchases"] == 0).all() and (zero["predicted_clv"] == 0).all()

    customers = read_table(demo_build, "intermediate.int_customers_unioned")
    customers = customers[customers["purchase_count"] >= 1]
    sample = customers[clv.choose_fit_sample(customers["customer_id"], 500)]
    as_of = pd.Timestamp(small["as_of_date"])
    first = pd.to_datetime(sample["first_purchase_date"])
    recency = (pd.to_datetime(sample["last_purchase_date"]) - first).dt.days / 7
    expected = clv.fit_bgnbd(sample["purchase_count"] - 1, recency, (as_of - first).dt.days / 7)
    assert np.allclose([small[name] for name in ("r", "alpha", "a", "b")], expected.params, rtol=1e-6)
    assert math.isclose(small["bgnbd_log_likelihood"], expected.log_likelihood, rel_tol=1e-9)
