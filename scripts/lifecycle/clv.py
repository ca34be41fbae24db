"""Predictive customer lifetime value: BG/NBD for purchase counts, Gamma-Gamma for spend.

Our own maximum-likelihood fit on numpy and scipy (docs/predictive-clv.md says why not pymc-marketing
or lifetimes):

* BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive, a customer
  buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after each purchase they drop out with
  probability p ~ Beta(a, b).
* Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves"): the values of one
  customer's purchases are Gamma(p, nu) with nu ~ Gamma(q, v) across customers, independent of the
  purchase process. Only repeat purchases enter (the first one is often unlike the rest).

Inputs per customer, as arrays of equal length:

* ``frequency`` x: the number of repeat purchases (purchases after the first one);
* ``recency`` t_x: the time from the first purchase to the last one (0 when x = 0);
* ``T``: the time from the first purchase to the end of the observation (the as-of date);
* ``monetary``: the mean value of the repeat purchases (only read where x > 0).

Time has one unit throughout, whatever the caller picks: recency, T, the ``t`` of
:func:`expected_purchases` and the fitted alpha are all in it (alpha is a rate parameter, so it scales
with the unit; r, a and b do not). The warehouse counts days and fits in weeks (days / 7); the published
CDNOW figures are in weeks too. :func:`discounted_clv` converts calendar months into that unit with
``period_days``, the length of one unit in days (7 for weeks), and a month of 365.25 / 12 days.

Every function takes and returns numpy arrays and works on all customers at once: 6 million customers
are scored in a couple of seconds. The hypergeometric term of the conditional expectation depends only
on (x, T, t), so it is evaluated once per distinct (x, T) pair and spread back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

#: Days in the average calendar month, the step of :func:`discounted_clv`.
DAYS_PER_MONTH = 365.25 / 12

#: Log-parameters are kept within +-LOG_BOUND while fitting (e^30 ~ 1e13): wide enough for any data in a
#: sensible time unit, narrow enough that no term overflows. A parameter on the bound means the data did
#: not pin it down (for example b -> infinity when nobody seems to drop out); the fit then reports
#: ``converged = False``.
LOG_BOUND = 30.0

#: A fit counts as converged when every component of the gradient of the mean log-likelihood with
#: respect to the log-parameters is at most this (or the optimiser itself reports convergence).
GRADIENT_TOLERANCE = 1e-6

#: Largest number of (x, T) codes that :func:`_distinct_pairs` counts with a table rather than a sort.
DENSE_PAIR_CODES = 1 << 24


class BgNbdParams(NamedTuple):
    """BG/NBD parameters: purchase rate ~ Gamma(shape r, rate alpha), dropout ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


class GammaGammaParams(NamedTuple):
    """Gamma-Gamma parameters: value of a purchase ~ Gamma(p, nu), nu ~ Gamma(shape q, rate v)."""

    p: float
    q: float
    v: float


class FitResult(NamedTuple):
    """What a fit returns: the parameters, whether the optimiser converged, and the log-likelihood."""

    params: BgNbdParams | GammaGammaParams
    converged: bool
    log_likelihood: float
    iterations: int


class CustomerScores(NamedTuple):
    """Per-customer predictions of :func:`score_customers` (arrays of the input length)."""

    p_alive: FloatArray
    expected_purchases: FloatArray
    expected_average_value: FloatArray
    predicted_clv: FloatArray


def _as_float(values: ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def _check_same_length(*arrays: FloatArray) -> None:
    if len({array.shape for array in arrays}) != 1:
        raise ValueError(f"inputs must have the same shape, got {[array.shape for array in arrays]}")


# ------------------------------------------------------------------------------------------ BG/NBD fit


def _bgnbd_negative_log_likelihood(
    log_params: FloatArray,
    x_values: FloatArray,
    x_index: npt.NDArray[np.intp],
    t_x: FloatArray,
    T: FloatArray,
    weights: FloatArray,
) -> tuple[float, FloatArray]:
    """Mean negative BG/NBD log-likelihood and its gradient with respect to the log-parameters.

    Per customer (FHL 2005, eq. 6, in logs):

        ln L = lnG(r+x) - lnG(r) + r ln(alpha) + ln(e^u1 + [x>0] e^u2)
        u1 = lnB(a, b+x) - lnB(a, b) - (r+x) ln(alpha+T)
        u2 = lnB(a+1, b+x-1) - lnB(a, b) - (r+x) ln(alpha+t_x)

    The two terms are added with logaddexp, so no power of (alpha+T) is ever formed. Every gamma,
    beta and digamma term depends on x alone: they are evaluated once per distinct x (``x_values``)
    and picked per customer with ``x_index``, which makes an evaluation several times faster.
    """
    r, alpha, a, b = np.exp(log_params)
    # Per distinct x.
    repeat_v = x_values > 0
    x_minus_1_v = np.where(repeat_v, x_values - 1.0, 0.0)  # any value where x = 0: that term is masked
    lbeta_ab = betaln(a, b)
    psi_ab = digamma(a + b)
    psi_abx_v = digamma(a + b + x_values)
    beta1_v = betaln(a, b + x_values) - lbeta_ab
    beta2_v = np.where(repeat_v, betaln(a + 1.0, b + x_minus_1_v) - lbeta_ab, -np.inf)
    gamma_v = gammaln(r + x_values) - gammaln(r) + r * np.log(alpha)
    d_r_v = digamma(r + x_values) - digamma(r) + np.log(alpha)
    d_a1_v = psi_ab - psi_abx_v
    d_a2_v = 1.0 / a + psi_ab - psi_abx_v
    d_b1_v = digamma(b + x_values) - psi_abx_v - digamma(b) + psi_ab
    d_b2_v = digamma(b + x_minus_1_v) - psi_abx_v - digamma(b) + psi_ab

    # Per customer (or distinct row).
    r_x = r + x_values[x_index]
    log_alpha_T = np.log(alpha + T)
    log_alpha_tx = np.log(alpha + t_x)
    u1 = beta1_v[x_index] - r_x * log_alpha_T
    u2 = beta2_v[x_index] - r_x * log_alpha_tx
    # log(e^u1 + e^u2) with the larger term factored out (u2 = -inf when x = 0 gives e^-inf = 0).
    top = np.maximum(u1, u2)
    e1 = np.exp(u1 - top)
    e2 = np.exp(u2 - top)
    total_e = e1 + e2
    log_likelihood = gamma_v[x_index] + top + np.log(total_e)
    w1 = e1 / total_e  # share of the "still alive at T" term
    w2 = e2 / total_e  # share of the "dropped out after the last purchase" term (0 when x = 0)

    d_r = d_r_v[x_index] - w1 * log_alpha_T - w2 * log_alpha_tx
    d_alpha = r / alpha - r_x * (w1 / (alpha + T) + w2 / (alpha + t_x))
    d_a = w1 * d_a1_v[x_index] + w2 * d_a2_v[x_index]
    d_b = w1 * d_b1_v[x_index] + w2 * d_b2_v[x_index]

    # Sums as (w * d).sum(), not BLAS dot products: on a busy machine OpenBLAS's threads made those
    # several times slower than the rest of an evaluation.
    total = weights.sum()
    value = -float((weights * log_likelihood).sum()) / total
    gradient = -np.array([(weights * d).sum() for d in (d_r, d_alpha, d_a, d_b)]) / total
    return value, gradient * np.array([r, alpha, a, b])  # chain rule: d/d(ln theta) = theta d/d(theta)


def _minimize(objective: Callable, start: FloatArray, args: tuple) -> tuple[FloatArray, bool, float, int]:
    """L-BFGS-B on log-parameters within +-LOG_BOUND; returns (optimum, converged, value, iterations)."""
    result = minimize(
        objective,
        start,
        args=args,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-LOG_BOUND, LOG_BOUND)] * len(start),
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
    )
    # At full precision L-BFGS-B can stop on a failed line search ("ABNORMAL") although it is at the
    # optimum: the gradient of the mean log-likelihood decides, not only the optimiser's flag.
    stationary = bool(result.success) or float(np.max(np.abs(result.jac))) <= GRADIENT_TOLERANCE
    on_bound = bool(np.any(np.abs(result.x) >= LOG_BOUND - 1e-6))
    return result.x, stationary and not on_bound, float(result.fun), int(result.nit)


def fit_bgnbd(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None
) -> FitResult:
    """Maximum-likelihood BG/NBD parameters.

    Args:
        frequency: repeat purchases x per customer (whole numbers >= 0).
        recency: t_x, time of the last purchase after the first one, in the caller's time unit.
        T: time from the first purchase to the end of the observation, same unit (T >= t_x).
        weights: optional count of customers per row, so that identical (x, t_x, T) rows can be
            passed once (the warehouse groups its sample this way). Default 1 per row.

    Returns:
        A :class:`FitResult` whose ``params`` is a :class:`BgNbdParams`, ``log_likelihood`` the
        total (weighted) log-likelihood at the optimum. ``converged`` is False when the optimiser
        did not reach a stationary point, a parameter ran to its bound, or no customer has a repeat
        purchase.

    The optimiser is L-BFGS-B on the log-parameters with the analytic gradient, started from the
    same point every time (r = a = b = 1, alpha = the mean of T), so equal data give equal numbers.
    """
    x, t_x, age = _as_float(frequency), _as_float(recency), _as_float(T)
    _check_same_length(x, t_x, age)
    w = np.ones_like(x) if weights is None else _as_float(weights)
    _check_same_length(x, w)
    if x.size == 0 or w.sum() <= 0:
        raise ValueError("fit_bgnbd needs at least one customer")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > age) or np.any(~np.isfinite(age)):
        raise ValueError("fit_bgnbd needs frequency >= 0 and 0 <= recency <= T")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("fit_bgnbd needs recency 0 where frequency is 0")
    mean_T = float(np.average(age, weights=w))
    start = np.log([1.0, max(mean_T, 1e-6), 1.0, 1.0])
    log_params, converged, value, iterations = _minimize(
        _bgnbd_negative_log_likelihood, start, (*np.unique(x, return_inverse=True), t_x, age, w)
    )
    params = BgNbdParams(*(float(v) for v in np.exp(log_params)))
    # Without a repeat purchase nothing is known about drop-out (a and b stay where they started) and
    # the purchase rate runs off to r -> 0, alpha -> infinity: no fit, whatever the gradient says.
    converged = converged and bool(np.any((x > 0) & (w > 0)))
    return FitResult(params, converged, -value * float(w.sum()), iterations)


# -------------------------------------------------------------------------------- BG/NBD predictions


def _bgnbd_arrays(params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike):
    x, t_x, age = np.broadcast_arrays(_as_float(frequency), _as_float(recency), _as_float(T))
    return params.r, params.alpha, params.a, params.b, x, t_x, age


def p_alive(params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
    """P(customer still alive at T | x, t_x, T) (FHL 2005, eq. 13 of the technical note).

        P = 1 / (1 + [x>0] a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x))

    evaluated as expit(-log of the second term), so a large x cannot overflow. Always 1 when x = 0:
    the model lets a customer drop out only right after a repeat purchase.
    """
    r, alpha, a, b, x, t_x, age = _bgnbd_arrays(params, frequency, recency, T)
    repeat = x > 0
    x_minus_1 = np.where(repeat, x - 1.0, 0.0)
    log_odds_dead = np.log(a) - np.log(b + x_minus_1) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
    return np.where(repeat, expit(-log_odds_dead), 1.0)


def _purchases_if_alive(params: BgNbdParams, x: FloatArray, age: FloatArray, t: FloatArray) -> FloatArray:
    """E[purchases in (T, T+t] | x, T] / P(alive): the part of the conditional expectation that does
    not depend on t_x (FHL 2005, eq. 10):

        (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)],
        z = t/(alpha+T+t).

    For large x the power underflows while 2F1 overflows. Euler's transformation
    2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z), with 1-z = (alpha+T)/(alpha+T+t), turns the
    product into ((alpha+T)/(alpha+T+t))^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose terms stay small
    for every x (only the third argument grows, which makes the series converge faster).
    """
    r, alpha, a, b = params
    if abs(a - 1.0) < 1e-7:  # removable singularity at a = 1: step off it (relative change 1e-7)
        a = 1.0 + 1e-7 if a >= 1.0 else 1.0 - 1e-7
    alpha_T = alpha + age
    z = t / (alpha_T + t)
    log_ratio = np.log(alpha_T) - np.log(alpha_T + t)
    hyper = hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
    return (a + b + x - 1.0) / (a - 1.0) * (1.0 - np.exp((a - 1.0) * log_ratio) * hyper)


def expected_purchases(
    params: BgNbdParams, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Expected purchases in the next ``t`` time units, given (x, t_x, T) (FHL 2005, eq. 10).

    ``t`` may be a scalar or an array broadcastable against the customers. Equals
    p_alive * (the expectation for a customer known to be alive), both computed in logs.
    """
    r, alpha, a, b, x, t_x, age = _bgnbd_arrays(params, frequency, recency, T)
    horizon = np.broadcast_to(_as_float(t), x.shape)
    return p_alive(params, x, t_x, age) * _purchases_if_alive(params, x, age, horizon)


def unconditional_expected_purchases(params: BgNbdParams, t: ArrayLike) -> FloatArray:
    """E[X(t)] for a customer observed from their first purchase on (FHL 2005, eq. 9)."""
    r, alpha, a, b = params
    t = _as_float(t)
    ratio = alpha / (alpha + t)
    return (a + b - 1.0) / (a - 1.0) * (1.0 - ratio**r * hyp2f1(r, b, a + b - 1.0, t / (alpha + t)))


# ------------------------------------------------------------------------------------- Gamma-Gamma


def _gamma_gamma_negative_log_likelihood(
    log_params: FloatArray,
    x_values: FloatArray,
    x_counts: FloatArray,
    x: FloatArray,
    m: FloatArray,
    p_coefficient: float,
    offset: float,
) -> tuple[float, FloatArray]:
    """Mean negative Gamma-Gamma log-likelihood of the mean spends and its gradient (log-parameters).

    With m the mean of x purchase values, m | nu ~ Gamma(p x, nu x) and nu ~ Gamma(q, v), so

        ln f(m) = lnG(px+q) - lnG(px) - lnG(q) + q ln v + px ln x + (px-1) ln m - (px+q) ln(v + x m).

    The gamma and digamma terms are evaluated once per distinct x (``x_values``, with ``x_counts``
    customers each); the terms that do not involve the parameters are precomputed: ``p_coefficient``
    is the mean of x (ln x + ln m), ``offset`` the mean of -ln m.
    """
    p, q, v = np.exp(log_params)
    n = x_counts.sum()
    px_v = p * x_values
    psi_v = digamma(px_v + q)
    log_v_xm = np.log(v + x * m)
    mean_log_f = (
        x_counts @ (gammaln(px_v + q) - gammaln(px_v)) / n
        - gammaln(q)
        + q * np.log(v)
        + p * p_coefficient
        + offset
        - float(((p * x + q) * log_v_xm).sum()) / n
    )
    d_p = (
        x_counts @ (x_values * (psi_v - digamma(px_v))) / n + p_coefficient - float((x * log_v_xm).sum()) / n
    )
    d_q = x_counts @ psi_v / n - digamma(q) + np.log(v) - log_v_xm.sum() / n
    d_v = q / v - ((p * x + q) / (v + x * m)).sum() / n
    return -float(mean_log_f), -np.array([d_p, d_q, d_v]) * np.array([p, q, v])


def fit_gamma_gamma(frequency: ArrayLike, monetary: ArrayLike) -> FitResult:
    """Maximum-likelihood Gamma-Gamma parameters from repeat buyers' mean repeat-purchase values.

    Only customers with frequency > 0 and monetary > 0 enter (the others carry no spend information,
    and the gamma density has no mass at 0). Started from the same point every time (p = 1, q = 2,
    v = the mean of the values), then L-BFGS-B on the log-parameters with the analytic gradient.
    Returns a :class:`FitResult` whose ``params`` is a :class:`GammaGammaParams`.
    """
    x, m = _as_float(frequency), _as_float(monetary)
    _check_same_length(x, m)
    keep = (x > 0) & np.isfinite(m) & (m > 0)
    x, m = x[keep], m[keep]
    if x.size == 0:
        raise ValueError("fit_gamma_gamma needs at least one customer with frequency > 0 and monetary > 0")
    start = np.log([1.0, 2.0, float(m.mean())])
    x_values, x_counts = np.unique(x, return_counts=True)
    log_m = np.log(m)
    constants = (float(np.mean(x * (np.log(x) + log_m))), -float(np.mean(log_m)))
    log_params, converged, value, iterations = _minimize(
        _gamma_gamma_negative_log_likelihood, start, (x_values, x_counts.astype(np.float64), x, m, *constants)
    )
    params = GammaGammaParams(*(float(v) for v in np.exp(log_params)))
    return FitResult(params, converged, -value * x.size, iterations)


def expected_average_value(params: GammaGammaParams, frequency: ArrayLike, monetary: ArrayLike) -> FloatArray:
    """E[value of a future purchase | x, m] (FHL 2005, "RFM and CLV", eq. 5):

        (v + x m) p / (p x + q - 1)
        = (q-1)/(px+q-1) * p v/(q-1) + px/(px+q-1) * m,

    a weighted mean of the population mean p v/(q-1) and the customer's own mean m. Customers with
    x = 0 (or no usable m) get the population mean; negative m counts as 0. NaN everywhere when
    q <= 1 (the population mean is infinite).
    """
    p, q, v = params
    x, m = np.broadcast_arrays(_as_float(frequency), _as_float(monetary))
    if q <= 1.0:
        return np.full(x.shape, np.nan)
    population_mean = p * v / (q - 1.0)
    own = (x > 0) & np.isfinite(m)
    x_own = np.where(own, x, 0.0)
    m_own = np.where(own, np.maximum(m, 0.0), 0.0)
    conditional = (v + x_own * m_own) * p / (p * x_own + q - 1.0)
    return np.where(own, conditional, population_mean)


# ---------------------------------------------------------------------------------------------- CLV


def _distinct_pairs(x: FloatArray, age: FloatArray) -> tuple[FloatArray, FloatArray, npt.NDArray[np.intp]]:
    """The distinct (x, T) pairs and, per customer, the index of theirs.

    Each column's distinct values are few (whole purchase counts, whole days), so each customer's pair
    gets a code x_index * n_T + T_index; when all codes fit a table of DENSE_PAIR_CODES entries, the
    pairs present are found with that table in linear time instead of a sort of all customers.
    """
    x_values, age_values = np.unique(x), np.unique(age)
    codes = np.searchsorted(x_values, x).astype(np.int64) * age_values.size + np.searchsorted(age_values, age)
    if x_values.size * age_values.size <= DENSE_PAIR_CODES:
        present = np.zeros(x_values.size * age_values.size, dtype=bool)
        present[codes] = True
        pair_codes = np.flatnonzero(present)
        inverse = (np.cumsum(present) - 1)[codes]
    else:
        pair_codes, inverse = np.unique(codes, return_inverse=True)
    return x_values[pair_codes // age_values.size], age_values[pair_codes % age_values.size], inverse


def score_customers(
    bg: BgNbdParams,
    gg: GammaGammaParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary: ArrayLike,
    horizon_months: int,
    monthly_discount_rate: float,
    gross_margin: float,
    period_days: float,
) -> CustomerScores:
    """p_alive, expected purchases over the horizon, expected purchase value and discounted CLV.

    frequency, recency and T are in the time unit the BG/NBD parameters were fitted in, which is
    ``period_days`` days long (7 for weeks). Month k of the horizon ends k * 365.25/12 days after T.

        CLV = gross_margin * E[value] * sum_{k=1..H} (E[N(0, k)] - E[N(0, k-1)]) / (1 + d)^k

    where E[N(0, k)] is the conditional expectation of purchases in the first k months after T. A
    month's purchases are discounted at its end, as in FHL's "RFM and CLV" discrete approximation.
    """
    if horizon_months < 0:
        raise ValueError("horizon_months must be >= 0")
    if period_days <= 0:
        raise ValueError("period_days must be > 0")
    if monthly_discount_rate <= -1:
        raise ValueError("monthly_discount_rate must be > -1")
    r, alpha, a, b, x, t_x, age = _bgnbd_arrays(bg, frequency, recency, T)
    alive = p_alive(bg, x, t_x, age)
    value = expected_average_value(gg, x, monetary)
    if x.size == 0 or horizon_months == 0:
        zeros = np.zeros(x.shape)
        return CustomerScores(alive, zeros, value, zeros * value)

    pair_x, pair_age, inverse = _distinct_pairs(x.ravel(), age.ravel())
    month = DAYS_PER_MONTH / period_days
    months = np.arange(1, horizon_months + 1, dtype=np.float64)
    # Cumulative expected purchases (if alive) at the end of each month, one row per distinct pair.
    cumulative = _purchases_if_alive(bg, pair_x[:, None], pair_age[:, None], months[None, :] * month)
    per_month = np.diff(cumulative, axis=1, prepend=0.0)
    discount = (1.0 + monthly_discount_rate) ** -months
    discounted = per_month @ discount
    purchases = (alive.ravel() * cumulative[inverse, -1]).reshape(x.shape)
    clv = (alive.ravel() * discounted[inverse]).reshape(x.shape) * value * gross_margin
    return CustomerScores(alive, purchases, value, clv)


def discounted_clv(
    bg: BgNbdParams,
    gg: GammaGammaParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary: ArrayLike,
    horizon_months: int,
    monthly_discount_rate: float,
    gross_margin: float,
    period_days: float,
) -> FloatArray:
    """Discounted CLV over ``horizon_months`` months, per customer (see :func:`score_customers`)."""
    return score_customers(
        bg, gg, frequency, recency, T, monetary, horizon_months, monthly_discount_rate, gross_margin,
        period_days,
    ).predicted_clv  # fmt: skip


# ----------------------------------------------------------------------------------------- sampling


def sample_key(customer_id: str) -> str:
    """The stable sort key of a customer for the fit sample: the MD5 hex digest of the UTF-8 id.

    MD5 is used only as a fixed, well-spread function (no security role): the same id gets the same key
    on every machine, Python version and run, and DuckDB computes the same text with ``md5(customer_id)``,
    so the warehouse can pick the sample in SQL.
    """
    return hashlib.md5(customer_id.encode("utf-8"), usedforsecurity=False).hexdigest()


def choose_fit_sample(customer_ids: Iterable[str], max_customers: int) -> npt.NDArray[np.bool_]:
    """A deterministic sample: True for the ``max_customers`` customers with the smallest keys.

    Keys are :func:`sample_key` (ties, which only equal ids can have, broken by the id), so the choice
    depends on the ids alone, not on row order or a random state, and equals the SQL
    ``order by md5(customer_id), customer_id limit max_customers``. Growing the data keeps most of an
    earlier sample (a bottom-k sample of a hash). Everyone is chosen when there are at most
    ``max_customers``.
    """
    ids = list(customer_ids)
    chosen = np.zeros(len(ids), dtype=bool)
    if max_customers <= 0:
        return chosen
    if len(ids) <= max_customers:
        chosen[:] = True
        return chosen
    order = sorted(range(len(ids)), key=lambda i: (sample_key(ids[i]), ids[i]))
    chosen[order[:max_customers]] = True
    return chosen
