"""One row per customer with a purchase: p_alive, expected purchases, expected purchase value and the
discounted CLV over the next var clv_horizon_months months, from the parameters in int_clv_model_fit.

A dbt Python model, run by dbt-duckdb inside the dbt process (enabled on DuckDB only, see
_int_clv__models.yml). frequency, recency and T are built as in int_clv_model_fit (weeks as of
as_of_date, purchase_count - 1 repeat purchases); lifecycle.clv.score_customers scores everyone at once.
Predictions are null where the fit has no parameters (no customer with a purchase, or for the value and
CLV, no repeat buyer to fit Gamma-Gamma on).
"""

import numpy as np
import pyarrow as pa

from lifecycle import clv

CUSTOMERS_SQL = """
select
    customer_id,
    purchase_count - 1 as frequency,
    last_purchase_date - first_purchase_date as recency_days,
    date '{as_of_date}' - first_purchase_date as age_days,
    coalesce(
        case
            when purchase_count > 1
                then cast(gross_revenue - coalesce(first_purchase_amount, 0) as double) / (purchase_count - 1)
        end,
        'nan'::double
    ) as monetary
from customers
where purchase_count >= 1 and first_purchase_date is not null
"""

SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("p_alive", pa.float64()),
        ("expected_purchases", pa.float64()),
        ("expected_average_order_value", pa.float64()),
        ("predicted_clv", pa.float64()),
    ]
)


def _number(name, value, minimum=None, whole=False):
    number = float(value)
    if (
        not np.isfinite(number)
        or (whole and not number.is_integer())
        or (minimum is not None and number < minimum)
    ):
        kind = "a whole number" if whole else "a number"
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"var {name} must be {kind}{bound}, got {value!r}")
    return number


def _nullable(values):
    """A float64 column with NaN (undefined: no fitted parameters) as null."""
    return pa.array(values, type=pa.float64(), from_pandas=True)


def model(dbt, session):
    dbt.config(materialized="table")
    horizon_months = int(_number("clv_horizon_months", dbt.config.get("clv_horizon_months"), 0, whole=True))
    discount_rate = _number("clv_monthly_discount_rate", dbt.config.get("clv_monthly_discount_rate"))
    if discount_rate <= -1:
        raise ValueError(f"var clv_monthly_discount_rate must be > -1, got {discount_rate!r}")
    gross_margin = _number("gross_margin", dbt.config.get("gross_margin"))

    fit = dbt.ref("int_clv_model_fit").fetchnumpy()
    fit = {name: (values[0] if len(values) else None) for name, values in fit.items()}
    if fit.get("as_of_date") is None or np.ma.is_masked(fit["as_of_date"]):
        return pa.Table.from_pylist([], schema=SCHEMA)
    as_of_date = np.datetime_as_string(np.datetime64(fit["as_of_date"], "D"))

    def parameter(name):
        value = fit[name]
        return np.nan if value is None or np.ma.is_masked(value) else float(value)

    customers = (
        dbt.ref("int_customers_unioned")
        .query("customers", CUSTOMERS_SQL.format(as_of_date=as_of_date))
        .to_arrow_table()
    )
    unit_days = float(fit["time_unit_days"])
    frequency = customers["frequency"].to_numpy().astype(np.float64)
    recency = customers["recency_days"].to_numpy() / unit_days
    age = customers["age_days"].to_numpy() / unit_days
    monetary = customers["monetary"].to_numpy()

    bg = clv.BgNbdParams(*(parameter(name) for name in ("r", "alpha", "a", "b")))
    gg = clv.GammaGammaParams(*(parameter(name) for name in ("p", "q", "v")))
    if np.isnan(bg).any():
        nulls = np.full(len(frequency), np.nan)
        scores = clv.CustomerScores(nulls, nulls, nulls, nulls)
    else:
        scores = clv.score_customers(
            bg, gg, frequency, recency, age, monetary, horizon_months, discount_rate, gross_margin, unit_days
        )

    return pa.table(
        [
            customers["customer_id"],
            _nullable(scores.p_alive),
            _nullable(scores.expected_purchases),
            _nullable(scores.expected_average_value),
            _nullable(scores.predicted_clv),
        ],
        schema=SCHEMA,
    )
