"""`lifecycle publish --target postgres` puts the demo build's marts on a real PostgreSQL server (started
by the test), and the read-only role it creates reads every mart, the same numbers as DuckDB, and
nothing else: no other schema, no writes, no CREATE. A second publish keeps the reader's access, even
on a connection held open through it. Bad settings exit with a message naming what to fix."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg2
import psycopg2.errors
import pytest

from engines import postgres_server

LIFECYCLE = Path(sys.executable).with_name("lifecycle")
READER = "bi_reader"
# Schemas of the DuckDB warehouse that stay there: inputs, set-aside rows, building blocks, history.
NOT_PUBLISHED = ["raw", "quarantine", "staging", "intermediate", "snapshots", "ops"]
# Every role may use these; they hold no project data (public is empty: the publish writes only marts).
SYSTEM_SCHEMAS = {"pg_catalog", "information_schema", "public"}


def publish(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LIFECYCLE), "publish", "--target", "postgres"],
        env={**os.environ, "DO_NOT_TRACK": "1", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def server(demo_build: Path) -> Iterator[dict[str, str]]:
    """A throw-away server with the demo build's marts published once; the publish's environment."""
    with postgres_server() as pg_env:
        env = {
            **pg_env,
            "LIFECYCLE_DUCKDB_PATH": str(demo_build / "warehouse.duckdb"),
            "LIFECYCLE_PG_READER": READER,
            "LIFECYCLE_PG_READER_PASSWORD": "reader-password-from-the-environment",
        }
        result = publish(env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "warning" not in result.stderr, result.stderr
        yield env


def connect_as_reader(env: dict[str, str]):
    connection = psycopg2.connect(
        host=env["LIFECYCLE_PG_HOST"],
        port=env["LIFECYCLE_PG_PORT"],
        user=READER,
        password=env["LIFECYCLE_PG_READER_PASSWORD"],
        dbname=env["LIFECYCLE_PG_DATABASE"],
    )
    # As BI tools do: no transaction left open between queries. (Use closing(), not `with connection`,
    # which opens a transaction even in autocommit mode.)
    connection.autocommit = True
    return connection


def duckdb_marts(env: dict[str, str]) -> dict[str, dict]:
    """Per mart of the DuckDB file: row count, and the sum of every DECIMAL (money) column."""
    marts = {}
    with duckdb.connect(env["LIFECYCLE_DUCKDB_PATH"], read_only=True) as con:
        names = con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
        for (name,) in names:
            money = [
                column
                for column, kind in con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = 'marts' and table_name = ?",
                    [name],
                ).fetchall()
                if kind.startswith("DECIMAL")
            ]
            sums = ", ".join(f'sum("{column}")' for column in money)
            row = con.execute(f"select count(*){', ' + sums if sums else ''} from marts.{name}").fetchone()
            marts[name] = {"rows": row[0], "sums": dict(zip(money, row[1:], strict=True))}
    return marts


def unused_port() -> int:
    """A loopback port that was free a moment ago: nothing listens on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cell(cursor, query: str, *params):
    cursor.execute(query, params)
    return cursor.fetchone()[0]


@pytest.mark.engines
def test_the_reader_reads_every_mart_with_the_duckdb_numbers(server: dict[str, str]) -> None:
    expected = duckdb_marts(server)
    assert {"fct_revenue_monthly", "fct_churn_monthly", "dim_customers", "fct_win_back_list"} <= set(expected)
    with closing(connect_as_reader(server)) as connection, connection.cursor() as cursor:
        cursor.execute("select table_name from information_schema.tables where table_schema = 'marts'")
        assert {row[0] for row in cursor.fetchall()} == set(expected)
        for mart, numbers in expected.items():
            assert cell(cursor, f"select count(*) from marts.{mart}") == numbers["rows"], mart
            for column, total in numbers["sums"].items():
                # numeric in PostgreSQL, DECIMAL in DuckDB: equal to the cent and beyond
                assert cell(cursor, f'select sum("{column}") from marts.{mart}') == total, (mart, column)
        assert expected["fct_revenue_monthly"]["sums"]["net_revenue"] > Decimal("1000")
        # Types a BI tool can use as they are: dates, exact money, booleans, 64-bit counts, doubles.
        cursor.execute(
            "select column_name, data_type, numeric_scale from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'fct_churn_monthly'"
        )
        types = {name: (kind, scale) for name, kind, scale in cursor.fetchall()}
        assert types["month"] == ("date", None)
        assert types["net_revenue"] == ("numeric", 4)
        assert types["is_complete"] == ("boolean", None)
        assert types["customers_end"][0] == "bigint"
        assert types["churn_rate"][0] == "double precision"
        rates = cell(cursor, "select sum(churn_rate) from marts.fct_churn_monthly")
    with duckdb.connect(server["LIFECYCLE_DUCKDB_PATH"], read_only=True) as con:
        in_duckdb = con.execute("select sum(churn_rate) from marts.fct_churn_monthly").fetchone()[0]
    assert rates == pytest.approx(in_duckdb, rel=1e-12)


@pytest.mark.engines
def test_the_reader_sees_no_other_schema(server: dict[str, str]) -> None:
    with closing(connect_as_reader(server)) as connection, connection.cursor() as cursor:
        cursor.execute("select nspname from pg_namespace where nspname = any(%s)", (NOT_PUBLISHED,))
        assert cursor.fetchall() == [], "raw, quarantine or another internal schema was published"
        cursor.execute(
            "select nspname from pg_namespace where has_schema_privilege(oid, 'USAGE') order by nspname"
        )
        assert {row[0] for row in cursor.fetchall()} - SYSTEM_SCHEMAS == {"marts"}
        cursor.execute("select count(*) from pg_tables where schemaname = 'public'")
        assert cursor.fetchone()[0] == 0
        for schema in ["raw", "quarantine"]:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute(f"create schema {schema}")


@pytest.mark.engines
@pytest.mark.parametrize(
    "statement",
    [
        "insert into marts.fct_revenue_monthly (month) values (date '2030-01-01')",
        "update marts.fct_revenue_monthly set net_revenue = 0",
        "delete from marts.fct_win_back_list",
        "truncate marts.dim_customers",
        "drop table marts.fct_ltv",
        "alter table marts.fct_ltv add column x int",
        "create table marts.notes (note text)",
        "create table public.notes (note text)",
        "create table notes (note text)",
        "create schema notes",
        "create view marts.v as select 1 as one",
        "create index on marts.fct_ltv (cohort_month)",
        "comment on table marts.fct_ltv is 'mine'",
    ],
)
def test_the_reader_cannot_write(server: dict[str, str], statement: str) -> None:
    """Permission errors, not other failures. (Session-private temporary tables stay possible: every
    role has TEMPORARY on a database by default, docs/decisions.md.)"""
    with closing(connect_as_reader(server)) as connection, connection.cursor() as cursor:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute(statement)


@pytest.mark.engines
def test_publishing_again_keeps_the_readers_access(server: dict[str, str]) -> None:
    with closing(connect_as_reader(server)) as held, held.cursor() as cursor:
        before = cell(cursor, "select count(*) from marts.fct_customer_months")
        result = publish(server)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "warning" not in result.stderr, result.stderr
        # The connection held through the publish reads the new tables, with the reader's grants.
        assert cell(cursor, "select count(*) from marts.fct_customer_months") == before > 0
        cursor.execute("select nspname from pg_namespace where nspname like 'marts%'")
        assert [row[0] for row in cursor.fetchall()] == ["marts"], "a loading or replaced schema was left"
    with closing(connect_as_reader(server)) as connection, connection.cursor() as cursor:
        assert cell(cursor, "select count(*) from marts.fct_customer_months") == before
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute("delete from marts.fct_customer_months")


@pytest.mark.engines
def test_a_wrong_password_names_the_variables(server: dict[str, str]) -> None:
    result = publish({**server, "LIFECYCLE_PG_PASSWORD": "not-the-password"})
    assert result.returncode == 5, result.stderr
    assert "password authentication failed" in result.stderr
    assert "LIFECYCLE_PG_PASSWORD" in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_server_names_host_and_port(tmp_path: Path) -> None:
    warehouse = tmp_path / "lifecycle.duckdb"
    duckdb.connect(str(warehouse)).execute(
        "create schema marts; create table marts.t as select 1 as one"
    ).close()
    port = unused_port()
    result = publish(
        {
            "LIFECYCLE_DUCKDB_PATH": str(warehouse),
            "LIFECYCLE_PG_HOST": "127.0.0.1",
            "LIFECYCLE_PG_PORT": str(port),
            "LIFECYCLE_PG_USER": "lifecycle",
            "LIFECYCLE_PG_PASSWORD": "x",
            "LIFECYCLE_PG_READER": READER,
            "LIFECYCLE_PG_READER_PASSWORD": "y",
        }
    )
    assert result.returncode == 5, result.stderr
    assert f"no PostgreSQL server answers at 127.0.0.1:{port}" in result.stderr
    assert "LIFECYCLE_PG_HOST" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        ("LIFECYCLE_PG_PASSWORD", "LIFECYCLE_PG_PASSWORD is not set"),
        ("LIFECYCLE_PG_USER", "LIFECYCLE_PG_USER is not set"),
        ("LIFECYCLE_PG_READER", "LIFECYCLE_PG_READER"),
        ("LIFECYCLE_PG_READER_PASSWORD", "LIFECYCLE_PG_READER_PASSWORD is not set"),
    ],
)
def test_a_missing_variable_is_a_usage_error(unset: str, named: str, tmp_path: Path) -> None:
    env = {
        "LIFECYCLE_DUCKDB_PATH": str(tmp_path / "lifecycle.duckdb"),
        "LIFECYCLE_PG_USER": "lifecycle",
        "LIFECYCLE_PG_PASSWORD": "x",
        "LIFECYCLE_PG_READER": READER,
        "LIFECYCLE_PG_READER_PASSWORD": "y",
    }
    del env[unset]
    result = subprocess.run(
        [str(LIFECYCLE), "publish", "--target", "postgres"],
        env={key: value for key, value in os.environ.items() if not key.startswith("LIFECYCLE_PG")} | env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("usage error: ") and named in result.stderr
    assert "Traceback" not in result.stderr


def test_publishing_without_a_warehouse_says_to_run_first(tmp_path: Path) -> None:
    result = publish(
        {
            "LIFECYCLE_DUCKDB_PATH": str(tmp_path / "missing.duckdb"),
            "LIFECYCLE_PG_USER": "lifecycle",
            "LIFECYCLE_PG_PASSWORD": "x",
            "LIFECYCLE_PG_READER": READER,
            "LIFECYCLE_PG_READER_PASSWORD": "y",
        }
    )
    assert result.returncode == 2, result.stderr
    assert "no published warehouse" in result.stderr and "lifecycle run" in result.stderr
    assert not (tmp_path / "missing.duckdb").exists()
