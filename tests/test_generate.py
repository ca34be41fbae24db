"""The synthetic data generator: determinism, the input contract and the behaviours the demo must show."""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lifecycle.generate import (
    DEFAULT_END,
    DEFAULT_START,
    DEMO_END,
    DEMO_PAYMENTS,
    DEMO_SEED,
    DEMO_START,
    add_arguments,
    append_day,
    generate,
    marketing_spend,
    run,
    write_table,
)

SEEDS_DIR = Path(__file__).resolve().parents[1] / "seeds"
PAID_AT = {
    "z": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
    "offset": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d",
    "naive": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
    "date": r"\d{4}-\d\d-\d\d",
}


def cli(argv: list[str]) -> int:
    """Run the generator as `lifecycle generate ARGV` would."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run(parser.parse_args(argv))


def parse_paid_at(text: pd.Series) -> pd.Series:
    """paid_at text -> UTC timestamps (offset applied, naive = UTC, bare date = midnight UTC)."""
    kind = pd.Series("", index=text.index)
    for name, pattern in PAID_AT.items():
        kind[text.str.fullmatch(pattern)] = name
    assert (kind != "").all(), text[kind == ""].head().tolist()
    wall_text = text.str.slice(0, 19).str.replace("T", " ").where(kind != "date", text + " 00:00:00")
    wall = pd.to_datetime(wall_text, format="%Y-%m-%d %H:%M:%S")
    has_offset = kind == "offset"
    off = text.where(has_offset, "+00:00").str.slice(-6)
    minutes = off.str.slice(1, 3).astype(int) * 60 + off.str.slice(4, 6).astype(int)
    sign = np.where(off.str.startswith("-"), -1, 1)
    return wall - pd.to_timedelta(sign * minutes, unit="min")


def frame(payments, customers) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Payments as pandas with parsed `ts` (UTC), `cents` and `is_purchase` / `is_refund`; customers."""
    p = payments.to_pandas()
    p["ts"] = parse_paid_at(p["paid_at"])
    p["cents"] = (p["amount"].str.replace(".", "", regex=False)).astype(np.int64)
    succeeded = p["status"] == "succeeded"
    p["is_purchase"] = succeeded & (p["cents"] > 0)
    p["is_refund"] = succeeded & (p["cents"] < 0)
    return p, customers.to_pandas()


@pytest.fixture(scope="module")
def demo() -> tuple[pd.DataFrame, pd.DataFrame]:
    return frame(*generate(DEMO_PAYMENTS, DEMO_SEED, DEMO_START, DEMO_END))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_gives_identical_bytes(tmp_path: Path, fmt: str) -> None:
    def files(seed: int, name: str) -> list[bytes]:
        out = tmp_path / name
        assert cli(["--payments", "3000", "--seed", str(seed), "--format", fmt, "--out", str(out)]) == 0
        tables = ("payments", "customers", "marketing_spend")
        return [(out / f"{table}.{fmt}").read_bytes() for table in tables]

    first = files(7, "a")
    assert files(7, "b") == first
    other = files(8, "c")
    assert all(other[i] != first[i] for i in range(3))


def test_demo_seeds_are_current(tmp_path: Path) -> None:
    """seeds/ holds exactly what `lifecycle generate --demo` writes, each file under 2.5 MB."""
    assert cli(["--demo", "--out", str(tmp_path)]) == 0
    for name in ("raw_payments.csv", "raw_customers.csv", "raw_marketing_spend.csv"):
        fresh = (tmp_path / name).read_bytes()
        assert len(fresh) < 2_500_000
        assert (SEEDS_DIR / name).read_bytes() == fresh, f"regenerate with `make demo-data`: {name}"


def test_cli_rejects_bad_options(tmp_path: Path) -> None:
    assert cli(["--demo", "--seed", "1", "--out", str(tmp_path)]) == 2
    assert cli([]) == 2
    assert cli(["--out", str(tmp_path), "--start", "2024-02-01", "--end", "2024-01-01"]) == 2
    assert not any(tmp_path.iterdir())


def test_demo_columns_and_formats(demo: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    p, c = demo
    assert list(p.columns[:6]) == ["payment_id", "customer_id", "paid_at", "amount", "currency", "status"]
    assert list(c.columns) == ["customer_id", "created_at", "country", "acquisition_channel"]
    assert p["payment_id"].str.fullmatch(r"pay_\d{9}").all()
    assert p["customer_id"].str.fullmatch(r"cus_\d{7}").all()
    assert p["amount"].str.fullmatch(r"-?\d+\.\d\d").all()
    assert set(p["currency"]) == {"USD"}
    assert set(p["status"]) == {"succeeded", "failed", "pending"}
    assert c["customer_id"].is_unique
    assert c["created_at"].str.fullmatch(PAID_AT["z"]).all()
    assert set(c["acquisition_channel"]) == {"organic", "paid_search", "social", "referral", "email"}
    assert c["country"].str.fullmatch(r"[A-Z]{2}").all()
    for name, pattern in PAID_AT.items():
        assert p["paid_at"].str.fullmatch(pattern).sum() > 0, name
    assert p["amount"].isin(["9.00", "19.00", "49.00", "99.00", "199.00"]).mean() > 0.8
    assert (~p["amount"].str.endswith(".00")).sum() > 100  # odd-cent amounts


def test_demo_volumes(demo: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    p, c = demo
    assert 20_000 <= len(p) <= 30_000
    assert 2_500 <= p.loc[p["is_purchase"], "customer_id"].nunique() <= 3_500
    refund_share = p["is_refund"].sum() / p["is_purchase"].sum()
    assert 0.01 <= refund_share <= 0.03
    assert 0.03 <= (p["status"] == "failed").mean() <= 0.07
    assert 0.005 <= (p["status"] == "pending").mean() <= 0.02
    assert 0.005 <= (~p["customer_id"].isin(c["customer_id"])).mean() <= 0.02


def test_demo_prospects(demo: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    p, c = demo
    everyone = set(c["customer_id"]) | set(p["customer_id"])
    buyers = set(p.loc[p["is_purchase"], "customer_id"])
    prospects = everyone - buyers
    assert 0.02 <= len(prospects) / len(everyone) <= 0.06
    assert prospects & set(p["customer_id"])  # with failed/pending payments only
    assert prospects - set(p["customer_id"])  # in the customers table only


def test_demo_failed_first_attempt_then_success(demo: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    p, _ = demo
    first = p.drop_duplicates("customer_id")  # payments are in time order
    failed_first = set(first.loc[first["status"] == "failed", "customer_id"])
    assert len(failed_first & set(p.loc[p["is_purchase"], "customer_id"])) >= 10


def test_demo_reactivations(demo: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    p, _ = demo
    days = p.loc[p["is_purchase"], ["customer_id", "ts"]].assign(day=lambda d: d["ts"].dt.floor("D"))
    gap = days.groupby("customer_id")["day"].diff().dt.days
    assert days.loc[gap > 90, "customer_id"].nunique() >= 100


def test_demo_same_day_purchases(demo: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    p, _ = demo
    buys = p[p["is_purchase"]].assign(day=lambda d: d["ts"].dt.floor("D"))
    assert buys.duplicated(["customer_id", "day"]).sum() >= 50
    assert buys.duplicated(["customer_id", "ts"]).sum() >= 10  # exactly the same timestamp


def test_demo_offsets_cross_months(demo: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    p, _ = demo
    offset = p[p["paid_at"].str.fullmatch(PAID_AT["offset"])]
    assert offset["paid_at"].str.slice(-6).nunique() >= 4
    local_month = offset["paid_at"].str.slice(0, 7)
    assert (local_month != offset["ts"].dt.strftime("%Y-%m")).sum() >= 1


def test_demo_customers_cohorts_decay(demo: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """Retention of the 2023 cohorts falls from month 1 to month 12, and arrivals grow."""
    p, _ = demo
    buys = p.loc[p["is_purchase"], ["customer_id", "ts"]]
    month = buys["ts"].dt.year * 12 + buys["ts"].dt.month
    cohort = month.groupby(buys["customer_id"]).transform("min")
    k = month - cohort
    in_2023 = cohort < 2024 * 12 + 1
    active = buys[in_2023].assign(k=k).groupby("k")["customer_id"].nunique()
    assert active[0] > active[1] > active[12]
    new_per_year = cohort.groupby(buys["customer_id"]).first().floordiv(12).value_counts()
    assert new_per_year[2024] > new_per_year[2023]


def test_demo_marketing_spend(demo: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """One row a month for every channel (two for search and social: campaigns), Jan 2023 .. Oct 2025,
    in the payments' currency. Spend divided by the customers whose first purchase is in the month,
    per channel over the period: 25-90 for the paid channels, organic a few units a customer. Same
    customers and seed, same rows; another seed, other spend (the payments and customers do not draw
    from the spend's stream: test_demo_seeds_are_current)."""
    p, c = demo
    customers = pa.Table.from_pandas(c, preserve_index=False)
    table = marketing_spend(customers, "USD", DEMO_SEED, DEMO_START, DEMO_END)
    assert marketing_spend(customers, "USD", DEMO_SEED, DEMO_START, DEMO_END).equals(table)
    assert not marketing_spend(customers, "USD", DEMO_SEED + 1, DEMO_START, DEMO_END).equals(table)
    spend = table.to_pandas()
    assert list(spend.columns) == ["month", "acquisition_channel", "spend", "currency"]
    assert len(spend) == 34 * 7
    assert (
        spend["month"].drop_duplicates().tolist()
        == [f"{year}-{month:02d}" for year in (2023, 2024, 2025) for month in range(1, 13)][:34]
    )
    per_month = spend.groupby("acquisition_channel").size() / 34
    assert per_month.to_dict() == {"email": 1, "organic": 1, "paid_search": 2, "referral": 1, "social": 2}
    assert spend["spend"].str.fullmatch(r"\d+\.\d\d").all()
    assert set(spend["currency"]) == {"USD"}
    spend["cents"] = spend["spend"].str.replace(".", "", regex=False).astype(np.int64)
    assert spend["cents"].sum() == 11_705_623

    first_month = p[p["is_purchase"]].groupby("customer_id")["ts"].min().dt.strftime("%Y-%m")
    channel = c.set_index("customer_id")["acquisition_channel"]
    new_customers = first_month.to_frame("month").join(channel, how="inner")
    cac = (
        spend.groupby("acquisition_channel")["cents"].sum()
        / 100
        / new_customers.groupby("acquisition_channel").size()
    ).round(2)
    assert cac.to_dict() == {
        "email": 25.61,
        "organic": 7.24,
        "paid_search": 90.02,
        "referral": 37.49,
        "social": 58.41,
    }
    organic = spend.loc[spend["acquisition_channel"] == "organic", "cents"]
    assert organic.between(10_000, 40_000).all()


@pytest.mark.parametrize(
    ("n", "seed", "start", "end"),
    [
        (DEMO_PAYMENTS, DEMO_SEED, DEMO_START, DEMO_END),
        (5_000, 3, dt.date(2024, 1, 1), dt.date(2024, 3, 31)),
        (20, 4, dt.date(2024, 2, 29), dt.date(2024, 2, 29)),
        (50_000, 5, dt.date(2020, 1, 1), dt.date(2025, 12, 31)),
    ],
)
def test_contract(n: int, seed: int, start: dt.date, end: dt.date) -> None:
    """Unique ids, time order, every row in [start, end], refunds after a purchase, created_at first."""
    p, c = frame(*generate(n, seed, start, end))
    assert 0.5 * n <= len(p) <= 2 * n
    assert p["payment_id"].is_unique
    assert p["ts"].is_monotonic_increasing
    assert p["payment_id"].is_monotonic_increasing
    assert p["ts"].min() >= pd.Timestamp(start)
    assert p["ts"].max() < pd.Timestamp(end + dt.timedelta(days=1))
    first_buy = p[p["is_purchase"]].groupby("customer_id")["ts"].min()
    refunds = p[p["is_refund"]]
    assert (refunds["ts"] > refunds["customer_id"].map(first_buy)).all()  # NaT (no purchase) compares False
    first_payment = p.groupby("customer_id")["ts"].min()
    known = c[c["customer_id"].isin(first_payment.index)]
    created = pd.to_datetime(known["created_at"], format="%Y-%m-%dT%H:%M:%SZ")
    assert (created.to_numpy() <= known["customer_id"].map(first_payment).to_numpy()).all()
    assert (
        pd.to_datetime(c["created_at"], format="%Y-%m-%dT%H:%M:%SZ")
        < pd.Timestamp(end + dt.timedelta(days=1))
    ).all()


@pytest.mark.slow
def test_one_million_payments() -> None:
    began = time.perf_counter()
    payments, customers = generate(1_000_000, 1, dt.date(2023, 1, 1), dt.date(2025, 12, 31))
    seconds = time.perf_counter() - began
    print(f"1M payments: {seconds:.1f} s, {payments.num_rows:,} rows, {customers.num_rows:,} customers")
    assert 900_000 <= payments.num_rows <= 1_100_000


# --- append_day ---------------------------------------------------------------------------------------

APPEND_PAYMENTS = 100_000  # about 150 payments a day at the end of the period: every kind of row shows up
APPEND_LATE = 40


def write_generated(out: Path, n: int, seed: int) -> Path:
    payments, customers = generate(n, seed, DEFAULT_START, DEFAULT_END)
    out.mkdir(parents=True, exist_ok=True)
    write_table(payments, out / "payments.parquet", "parquet")
    write_table(customers, out / "customers.parquet", "parquet")
    return out


@pytest.fixture(scope="module")
def appended(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The generated files before and after one append_day, with parsed payments."""
    data = write_generated(tmp_path_factory.mktemp("append"), APPEND_PAYMENTS, 11)
    before = {name: pq.read_table(data / f"{name}.parquet") for name in ("payments", "customers")}
    added = append_day(data, seed=5, late=APPEND_LATE)
    after = {name: pq.read_table(data / f"{name}.parquet") for name in ("payments", "customers")}
    p, _ = frame(after["payments"], after["customers"])
    n = before["payments"].num_rows
    return {
        "added": added,
        "before": before,
        "after": after,
        "old": p.iloc[:n],
        "day": p.iloc[n : n + added.new_day_rows],
        "late": p.iloc[n + added.new_day_rows :],
        "new_customers": after["customers"].to_pandas().iloc[before["customers"].num_rows :],
    }


def test_append_day_keeps_every_row_first_and_appends_what_it_reports(appended: dict) -> None:
    added, before, after = appended["added"], appended["before"], appended["after"]
    assert added.late_rows == APPEND_LATE
    assert added.new_day_rows >= 50 and added.new_customers >= 1
    for name, new_rows in (
        ("payments", added.new_day_rows + added.late_rows),
        ("customers", added.new_customers),
    ):
        assert after[name].num_rows == before[name].num_rows + new_rows
        assert after[name].schema == before[name].schema
        assert after[name].slice(0, before[name].num_rows).equals(before[name])
    assert added.total_rows == after["payments"].num_rows


def test_append_day_dates_the_day_after_the_latest_payment(appended: dict) -> None:
    old, day, added = appended["old"], appended["day"], appended["added"]
    latest = old["ts"].max().date()
    assert added.day == latest + dt.timedelta(days=1)
    assert (day["ts"].dt.date == added.day).all()
    assert day["ts"].is_monotonic_increasing
    # as many rows as an average day of the last four weeks, give or take
    per_day = (old["ts"] >= pd.Timestamp(latest - dt.timedelta(days=27))).sum() / 28
    assert 0.7 * per_day <= added.new_day_rows <= 1.3 * per_day
    assert {"succeeded", "failed"} <= set(day["status"]) <= {"succeeded", "failed", "pending"}
    assert 1 <= day["is_refund"].sum() <= 0.1 * len(day)
    assert (day["amount"].str.startswith("-") == day["is_refund"]).all()
    for kind in ("z", "offset", "naive"):
        assert day["paid_at"].str.fullmatch(PAID_AT[kind]).any(), kind


def test_append_day_late_rows_fall_in_earlier_months(appended: dict) -> None:
    old, late, added = appended["old"], appended["late"], appended["added"]
    latest_month = old["ts"].max().to_period("M")
    months_back = [(latest_month - month).n for month in late["ts"].dt.to_period("M")]
    assert set(months_back) <= {2, 3, 4} and len(set(months_back)) >= 2
    assert late["ts"].min() >= pd.Timestamp(added.late_from)
    assert late["ts"].max() < pd.Timestamp(added.late_to + dt.timedelta(days=1))
    assert (late["status"] == "succeeded").all()
    assert late["is_refund"].sum() == APPEND_LATE // 4
    assert late["is_purchase"].sum() == APPEND_LATE - APPEND_LATE // 4
    # existing customers who had bought before the late months: no late row is a first purchase
    purchases = old[old["is_purchase"]]
    first_buy = purchases.groupby("customer_id")["ts"].min()
    assert (late["customer_id"].map(first_buy) < late["ts"]).all()
    # some were out of the base (no purchase in the 90 days up to the late one): their history changes
    last_buy = purchases.groupby("customer_id")["ts"].max().dt.floor("D")
    days_since = (late["ts"].dt.floor("D") - late["customer_id"].map(last_buy)).dt.days
    lapsed = late[late["is_purchase"] & (days_since >= 90)]
    assert added.lapsed_customers == APPEND_LATE // 4
    assert lapsed["customer_id"].nunique() >= added.lapsed_customers


def test_append_day_ids_are_new_and_unique(appended: dict) -> None:
    old, day, late = appended["old"], appended["day"], appended["late"]
    ids = pd.concat([old["payment_id"], day["payment_id"], late["payment_id"]])
    assert ids.is_unique
    assert ids.str.fullmatch(r"pay_\d{9}").all()
    assert (pd.concat([day, late])["payment_id"] > old["payment_id"].max()).all()


def test_append_day_adds_new_customers_signed_up_before_paying(appended: dict) -> None:
    old, day, new, added = appended["old"], appended["day"], appended["new_customers"], appended["added"]
    before = appended["before"]["customers"].to_pandas()
    assert len(new) == added.new_customers
    assert new["customer_id"].is_unique
    assert not new["customer_id"].isin(before["customer_id"]).any()
    assert not new["customer_id"].isin(old["customer_id"]).any()
    assert new["customer_id"].str.fullmatch(r"cus_\d{7}").all()
    first_payment = day.groupby("customer_id")["ts"].min()
    created = pd.to_datetime(new["created_at"], format="%Y-%m-%dT%H:%M:%SZ")
    assert (created.dt.date == added.day).all()
    assert (created.to_numpy() <= new["customer_id"].map(first_payment).to_numpy()).all()
    # the rest of the day comes from existing customers, refunds from customers who bought lately
    returning = day[~day["customer_id"].isin(new["customer_id"])]
    assert len(returning) == added.new_day_rows - added.new_customers
    assert returning["customer_id"].isin(old["customer_id"]).all()
    recent_buyers = old.loc[
        old["is_purchase"] & (old["ts"] >= pd.Timestamp(added.day) - pd.Timedelta(days=30))
    ]
    assert day.loc[day["is_refund"], "customer_id"].isin(recent_buyers["customer_id"]).all()


def test_append_day_twice_and_deterministic(tmp_path: Path) -> None:
    original = write_generated(tmp_path / "original", 5_000, 3)
    runs = {}
    for name, seeds in (("a", [1, 2]), ("b", [1, 2]), ("c", [1, 9])):
        data = tmp_path / name
        shutil.copytree(original, data)
        runs[name] = [append_day(data, seed) for seed in seeds]
        runs[name].append(tuple((data / f"{t}.parquet").read_bytes() for t in ("payments", "customers")))
    first, second, files = runs["a"]
    assert runs["b"] == runs["a"]
    assert runs["c"][0] == first and runs["c"][2] != files
    assert second.day == first.day + dt.timedelta(days=1)
    assert first.late_rows >= 3 and second.late_rows >= 3
    p, c = frame(
        pq.read_table(tmp_path / "a" / "payments.parquet"),
        pq.read_table(tmp_path / "a" / "customers.parquet"),
    )
    assert p["payment_id"].is_unique and c["customer_id"].is_unique
    assert len(p) == second.total_rows
    assert p["ts"].max().date() == second.day


def test_append_day_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_generated(tmp_path / "data", 3_000, 4)
    rows = pq.read_metadata(data / "payments.parquet").num_rows
    assert cli(["--append-day", "--out", str(data), "--seed", "3", "--late", "5"]) == 0
    out = capsys.readouterr().out
    after = pq.read_metadata(data / "payments.parquet").num_rows
    assert ", 5 late rows dated " in out and f"{after:,} rows in all" in out
    assert after - rows > 5
    for bad in (
        ["--append-day", "--out", str(data), "--payments", "10"],
        ["--append-day", "--out", str(data), "--late", "-1"],
        ["--append-day", "--out", str(tmp_path / "missing")],
        ["--append-day"],
        ["--late", "3", "--out", str(tmp_path / "other")],
    ):
        assert cli(bad) == 2, bad
    assert pq.read_metadata(data / "payments.parquet").num_rows == after
    assert sorted(p.name for p in data.iterdir()) == ["customers.parquet", "payments.parquet"]
    assert not (tmp_path / "other").exists()
