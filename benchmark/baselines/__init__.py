"""Hand-written implementations of the six lifecycle marts, for benchmarking against the dbt build.

Each module exposes `build(data_dir)` reading the generator's `payments.parquet` and `customers.parquet`
(`lifecycle generate --payments N --seed S --out DIR`) and returning the marts keyed by name, with the
columns of models/marts/lifecycle/_lifecycle__models.yml. They implement docs/definitions.md with the
default configuration only (as_of_date = the latest payment date, churn_inactivity_days = 90,
reporting time zone UTC) and assume clean input: the generator writes no row that the dbt staging
models would set aside (missing or duplicate ids, unparsable timestamps or amounts, unknown statuses or
currencies), so none of that validation is repeated. `compare.compare_with_warehouse` checks a result
against the marts of a dbt build.
"""

from __future__ import annotations

MARTS = (
    "dim_customers",
    "fct_customer_months",
    "fct_cohort_retention",
    "fct_churn_monthly",
    "fct_revenue_monthly",
    "fct_customer_status_monthly",
)
CHURN_INACTIVITY_DAYS = 90
