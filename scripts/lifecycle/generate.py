"""Deterministic synthetic `payments` and `customers` tables (the input contract in docs/definitions.md).

Everything is drawn with numpy in whole-array operations (no Python loop per customer or payment), so
10 million payments take well under a minute. The same (n_payments, seed, start, end) always gives the same
tables and byte-identical files.

Model: customers arrive over the period with a growth trend and seasonality. Each one has a gamma-
distributed purchase rate and a geometric lifetime (a quarter buy once and never return); purchases
follow a Poisson process while alive. Some customers come back after 120-400 days for a second life.
On top come failed attempts (often retried), pending payments, same-day repeat purchases, partial and
full refunds, prospects who never pay, customers missing from the `customers` table, and `paid_at`
text in several formats and UTC offsets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

DAY = 86_400
EPOCH = dt.date(1970, 1, 1)

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
        help="write the bundled demo seeds raw_payments.csv and raw_customers.csv (fixed seed and size) "
        "to --out (default: seeds)",
    )


def run(args: argparse.Namespace) -> int:
    """Generate the tables and write them; print one line per file. Returns the exit code."""
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
    out.mkdir(parents=True, exist_ok=True)
    for name, table in (("payments", payments), ("customers", customers)):
        path = out / f"{prefix}{name}.{fmt}"
        write_table(table, path, fmt)
        print(f"wrote {path}: {table.num_rows:,} rows, {path.stat().st_size / 1e6:.1f} MB")
    return 0


def write_table(table: pa.Table, path: Path, fmt: str) -> None:
    """Write `table` as CSV (unquoted, `\\n` line ends) or Parquet (row groups of 1M rows)."""
    if fmt == "parquet":
        pq.write_table(table, path, row_group_size=1_000_000)
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


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """`prefix` + zero-padded numbers, e.g. cus_0000042."""
    digits = pc.utf8_lpad(pa.array(numbers, pa.int64()).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _timestamps(seconds: np.ndarray) -> pa.Array:
    """`YYYY-MM-DD HH:MM:SS` text of epoch seconds."""
    return pa.array(seconds, pa.int64()).cast(pa.timestamp("s")).cast(pa.string())


def _paid_at(t: np.ndarray, fmt: np.ndarray, offset: np.ndarray) -> pa.Array:
    """paid_at text: `...T...Z`, local wall clock with an offset, naive UTC, or a bare date."""
    is_offset = fmt == OFFSET
    wall = _timestamps(t + np.where(is_offset, OFFSET_SECONDS[offset], 0))
    suffix = pc.take(SUFFIXES, pa.array(np.where(is_offset, 2 + offset, (fmt == Z).astype(np.int64))))
    iso = pc.binary_join_element_wise(pc.replace_substring(wall, " ", "T"), suffix, "")
    text = pc.if_else(pa.array(fmt == NAIVE), wall, iso)
    return pc.if_else(pa.array(fmt == DATE), pc.utf8_slice_codeunits(wall, 0, 10), text)


def _amount(cents: np.ndarray) -> pa.Array:
    """Decimal text with two places, e.g. `49.00`, `-12.34`."""
    whole = pa.array(np.abs(cents) // 100).cast(pa.string())
    frac = pc.utf8_lpad(pa.array(np.abs(cents) % 100).cast(pa.string()), 2, "0")
    sign = pc.if_else(pa.array(cents < 0), "-", "")
    return pc.binary_join_element_wise(sign, whole, ".", frac, "")
