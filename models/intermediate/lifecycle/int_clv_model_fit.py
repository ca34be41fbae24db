"""One row: the BG/NBD and Gamma-Gamma parameters fitted on the customers with a purchase.

A dbt Python model, run by dbt-duckdb inside the dbt process (enabled on DuckDB only, see
_int_clv__models.yml). The maths is lifecycle.clv (scripts/lifecycle/clv.py); docs/predictive-clv.md
explains the model, the units and the sample.

Per customer with purchase_count >= 1, as of as_of_date, in weeks (days / 7):
  frequency x = purchase_count - 1, the repeat purchases. The warehouse keeps purchase counts, not
      purchase days, so two purchases on one day count twice (FHL count distinct days);
  recency t_x = last_purchase_date - first_purchase_date; T = as_of_date - first_purchase_date;
  monetary = (gross_revenue - first_purchase_amount) / (purchase_count - 1), the mean value of the
      repeat purchases (Gamma-Gamma leaves out the first purchase), for x > 0.

The fit uses at most var clv_fit_sample_customers customers: those with the smallest md5(customer_id)
(lifecycle.clv.choose_fit_sample), so the sample depends on the ids alone. BG/NBD is fitted on the
sample's distinct (x, t_x, T) rows weighted by their counts; Gamma-Gamma on the sample's repeat buyers
with a positive repeat value. int_customer_clv_predicted scores every customer with these parameters.
"""

import numpy as np
import pyarrow as pa

from lifecycle import clv

WEEK_DAYS = 7

SAMPLE_SQL = """
select
    purchase_count - 1 as frequency,
    last_purchase_date - first_purchase_date as recency_days,
    date '{as_of_date}' - first_purchase_date as age_days,
    case
        when purchase_count > 1
            then cast(gross_revenue - coalesce(first_purchase_amount, 0) as double) / (purchase_count - 1)
    end as monetary
from customers
where purchase_count >= 1 and first_purchase_date is not null
order by md5(customer_id), customer_id
limit {limit}
"""

COUNT_SQL = """
select count(*) from customers where purchase_count >= 1 and first_purchase_date is not null
"""

SCHEMA = pa.schema(
    [
        ("as_of_date", pa.date32()),
        ("r", pa.float64()),
        ("alpha", pa.float64()),
        ("a", pa.float64()),
        ("b", pa.float64()),
        ("p", pa.float64()),
        ("q", pa.float64()),
        ("v", pa.float64()),
        ("time_unit_days", pa.int32()),
        ("customers_scored", pa.int64()),
        ("customers_in_sample", pa.int64()),
        ("customers_fitted", pa.int64()),
        ("bgnbd_converged", pa.bool_()),
        ("gamma_gamma_converged", pa.bool_()),
        ("bgnbd_log_likelihood", pa.float64()),
        ("gamma_gamma_log_likelihood", pa.float64()),
    ]
)


def _whole_number(name, value, minimum):
    number = float(value)
    if not number.is_integer() or number < minimum:
        raise ValueError(f"var {name} must be a whole number >= {minimum}, got {value!r}")
    return int(number)


def _distinct_rows(frequency, recency_days, age_days):
    """The sample's distinct (frequency, recency, T) rows in days, with the customers on each:
    (frequency, recency_days, age_days, counts). The three whole numbers are packed into one int64
    (21 bits each, up to 2 million purchases or days) whose 1-d unique is a fast sort; a row-wise
    unique of the three columns takes seconds on a million rows."""
    bits = 21
    mask = (1 << bits) - 1
    columns = (frequency, recency_days, age_days)
    if any(column.min() < 0 or column.max() > mask for column in columns):
        rows, counts = np.unique(np.column_stack(columns), axis=0, return_counts=True)
        return rows[:, 0], rows[:, 1], rows[:, 2], counts
    keys, counts = np.unique(
        (frequency << (2 * bits)) | (recency_days << bits) | age_days, return_counts=True
    )
    return keys >> (2 * bits), (keys >> bits) & mask, keys & mask, counts


def model(dbt, session):
    dbt.config(materialized="table")
    sample_limit = _whole_number("clv_fit_sample_customers", dbt.config.get("clv_fit_sample_customers"), 1)
    customers = dbt.ref("int_customers_unioned")
    as_of_date = dbt.ref("int_reporting_window").project("as_of_date").fetchone()
    as_of_date = None if as_of_date is None else as_of_date[0]

    row = {name: None for name in SCHEMA.names}
    row.update(
        as_of_date=as_of_date,
        time_unit_days=WEEK_DAYS,
        customers_scored=0,
        customers_in_sample=0,
        customers_fitted=0,
        bgnbd_converged=False,
        gamma_gamma_converged=False,
    )
    if as_of_date is not None:
        row["customers_scored"] = customers.query("customers", COUNT_SQL).fetchone()[0]
        sample = customers.query(
            "customers", SAMPLE_SQL.format(as_of_date=as_of_date.isoformat(), limit=sample_limit)
        ).fetchnumpy()
        row["customers_in_sample"] = len(sample["frequency"])

    if row["customers_in_sample"] > 0:
        frequency, recency_days, age_days, counts = _distinct_rows(
            *(
                np.asarray(sample[column], dtype=np.int64)
                for column in ("frequency", "recency_days", "age_days")
            )
        )
        bgnbd = clv.fit_bgnbd(frequency, recency_days / WEEK_DAYS, age_days / WEEK_DAYS, weights=counts)
        row.update(bgnbd.params._asdict())
        row.update(bgnbd_converged=bgnbd.converged, bgnbd_log_likelihood=bgnbd.log_likelihood)

        frequency = np.asarray(sample["frequency"], dtype=np.float64)
        monetary = np.ma.filled(np.ma.asarray(sample["monetary"], dtype=np.float64), np.nan)
        repeat_buyers = (frequency > 0) & np.isfinite(monetary) & (monetary > 0)
        row["customers_fitted"] = int(repeat_buyers.sum())
        if row["customers_fitted"] > 0:
            gamma_gamma = clv.fit_gamma_gamma(frequency[repeat_buyers], monetary[repeat_buyers])
            row.update(gamma_gamma.params._asdict())
            row.update(
                gamma_gamma_converged=gamma_gamma.converged,
                gamma_gamma_log_likelihood=gamma_gamma.log_likelihood,
            )

    return pa.Table.from_pylist([row], schema=SCHEMA)
