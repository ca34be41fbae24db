"""Deterministic synthetic `payments`, `customers` and `marketing_spend` tables (the input contract in
docs/definitions.md).

Everything is drawn with numpy in whole-array operations (no Python loop per customer or payment), so
10 million payments take well under a minute. The same (n_payments, seed, start, end) always gives the same
tables and byte-identical files.

Model: customers arrive over the period with a growth trend and seasonality. Each one has a gamma-
distributed purchase rate and a geometric lifetime (a quarter buy once and never return); purchases
follow a Poisson process while alive. Some customers come back after 120-400 days for a second life.
On top come failed attempts (often retried), pending payments, same-day repeat purchases, partial and
full refunds, prospects who never pay, customers missing from the `customers` table, and `paid_at`
text in several formats and UTC offsets.

The marketing spend follows the sign-ups: per month and acquisition channel, what each sign-up of a
paid channel costs, with noise, from a random stream of its own, so adding it changed no byte of the
payments and customers.

`append_day` grows a generated data set the way a billing export grows: it appends one more day of
payments, plus late arrivals dated months back, after the existing rows, so incremental builds can be
tested and timed against full ones.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

DAY = 86_400
EPOCH = dt.date(1970, 1, 1)
NONE = np.iinfo(np.int64).min  # no time (paid_at text that does not parse)
ROW_GROUP_SIZE = 1_000_000

DEMO_SEED = 20240601
DEMO_START = dt.date(2023, 1, 1)
DEMO_END = dt.date(2025, 10, 31)
DEMO_PAYMENTS = 25_000  # about 3,000 paying customers over the demo period
DEFAULT_PAYMENTS = 10_000
DEFAULT_SEED = 42
DEFAULT_START = dt.date(2023, 1, 1)
DEFAULT_END = dt.date(2025, 12, 31)

# Customer arrivals: yearly growth and a month-of-year profile (busy Nov/Dec, quiet summer).
GROWTH_PER_YEAR = 0.4
SEASONALITY = np.array([1.05, 0.95, 1.0, 1.0, 0.95, 0.85, 0.8, 0.8, 0.95, 1.05, 1.35, 1.45])
# Hour-of-day profile (UTC) for purchase times.
HOURLY = np.array([2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 10, 10, 10, 9, 8, 7, 5, 4, 3], float)

COUNTRIES = np.array(["US", "GB", "DE", "CA", "FR", "IN", "AU", "NL", "BR", "JP", "ES", "SE"])
COUNTRY_WEIGHTS = np.array([40, 10, 8, 7, 5, 6, 5, 4, 4, 4, 4, 3], float)
CHANNELS = np.array(["organic", "paid_search", "social", "referral", "email"])
CHANNEL_WEIGHTS = np.array([0.38, 0.24, 0.16, 0.12, 0.10])
CHANNEL_LIFETIME = np.array([1.0, 0.8, 0.7, 1.4, 1.2])  # lifetime multiplier by channel

PRICES_CENTS = np.array([900, 1900, 4900, 9900, 19900])
PLAN_WEIGHTS = np.array([0.30, 0.30, 0.20, 0.13, 0.07])
P_PLAN_PRICE = 0.85  # else another price point (10%) or an odd-cent amount (5%)
P_OTHER_PRICE = 0.10

P_ONE_TIME = 0.25  # customers who buy once and never return (lifetime 0)
MEAN_LIFETIME_DAYS = 360.0
MEAN_GAP_DAYS = 25.0  # mean days between purchases while alive
RATE_SHAPE = 1.2  # gamma shape of the per-customer purchase rate
P_REACTIVATE = 0.15
GAP_DAYS = (120.0, 400.0)
P_PROSPECT_ATTEMPTS = 0.015  # prospects with failed/pending attempts only
P_PROSPECT_SILENT = 0.015  # prospects without any payment (customers table only)
P_MISSING = 0.01  # customers with payments but no row in the customers table

P_FAILED = 0.048
P_PENDING = 0.01
P_RETRY = 0.7  # a failed attempt is followed by a success
MEAN_RETRY_SECONDS = 6 * 3600
P_SAME_DAY = 0.02  # purchase followed by more purchases on the same UTC day
P_SAME_SECOND = 0.3  # ... at exactly the same timestamp
P_REFUND = 0.02
P_FULL_REFUND = 0.7

OFFSETS = np.array(["+05:00", "+05:30", "-08:00", "+09:00", "+01:00", "-05:00"])
OFFSET_SECONDS = np.array([18_000, 19_800, -28_800, 32_400, 3_600, -18_000])
SUFFIXES = pa.array(["", "Z", *OFFSETS])  # naive and date, Z, then the offsets
# paid_at text: Z suffix, UTC offset, naive (UTC), bare date (midnight UTC)
FORMAT_WEIGHTS = np.array([0.82, 0.10, 0.07, 0.01])
Z, OFFSET, NAIVE, DATE = range(4)

SUCCEEDED, FAILED, PENDING = range(3)
STATUSES = np.array(["succeeded", "failed", "pending"])

# append_day: the appended day has as many payments (and first payments) per day as the last 28 days
# of the file; existing customers are drawn from the payments of its last 30 days, refunds from the
# purchases of those days (the generator refunds 1-30 days after a purchase).
RATE_DAYS = 28
RECENT_DAYS = 30
# Late arrivals are dated 2 to 4 calendar months before the latest month, some from customers who had
# been out of the base (no purchase for more than the project's default churn_inactivity_days) at that
# date, so they reactivate in the past and that month's statuses and bridge change.
LATE_MONTHS = (2, 4)
INACTIVITY_DAYS = 90
DEFAULT_LATE_SHARE = 0.05  # late rows per row of the appended day, unless --late says otherwise
MIN_LATE = 3
# Per-customer facts append_day keeps, and how row groups' partial results combine; they are merged
# once this many rows have piled up.
CUSTOMER_FACTS = {"first_payment": "min", "first_purchase": "min", "last_purchase": "max", "max_cents": "max"}
MERGE_ROWS = 4_000_000
PAYMENT_COLUMNS = ["payment_id", "customer_id", "paid_at", "amount", "currency", "status"]
CUSTOMER_COLUMNS = ["customer_id", "created_at", "country", "acquisition_channel"]
SPEND_COLUMNS = ["month", "acquisition_channel", "spend", "currency"]

# Marketing spend: what a sign-up of each channel (CHANNELS order) costs on average, in currency units,
# so that spend / new customers lands at about 25-90 for the paid channels; organic costs a small
# amount a month (content, tools) whatever its sign-ups. A month's cost per sign-up varies by
# SPEND_NOISE (log-normal). Search and social come as two rows a month, as an ad platform exports per
# campaign (the warehouse sums rows of one month and channel). SPEND_STREAM seeds the spend's own
# random stream: the payments and customers are drawn exactly as before.
COST_PER_SIGNUP = np.array([0.0, 85.0, 55.0, 35.0, 25.0])
ORGANIC_MONTHLY = (100.0, 400.0)
CAMPAIGNS = np.array([1, 2, 2, 1, 1])
SPEND_NOISE = 0.2
SPEND_STREAM = 1

# Expected payment rows per purchase event (itself, retries, same-day repeats, refunds): turns the
# payment target into a number of events.
ROWS_PER_EVENT = 1 + P_FAILED * P_RETRY + P_SAME_DAY * (1 + 0.5) + P_REFUND


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `generate` options to `parser`."""
    parser.add_argument(
        "--payments", type=int, default=None, help=f"approximate number of payment rows ({DEFAULT_PAYMENTS})"
    )
    parser.add_argument("--seed", type=int, default=None, help=f"random seed ({DEFAULT_SEED})")
    parser.add_argument("--out", type=Path, default=None, help="output directory (required unless --demo)")
    parser.add_argument(
        "--format", choices=["parquet", "csv"], default=None, help="file format (parquet; csv with --demo)"
    )
    parser.add_argument(
        "--start", type=dt.date.fromisoformat, default=None, help=f"first day, UTC ({DEFAULT_START})"
    )
    parser.add_argument(
        "--end", type=dt.date.fromisoformat, default=None, help=f"last day, UTC ({DEFAULT_END})"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="write the bundled demo seeds raw_payments.csv, raw_customers.csv and "
        "raw_marketing_spend.csv (fixed seed and size) to --out (default: seeds)",
    )
    parser.add_argument(
        "--append-day",
        action="store_true",
        help="append one more day of payments (and late arrivals) to the payments.parquet and "
        "customers.parquet in --out, after the existing rows",
    )
    parser.add_argument(
        "--late",
        type=int,
        default=None,
        help=f"with --append-day: late rows dated {LATE_MONTHS[0]}-{LATE_MONTHS[1]} months back "
        f"(default {DEFAULT_LATE_SHARE:.0%}% of the appended day, at least {MIN_LATE})",  # %% is argparse's %
    )


def run(args: argparse.Namespace) -> int:
    """Generate the tables and write them; print one line per file. Returns the exit code."""
    if args.append_day:
        return _run_append_day(args)
    if args.late is not None:
        print("error: --late needs --append-day", file=sys.stderr)
        return 2
    if args.demo:
        fixed = [
            f"--{name}" for name in ("payments", "seed", "start", "end") if getattr(args, name) is not None
        ]
        if args.format == "parquet":
            fixed.append("--format")
        if fixed:
            print(f"error: --demo fixes the data; drop {' '.join(fixed)}", file=sys.stderr)
            return 2
        out, fmt, prefix = args.out or Path("seeds"), "csv", "raw_"
        n, seed, start, end = DEMO_PAYMENTS, DEMO_SEED, DEMO_START, DEMO_END
    else:
        if args.out is None:
            print("error: --out is required unless --demo", file=sys.stderr)
            return 2
        out, fmt, prefix = args.out, args.format or "parquet", ""
        n = DEFAULT_PAYMENTS if args.payments is None else args.payments
        seed = DEFAULT_SEED if args.seed is None else args.seed
        start = args.start or DEFAULT_START
        end = args.end or DEFAULT_END
    try:
        payments, customers = generate(n, seed, start, end)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    spend = marketing_spend(customers, payments["currency"][0].as_py(), seed, start, end)
    out.mkdir(parents=True, exist_ok=True)
    for name, table in (("payments", payments), ("customers", customers), ("marketing_spend", spend)):
        path = out / f"{prefix}{name}.{fmt}"
        write_table(table, path, fmt)
        print(f"wrote {path}: {table.num_rows:,} rows, {path.stat().st_size / 1e6:.1f} MB")
    return 0


def _run_append_day(args: argparse.Namespace) -> int:
    """`generate --append-day`: append to the files in --out and say what was added."""
    fixed = [
        f"--{name}" for name in ("payments", "start", "end", "format") if getattr(args, name) is not None
    ]
    if args.demo:
        fixed.append("--demo")
    if fixed:
        print(f"error: --append-day extends existing files; drop {' '.join(fixed)}", file=sys.stderr)
        return 2
    if args.out is None:
        print("error: --append-day needs --out", file=sys.stderr)
        return 2
    if args.late is not None and args.late < 0:
        print("error: --late must not be negative", file=sys.stderr)
        return 2
    seed = DEFAULT_SEED if args.seed is None else args.seed
    try:
        added = append_day(args.out, seed, args.late)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"appended to {args.out / 'payments.parquet'}: {added.new_day_rows:,} rows dated {added.day} "
        f"({added.new_customers:,} new customers), {added.late_rows:,} late rows dated "
        f"{added.late_from} .. {added.late_to} ({added.lapsed_customers:,} from lapsed customers); "
        f"{added.total_rows:,} rows in all"
    )
    return 0


def write_table(table: pa.Table, path: Path, fmt: str) -> None:
    """Write `table` as CSV (unquoted, `\\n` line ends) or Parquet (row groups of 1M rows)."""
    if fmt == "parquet":
        pq.write_table(table, path, row_group_size=ROW_GROUP_SIZE)
        return
    with open(path, "wb") as f:
        f.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def generate(n_payments: int, seed: int, start: dt.date, end: dt.date) -> tuple[pa.Table, pa.Table]:
    """Return (payments, customers) with about `n_payments` payment rows dated `start` .. `end` (UTC)."""
    if n_payments < 1:
        raise ValueError("the number of payments must be positive")
    if start > end:
        raise ValueError("start must not be after end")
    rng = np.random.default_rng(seed)
    n_days = (end - start).days + 1
    start_s = (start - EPOCH).days * DAY
    end_s = start_s + n_days * DAY - 1

    cust = _draw_customers(rng, n_payments / ROWS_PER_EVENT, start, n_days)
    rows = _draw_payments(rng, cust, n_days)
    rows["t"] += start_s
    cust["arrival_s"] = start_s + (cust["arrival"] * DAY).astype(np.int64)

    keep = rows["t"] <= end_s
    rows = {k: v[keep] for k, v in rows.items()}
    fmt = rng.choice(4, size=len(rows["t"]), p=FORMAT_WEIGHTS)
    rows["t"] = np.where(fmt == DATE, rows["t"] - rows["t"] % DAY, rows["t"])
    order = np.argsort(rows["t"], kind="stable")
    rows = {k: v[order] for k, v in rows.items()}
    fmt = fmt[order]
    offset = rng.integers(0, len(OFFSETS), size=len(fmt))

    has_rows = np.bincount(rows["cust"], minlength=len(cust["arrival"])) > 0
    created = cust["arrival_s"].copy()
    np.minimum.at(created, rows["cust"], rows["t"])
    in_table = ~(has_rows & (rng.random(len(created)) < P_MISSING))
    in_table &= has_rows | cust["silent"]

    n = len(rows["t"])
    payments = pa.table(
        {
            "payment_id": _ids("pay_", np.arange(1, n + 1), 9),
            "customer_id": _ids("cus_", rows["cust"] + 1, 7),
            "paid_at": _paid_at(rows["t"], fmt, offset),
            "amount": _amount(rows["cents"]),
            "currency": pa.repeat("USD", n),
            "status": pc.take(pa.array(STATUSES), pa.array(rows["status"])),
        }
    )
    idx = np.flatnonzero(in_table)
    customers = pa.table(
        {
            "customer_id": _ids("cus_", idx + 1, 7),
            "created_at": pc.binary_join_element_wise(
                pc.replace_substring(_timestamps(created[idx]), " ", "T"), "Z", ""
            ),
            "country": pc.take(pa.array(COUNTRIES), pa.array(cust["country"][idx])),
            "acquisition_channel": pc.take(pa.array(CHANNELS), pa.array(cust["channel"][idx])),
        }
    )
    return payments, customers


def marketing_spend(customers: pa.Table, currency: str, seed: int, start: dt.date, end: dt.date) -> pa.Table:
    """Monthly spend per acquisition channel for the months `start` .. `end`, in `currency`: for each
    paid channel, its sign-ups of the month (the customers' `created_at`) times what a sign-up costs
    (COST_PER_SIGNUP, with noise), split over CAMPAIGNS rows; organic a small amount. Drawn from its
    own random stream (SPEND_STREAM), so `generate` draws exactly what it drew before. Same
    customers and seed, same rows."""
    rng = np.random.default_rng([seed, SPEND_STREAM])
    first = start.year * 12 + start.month - 1
    n_months = end.year * 12 + end.month - first
    created = customers["created_at"]
    month = (
        pc.cast(pc.utf8_slice_codeunits(created, 0, 4), pa.int64()).to_numpy() * 12
        + pc.cast(pc.utf8_slice_codeunits(created, 5, 7), pa.int64()).to_numpy()
        - 1
        - first
    )
    channel = pc.index_in(customers["acquisition_channel"], pa.array(CHANNELS)).to_numpy()
    inside = (month >= 0) & (month < n_months)
    signups = np.bincount(
        month[inside] * len(CHANNELS) + channel[inside], minlength=n_months * len(CHANNELS)
    ).reshape(n_months, len(CHANNELS))
    noise = rng.lognormal(-(SPEND_NOISE**2) / 2, SPEND_NOISE, size=signups.shape)
    organic = rng.uniform(*ORGANIC_MONTHLY, size=n_months)
    total = np.where(COST_PER_SIGNUP > 0, signups * COST_PER_SIGNUP * noise, organic[:, None])
    total_cents = np.rint(total * 100).astype(np.int64)

    # One row per month, channel and campaign, in that order; a channel's first campaign gets 30-70%.
    share = rng.uniform(0.3, 0.7, size=signups.shape)
    rows_month, rows_channel, rows_cents = [], [], []
    for m in range(n_months):
        for c in range(len(CHANNELS)):
            parts = [total_cents[m, c]]
            if CAMPAIGNS[c] == 2:
                head = int(np.rint(total_cents[m, c] * share[m, c]))
                parts = [head, total_cents[m, c] - head]
            rows_month += [first + m] * len(parts)
            rows_channel += [c] * len(parts)
            rows_cents += parts
    index = np.array(rows_month, np.int64)
    months = [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in index]
    return pa.table(
        {
            "month": pa.array(months, pa.string()),
            "acquisition_channel": pc.take(pa.array(CHANNELS), pa.array(np.array(rows_channel, np.int64))),
            "spend": _amount(np.array(rows_cents, np.int64)),
            "currency": pa.repeat(currency, len(months)),
        }
    )


def _draw_customers(rng: np.random.Generator, n_events: float, start: dt.date, n_days: int) -> dict:
    """Draw customers (numbered by arrival) until their purchase events reach `n_events`.

    Times are in days since `start`. A customer has up to two lives (segments): segment k starts at
    `s{k}`, lasts `len{k}` days and holds `k{k}` events, the first of them at its start.
    """
    days = np.arange(n_days)
    months = (np.datetime64(start) + days).astype("datetime64[M]").astype(int) % 12
    day_weights = np.exp(GROWTH_PER_YEAR * days / 365.25) * SEASONALITY[months]
    day_weights /= day_weights.sum()

    blocks, total = [], 0
    while total < n_events:
        b = _customer_block(rng, max(64, int((n_events - total) / 4)), day_weights, n_days)
        events = np.cumsum(b["k1"] + b["k2"])
        take = int(np.searchsorted(events, n_events - total)) + 1
        blocks.append({k: v[:take] for k, v in b.items()})
        total += int(events[min(take, len(events)) - 1])
    cust = {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
    order = np.argsort(cust["arrival"], kind="stable")
    return {k: v[order] for k, v in cust.items()}


def _customer_block(rng: np.random.Generator, m: int, day_weights: np.ndarray, n_days: int) -> dict:
    """Draw `m` independent customers."""
    arrival = rng.choice(n_days, size=m, p=day_weights) + rng.random(m)
    channel = rng.choice(len(CHANNELS), size=m, p=CHANNEL_WEIGHTS)
    country = rng.choice(len(COUNTRIES), size=m, p=COUNTRY_WEIGHTS / COUNTRY_WEIGHTS.sum())
    plan = rng.choice(len(PRICES_CENTS), size=m, p=PLAN_WEIGHTS)
    rate = rng.gamma(RATE_SHAPE, 1 / (RATE_SHAPE * MEAN_GAP_DAYS), size=m)
    kind = rng.random(m)
    attempts = kind < P_PROSPECT_ATTEMPTS
    silent = (kind >= P_PROSPECT_ATTEMPTS) & (kind < P_PROSPECT_ATTEMPTS + P_PROSPECT_SILENT)
    paying = ~attempts & ~silent

    mean_life = MEAN_LIFETIME_DAYS * CHANNEL_LIFETIME[channel]
    life1 = np.where(rng.random(m) < P_ONE_TIME, 0.0, rng.geometric(1 / mean_life).astype(float))
    s1 = np.minimum(arrival + rng.exponential(0.3, m), n_days - 1e-6)
    len1 = np.where(attempts, rng.random(m) * 14, np.minimum(life1, n_days - s1))
    k1 = np.where(attempts, 1 + (rng.random(m) < 0.3), 1 + rng.poisson(rate * len1))
    k1 = np.where(silent, 0, k1)

    s2 = s1 + life1 + rng.uniform(*GAP_DAYS, m)
    second = paying & (rng.random(m) < P_REACTIVATE) & (s2 < n_days)
    len2 = np.where(second, np.minimum(rng.geometric(1 / (0.7 * mean_life)), n_days - s2), 0.0)
    k2 = np.where(second, 1 + rng.poisson(rate * len2), 0)
    return {
        "arrival": arrival,
        "channel": channel,
        "country": country,
        "plan": plan,
        "attempts": attempts,
        "silent": silent,
        "s1": s1,
        "len1": len1,
        "k1": k1,
        "s2": s2,
        "len2": len2,
        "k2": k2,
    }


def _draw_payments(rng: np.random.Generator, cust: dict, n_days: int) -> dict:
    """Expand customers into payment rows: cust (index), t (seconds since start), cents, status."""
    n_cust = len(cust["arrival"])
    seg_cust = np.concatenate([np.arange(n_cust), np.arange(n_cust)])
    seg_start = np.concatenate([cust["s1"], cust["s2"]])
    seg_len = np.concatenate([cust["len1"], cust["len2"]])
    seg_k = np.concatenate([cust["k1"], cust["k2"]]).astype(np.int64)

    ev_seg = np.repeat(np.arange(len(seg_k)), seg_k)
    first = np.cumsum(seg_k) - seg_k
    n_ev = len(ev_seg)
    is_first = np.arange(n_ev) == np.repeat(first, seg_k)
    t_days = seg_start[ev_seg] + np.where(is_first, 0.0, rng.random(n_ev) * seg_len[ev_seg])
    day = np.minimum(t_days.astype(np.int64), n_days - 1)
    sod = rng.choice(24, size=n_ev, p=HOURLY / HOURLY.sum()) * 3600 + rng.integers(0, 3600, n_ev)
    t = day * DAY + sod
    c = seg_cust[ev_seg]
    cents = _price(rng, cust["plan"][c])

    u = rng.random(n_ev)
    status = np.where(u < P_PENDING, PENDING, np.where(u < P_PENDING + P_FAILED, FAILED, SUCCEEDED))
    prospect = cust["attempts"][c]
    status = np.where(prospect, np.where(u < 0.2, PENDING, FAILED), status)

    retry = (status == FAILED) & ~prospect & (rng.random(n_ev) < P_RETRY)
    retry_t = t[retry] + 60 + rng.exponential(MEAN_RETRY_SECONDS, int(retry.sum())).astype(np.int64)
    buy_c = np.concatenate([c[status == SUCCEEDED], c[retry]])
    buy_t = np.concatenate([t[status == SUCCEEDED], retry_t])
    buy_cents = np.concatenate([cents[status == SUCCEEDED], cents[retry]])

    # same-day repeats: one or two more purchases later that UTC day, some at the very same second
    extra = np.flatnonzero(rng.random(len(buy_t)) < P_SAME_DAY)
    extra = np.concatenate([extra, extra[rng.random(len(extra)) < 0.5]])
    extra_c, extra_t = buy_c[extra], buy_t[extra]
    shift = (rng.random(len(extra)) * (DAY - extra_t % DAY)).astype(np.int64)
    extra_t += np.where(rng.random(len(extra)) < P_SAME_SECOND, 0, shift)
    buy_c = np.concatenate([buy_c, extra_c])
    buy_t = np.concatenate([buy_t, extra_t])
    buy_cents = np.concatenate([buy_cents, _price(rng, cust["plan"][extra_c])])

    refund = np.flatnonzero(rng.random(len(buy_t)) < P_REFUND)
    refund_t = buy_t[refund] + DAY + (rng.random(len(refund)) * 29 * DAY).astype(np.int64)
    part = np.maximum(1, (buy_cents[refund] * rng.uniform(0.2, 0.9, len(refund))).astype(np.int64))
    refund_cents = -np.where(rng.random(len(refund)) < P_FULL_REFUND, buy_cents[refund], part)

    not_bought = status != SUCCEEDED
    n_succeeded = len(buy_t) + len(refund)
    return {
        "cust": np.concatenate([c[not_bought], buy_c, buy_c[refund]]),
        "t": np.concatenate([t[not_bought], buy_t, refund_t]),
        "cents": np.concatenate([cents[not_bought], buy_cents, refund_cents]),
        "status": np.concatenate([status[not_bought], np.full(n_succeeded, SUCCEEDED)]).astype(np.int8),
    }


def _price(rng: np.random.Generator, plan: np.ndarray) -> np.ndarray:
    """Amounts in cents: mostly the customer's plan price, else another price point or odd cents."""
    n = len(plan)
    u = rng.random(n)
    other = PRICES_CENTS[rng.integers(0, len(PRICES_CENTS), n)]
    odd = rng.integers(100, 25_000, n)
    return np.where(
        u < P_PLAN_PRICE, PRICES_CENTS[plan], np.where(u < P_PLAN_PRICE + P_OTHER_PRICE, other, odd)
    )


# Text columns are built this many rows at a time: Arrow's string kernels size their output for the
# worst case, which passes the 2 GiB limit of one string array somewhere above 40M rows.
TEXT_CHUNK_ROWS = 5_000_000


def _in_chunks(build, *columns: np.ndarray) -> pa.ChunkedArray:
    """`build` applied to slices of `columns` (numpy arrays of one length), as one chunked column."""
    n = len(columns[0])
    starts = range(0, max(n, 1), TEXT_CHUNK_ROWS)
    return pa.chunked_array([build(*(c[i : i + TEXT_CHUNK_ROWS] for c in columns)) for i in starts])


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.ChunkedArray:
    """`prefix` + zero-padded numbers, e.g. cus_0000042."""

    def build(part: np.ndarray) -> pa.Array:
        digits = pc.utf8_lpad(pa.array(part, pa.int64()).cast(pa.string()), width, "0")
        return pc.binary_join_element_wise(prefix, digits, "")

    return _in_chunks(build, numbers)


def _timestamps(seconds: np.ndarray) -> pa.Array:
    """`YYYY-MM-DD HH:MM:SS` text of epoch seconds."""
    return pa.array(seconds, pa.int64()).cast(pa.timestamp("s")).cast(pa.string())


def _paid_at(t: np.ndarray, fmt: np.ndarray, offset: np.ndarray) -> pa.ChunkedArray:
    """paid_at text: `...T...Z`, local wall clock with an offset, naive UTC, or a bare date."""
    return _in_chunks(_paid_at_part, t, fmt, offset)


def _paid_at_part(t: np.ndarray, fmt: np.ndarray, offset: np.ndarray) -> pa.Array:
    is_offset = fmt == OFFSET
    wall = _timestamps(t + np.where(is_offset, OFFSET_SECONDS[offset], 0))
    suffix = pc.take(SUFFIXES, pa.array(np.where(is_offset, 2 + offset, (fmt == Z).astype(np.int64))))
    iso = pc.binary_join_element_wise(pc.replace_substring(wall, " ", "T"), suffix, "")
    text = pc.if_else(pa.array(fmt == NAIVE), wall, iso)
    return pc.if_else(pa.array(fmt == DATE), pc.utf8_slice_codeunits(wall, 0, 10), text)


def _amount(cents: np.ndarray) -> pa.ChunkedArray:
    """Decimal text with two places, e.g. `49.00`, `-12.34`."""
    return _in_chunks(_amount_part, cents)


def _amount_part(cents: np.ndarray) -> pa.Array:
    whole = pa.array(np.abs(cents) // 100).cast(pa.string())
    frac = pc.utf8_lpad(pa.array(np.abs(cents) % 100).cast(pa.string()), 2, "0")
    sign = pc.if_else(pa.array(cents < 0), "-", "")
    return pc.binary_join_element_wise(sign, whole, ".", frac, "")


@dataclass(frozen=True)
class Appended:
    """What `append_day` added: `new_day_rows` dated `day`, then `late_rows` dated `late_from` ..
    `late_to` (UTC), `lapsed_customers` of them purchases by customers out of the base at that date."""

    day: dt.date
    new_day_rows: int
    late_rows: int
    new_customers: int
    lapsed_customers: int
    late_from: dt.date
    late_to: dt.date
    total_rows: int


def append_day(data_dir: Path, seed: int, late: int | None = None) -> Appended:
    """Append a day of payments to `data_dir`/payments.parquet, dated the day after its latest `paid_at`
    (UTC), then `late` late arrivals (default: 5% of the day, at least 3): succeeded purchases and
    refunds of existing customers dated 2-4 calendar months before the latest month.

    Every existing row keeps its place and the new rows come after them, as in a billing export that
    grows: an incremental build reads only the rows past the last line it loaded. New customers are
    appended to customers.parquet (when there is one). The payments file is copied one row group at a
    time while the facts the new rows need are gathered, so memory stays small at 50M rows; both files
    are written next to the old ones and swapped in by rename. Same files and seed, same rows.
    """
    payments_path = data_dir / "payments.parquet"
    customers_path = data_dir / "customers.parquet"
    if not payments_path.is_file():
        raise ValueError(f"{payments_path} not found")
    if late is not None and late < 0:
        raise ValueError("the number of late rows must not be negative")
    source = pq.ParquetFile(payments_path)
    schema = source.schema_arrow
    _require_columns(payments_path, schema, PAYMENT_COLUMNS)
    customers = pq.read_table(customers_path) if customers_path.is_file() else None
    if customers is not None:
        _require_columns(customers_path, customers.schema, CUSTOMER_COLUMNS)

    history = _History()
    partial = payments_path.with_name(payments_path.name + ".appending")
    partial_customers = customers_path.with_name(customers_path.name + ".appending")
    try:
        with pq.ParquetWriter(partial, schema) as writer:
            for i in range(source.num_row_groups):
                group = source.read_row_group(i)
                writer.write_table(group, row_group_size=ROW_GROUP_SIZE)
                history.add(group)
            if history.latest == NONE:
                raise ValueError(f"{payments_path}: no paid_at could be read")
            known = [history.per_customer()["customer_id"]]
            if customers is not None:
                known.append(customers["customer_id"])
            max_customer = max(_max_number(ids, "cus_") for ids in known)
            rng = np.random.default_rng(seed)
            payments, new_customers, added = _appended_rows(rng, history, late, max_customer)
            writer.write_table(_conform(payments, schema), row_group_size=ROW_GROUP_SIZE)
        if customers is not None:
            appended = pa.concat_tables([customers, _conform(new_customers, customers.schema)])
            write_table(appended, partial_customers, "parquet")
    except BaseException:
        partial.unlink(missing_ok=True)
        partial_customers.unlink(missing_ok=True)
        raise
    os.replace(partial, payments_path)
    if customers is not None:
        os.replace(partial_customers, customers_path)
    return added


class _History:
    """What the appended rows depend on, gathered from the existing payments one row group at a time:
    the id and time ranges, each customer's first payment and purchases, and the rows of the last
    `RECENT_DAYS` days (customers to draw, purchases to refund, the daily volume)."""

    def __init__(self) -> None:
        self.rows = 0
        self.first = np.iinfo(np.int64).max
        self.latest = NONE
        self.max_payment = 0
        self.currency: str | None = None
        self._customers: list[pa.Table] = []
        self._customer_rows = 0
        self.recent: pa.Table | None = None

    def add(self, group: pa.Table) -> None:
        self.rows += group.num_rows
        t = _utc_seconds(group["paid_at"])
        valid = t != NONE
        cents = _cents(group["amount"])
        succeeded = pc.fill_null(pc.equal(group["status"], "succeeded"), False).to_numpy()
        is_purchase = valid & succeeded & (cents > 0)
        if valid.any():
            self.first = min(self.first, int(t[valid].min()))
            self.latest = max(self.latest, int(t.max()))
        self.max_payment = max(self.max_payment, _max_number(group["payment_id"], "pay_"))
        if self.currency is None:
            currencies = pc.drop_null(group["currency"])
            self.currency = currencies[0].as_py() if len(currencies) else None

        customer = group["customer_id"]
        has_customer = pc.is_valid(customer)
        facts = pa.table(
            {
                "customer_id": customer,
                "first_payment": pa.array(t, mask=~valid),
                "first_purchase": pa.array(t, mask=~is_purchase),
                "last_purchase": pa.array(t, mask=~is_purchase),
                "max_cents": pa.array(cents, mask=~is_purchase),
            }
        ).filter(has_customer)
        self._customers.append(_combine_facts(facts))
        self._customer_rows += self._customers[-1].num_rows
        if self._customer_rows > MERGE_ROWS:
            self.per_customer()

        # Only rows that can still fall in the last RECENT_DAYS days are kept, so this stays small.
        if self.latest == NONE:
            return
        since = (self.latest // DAY - RECENT_DAYS + 1) * DAY
        rows = pa.table({"customer_id": customer, "t": t, "cents": cents, "is_purchase": is_purchase})
        rows = rows.filter(pc.and_(has_customer, pa.array(t >= since)))
        recent = rows if self.recent is None else pa.concat_tables([self.recent, rows])
        self.recent = recent.filter(pc.greater_equal(recent["t"], since)).combine_chunks()

    def per_customer(self) -> pa.Table:
        """One row per customer_id with CUSTOMER_FACTS (null when there is no such payment)."""
        if len(self._customers) > 1:
            self._customers = [_combine_facts(pa.concat_tables(self._customers))]
            self._customer_rows = self._customers[0].num_rows
        return self._customers[0]


def _combine_facts(facts: pa.Table) -> pa.Table:
    """Group `facts` by customer_id. Single-threaded, so the order of the groups (first appearance)
    and with it every draw from them is the same on every run."""
    grouped = facts.group_by("customer_id", use_threads=False).aggregate(list(CUSTOMER_FACTS.items()))
    return pa.table(
        {"customer_id": grouped["customer_id"], **{k: grouped[f"{k}_{f}"] for k, f in CUSTOMER_FACTS.items()}}
    )


def _appended_rows(
    rng: np.random.Generator, history: _History, late: int | None, max_customer: int
) -> tuple[dict[str, pa.Array], dict[str, pa.Array], Appended]:
    """The new payment columns (the day, then the late rows, each in time order) and new customers."""
    latest_day = history.latest // DAY
    day = latest_day + 1
    window = min(RATE_DAYS, latest_day - history.first // DAY + 1)
    recent = history.recent
    recent_day = recent["t"].to_numpy() // DAY
    facts = history.per_customer()
    first_payment = pc.fill_null(facts["first_payment"], NONE).to_numpy()

    # The day, in this order until sorted by time: existing customers active in the last RECENT_DAYS
    # days (drawn by their payments, so frequent buyers come back more), new customers, refunds of
    # purchases of those days.
    n_day = max(1, int(rng.poisson(np.count_nonzero(recent_day > latest_day - window) / window)))
    new_per_day = np.count_nonzero(first_payment // DAY > latest_day - window) / window
    is_recent = recent_day > latest_day - RECENT_DAYS
    active = np.flatnonzero(is_recent)
    n_new = int(np.clip(rng.poisson(new_per_day), 1, n_day)) if len(active) else n_day
    n_existing = n_day - n_new
    refundable = np.flatnonzero(is_recent & recent["is_purchase"].to_numpy())
    n_refund = 0
    if len(refundable) and n_existing >= 2:
        n_refund = int(np.clip(rng.binomial(n_existing, P_REFUND), 1, n_existing - 1))
    n_returning = n_existing - n_refund
    n_paying = n_returning + n_new
    returning = _draw(rng, active, n_returning)
    refunded = _draw(rng, refundable, n_refund)
    new_ids = _ids("cus_", max_customer + 1 + np.arange(n_new), 7).combine_chunks()
    day_customers = [_take(recent["customer_id"], returning), new_ids, _take(recent["customer_id"], refunded)]
    u = rng.random(n_paying)
    day_status = np.where(u < P_PENDING, PENDING, np.where(u < P_PENDING + P_FAILED, FAILED, SUCCEEDED))
    day_cents = [_price(rng, _plans(rng, n_paying)), _refund(rng, recent["cents"], refunded)]
    day_t = day * DAY + _seconds_of_day(rng, n_day)

    # Late arrivals: purchases and refunds of customers whose first purchase is before the late months,
    # so no refund precedes a purchase and no late row makes anyone's first purchase.
    month = (EPOCH + dt.timedelta(days=int(latest_day))).replace(day=1)
    late_from = _add_months(month, -LATE_MONTHS[1])
    late_to = _add_months(month, 1 - LATE_MONTHS[0]) - dt.timedelta(days=1)
    from_day, to_day = (late_from - EPOCH).days, (late_to - EPOCH).days
    bought_before = pc.fill_null(facts["first_purchase"], np.iinfo(np.int64).max).to_numpy() < from_day * DAY
    last_purchase = pc.fill_null(facts["last_purchase"], NONE).to_numpy()
    # A last purchase more than INACTIVITY_DAYS days before late_from: out of the base since the day
    # before it, so a late purchase on any late day brings the customer back (reactivated). The other
    # late rows come from customers still in the base then, as most late rows in real exports do.
    out_of_base = last_purchase < (from_day - INACTIVITY_DAYS) * DAY
    lapsed = np.flatnonzero(bought_before & out_of_base)
    eligible = np.flatnonzero(bought_before & ~out_of_base)
    if not len(eligible):
        eligible = lapsed
    n_late = max(MIN_LATE, round(DEFAULT_LATE_SHARE * n_day)) if late is None else late
    n_late = n_late if len(eligible) else 0
    n_lapsed = min(max(1, n_late // 4), len(lapsed)) if n_late else 0
    n_late_refund = max(1, n_late // 4) if n_late >= 3 else 0
    n_late_buy = n_late - n_lapsed - n_late_refund
    late_rows = np.concatenate(
        [rng.choice(lapsed, n_lapsed, replace=False), _draw(rng, eligible, n_late_buy + n_late_refund)]
    ).astype(np.int64)
    late_cents = [
        _price(rng, _plans(rng, n_lapsed + n_late_buy)),
        _refund(rng, facts["max_cents"], late_rows[n_lapsed + n_late_buy :]),
    ]
    late_t = rng.integers(from_day, to_day + 1, n_late) * DAY + _seconds_of_day(rng, n_late)

    t = np.concatenate([day_t, late_t])
    fmt = rng.choice(4, size=len(t), p=FORMAT_WEIGHTS)
    t = np.where(fmt == DATE, t - t % DAY, t)
    offset = rng.integers(0, len(OFFSETS), size=len(t))
    day_t = t[:n_day]
    order = np.concatenate([np.argsort(day_t, kind="stable"), n_day + np.argsort(t[n_day:], kind="stable")])
    customer = pa.concat_arrays([*day_customers, _take(facts["customer_id"], late_rows)])
    cents = np.concatenate([*day_cents, *late_cents])
    status = np.concatenate([day_status, np.full(n_refund + n_late, SUCCEEDED)])
    payments = {
        "payment_id": _ids("pay_", history.max_payment + 1 + np.arange(len(t)), 9),
        "customer_id": customer.take(pa.array(order)),
        "paid_at": _paid_at(t[order], fmt[order], offset[order]),
        "amount": _amount(cents[order]),
        "currency": pa.repeat(history.currency or "USD", len(t)),
        "status": pc.take(pa.array(STATUSES), pa.array(status[order])),
    }

    # New customers signed up on the day, at or before their first payment.
    first_t = day_t[n_returning:n_paying]
    created = first_t - rng.integers(0, first_t - day * DAY + 1)
    country = rng.choice(len(COUNTRIES), n_new, p=COUNTRY_WEIGHTS / COUNTRY_WEIGHTS.sum())
    channel = rng.choice(len(CHANNELS), n_new, p=CHANNEL_WEIGHTS)
    customers = {
        "customer_id": new_ids,
        "created_at": pc.binary_join_element_wise(
            pc.replace_substring(_timestamps(created), " ", "T"), "Z", ""
        ),
        "country": pc.take(pa.array(COUNTRIES), pa.array(country)),
        "acquisition_channel": pc.take(pa.array(CHANNELS), pa.array(channel)),
    }
    added = Appended(
        day=EPOCH + dt.timedelta(days=int(day)),
        new_day_rows=n_day,
        late_rows=n_late,
        new_customers=n_new,
        lapsed_customers=n_lapsed,
        late_from=late_from,
        late_to=late_to,
        total_rows=history.rows + len(t),
    )
    return payments, customers, added


def _draw(rng: np.random.Generator, pool: np.ndarray, n: int) -> np.ndarray:
    """`n` draws with replacement from `pool` (which may be empty when `n` is 0)."""
    return pool[rng.integers(0, len(pool), n)] if n else pool[:0]


def _plans(rng: np.random.Generator, n: int) -> np.ndarray:
    """Plans of `n` purchases whose customers' plans are not known: the generator's plan mix."""
    return rng.choice(len(PRICES_CENTS), n, p=PLAN_WEIGHTS)


def _refund(rng: np.random.Generator, cents: pa.ChunkedArray | pa.Array, rows: np.ndarray) -> np.ndarray:
    """Refunds (negative cents) of the purchases of `cents` at `rows`: full, or 20-90% of it."""
    paid = _take(cents, rows).to_numpy(zero_copy_only=False).astype(np.int64)
    part = np.maximum(1, (paid * rng.uniform(0.2, 0.9, len(rows))).astype(np.int64))
    return -np.where(rng.random(len(rows)) < P_FULL_REFUND, paid, part)


def _seconds_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Times of day for `n` payments, with the generator's hourly profile."""
    return rng.choice(24, size=n, p=HOURLY / HOURLY.sum()) * 3600 + rng.integers(0, 3600, n)


def _take(values: pa.ChunkedArray | pa.Array, rows: np.ndarray) -> pa.Array:
    taken = values.take(pa.array(rows, pa.int64()))
    return taken.combine_chunks() if isinstance(taken, pa.ChunkedArray) else taken


def _add_months(first_of_month: dt.date, months: int) -> dt.date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _utc_seconds(text: pa.ChunkedArray) -> np.ndarray:
    """Epoch seconds (UTC) of paid_at text in the generator's formats (`...Z`, `...+05:30`, naive UTC,
    bare date); NONE where the text does not parse."""
    length = pc.utf8_length(text)
    wall = pc.if_else(
        pc.equal(length, 10),
        pc.binary_join_element_wise(text, "T00:00:00", ""),
        pc.replace_substring(pc.utf8_slice_codeunits(text, 0, 19), " ", "T"),
    )
    parsed = pc.strptime(wall, "%Y-%m-%dT%H:%M:%S", "s", error_is_null=True).cast(pa.int64())
    seconds = pc.fill_null(parsed, NONE).to_numpy()
    suffix = pc.utf8_slice_codeunits(text, 19, 25)
    with_offset = np.flatnonzero(
        pc.fill_null(pc.match_substring_regex(suffix, r"^[+-]\d\d:\d\d$"), False).to_numpy()
        & (seconds != NONE)
    )
    shift = np.zeros(len(seconds), np.int64)
    if len(with_offset):
        offsets = _take(suffix, with_offset)
        hours = pc.cast(pc.utf8_slice_codeunits(offsets, 1, 3), pa.int64()).to_numpy()
        minutes = pc.cast(pc.utf8_slice_codeunits(offsets, 4, 6), pa.int64()).to_numpy()
        sign = np.where(pc.starts_with(offsets, "-").to_numpy(zero_copy_only=False), -1, 1)
        shift[with_offset] = sign * (hours * 3600 + minutes * 60)
    return seconds - shift


def _cents(amount: pa.ChunkedArray) -> np.ndarray:
    """Whole cents of amount text; 0 where it is not a number (such a row is neither bought nor
    refunded)."""
    numeric = pc.if_else(pc.match_substring_regex(amount, r"^\s*-?\d+(\.\d+)?\s*$"), amount, None)
    values = pc.fill_null(pc.cast(pc.utf8_trim_whitespace(numeric), pa.float64()), 0.0).to_numpy()
    return np.rint(values * 100).astype(np.int64)


def _max_number(ids: pa.ChunkedArray | pa.Array, prefix: str) -> int:
    """The largest N among ids `prefix`N (N digits only), so appended ids never repeat one; 0 if none."""
    digits = pc.utf8_slice_codeunits(ids, len(prefix))
    numbered = ids.filter(pc.fill_null(pc.and_(pc.starts_with(ids, prefix), pc.utf8_is_digit(digits)), False))
    if len(numbered) == 0:
        return 0
    return int(pc.max(pc.cast(pc.utf8_slice_codeunits(numbered, len(prefix)), pa.int64())).as_py())


def _require_columns(path: Path, schema: pa.Schema, columns: list[str]) -> None:
    missing = [column for column in columns if column not in schema.names]
    if missing:
        raise ValueError(f"{path}: no column {', '.join(missing)} (found {', '.join(schema.names)})")


def _conform(columns: dict[str, pa.Array], schema: pa.Schema) -> pa.Table:
    """The new rows in the existing file's column order and types; columns the generator does not
    write are null."""
    n = len(next(iter(columns.values())))
    arrays = [columns[f.name] if f.name in columns else pa.nulls(n, f.type) for f in schema]
    return pa.table(arrays, names=schema.names).cast(schema)
