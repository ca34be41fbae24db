"""`lifecycle publish --target postgres`: the published DuckDB marts, copied to PostgreSQL for BI tools
that need a server, with a read-only role that sees only them.

The marts are copied from the published (already checked) DuckDB file, not rebuilt there: one build,
the same numbers. They are loaded into a schema no reader can see yet and swapped in for `marts` in
the same transaction, so a BI tool reads the old marts or the new ones, never a half-loaded schema.
docs/pipeline.md, "Publishing to PostgreSQL"; docs/decisions.md, "BI access on PostgreSQL".
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg2
from psycopg2 import errors, sql

from lifecycle import settings
from lifecycle.paths import warehouse_path

EXIT_OK = 0
EXIT_INTERNAL_ERROR = 1
EXIT_USAGE = 2
# The server could not be reached, refused the login, or refused the publishing user something it needs.
EXIT_SERVER_REFUSED = 5

SCHEMA = "marts"
LOADING = "marts__publishing"  # never visible to others: created and renamed in one transaction
REPLACED_PREFIX = "marts__replaced_"
# One publish at a time per database (a session-level advisory lock; any constant key will do).
LOCK_KEY = 0x11FEC7C1E
# How long dropping the replaced marts waits for readers still using them before leaving them to
# the next publish.
DROP_LOCK_TIMEOUT = "10s"
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# DuckDB column types and their PostgreSQL counterparts; DECIMAL(p,s) keeps its precision and scale.
TYPES = {
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(39, 0)",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20, 0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "VARCHAR": "text",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "UUID": "uuid",
}
# libpq's words for a server that is not there.
UNREACHABLE = ("Connection refused", "timeout expired", "could not translate host name", "No route to host")
DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


class PublishError(Exception):
    """Stops a publish with an exit code and a one-line message saying what is wrong and what to do."""

    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Server:
    """Where to publish and as whom: the LIFECYCLE_PG_* variables profiles.yml's postgres target reads."""

    host: str
    port: int
    user: str
    password: str
    database: str
    reader: str
    reader_password: str

    def where(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.database}"


@dataclass
class Table:
    name: str
    columns: list[tuple[str, str]]  # (name, PostgreSQL type)
    rows: int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        choices=["postgres"],
        required=True,
        help="where to publish: postgres (LIFECYCLE_PG_HOST, LIFECYCLE_PG_PORT, LIFECYCLE_PG_USER, "
        "LIFECYCLE_PG_PASSWORD, LIFECYCLE_PG_DATABASE)",
    )
    parser.add_argument(
        "--reader",
        help="the read-only role BI tools log in as, created or updated by the publish (default: "
        "$LIFECYCLE_PG_READER); its password is $LIFECYCLE_PG_READER_PASSWORD",
    )


def run(args: argparse.Namespace) -> int:
    """Every failure becomes an exit code and one line on stderr, not a traceback."""
    try:
        server = server_from_environment(args.reader)
        source = _source_file()
        tables = publish(source, server)
    except PublishError as error:
        prefix = "usage error" if error.exit_code == EXIT_USAGE else "publish failed"
        print(f"{prefix}: {error}", file=sys.stderr)
        return error.exit_code
    except Exception as error:  # noqa: BLE001 - the one place internal errors become an exit code
        if os.environ.get("LIFECYCLE_DEBUG"):
            raise
        print(
            f"internal error: {type(error).__name__}: {str(error).strip()} "
            "(set LIFECYCLE_DEBUG=1 for a traceback); the marts on the server are unchanged",
            file=sys.stderr,
        )
        return EXIT_INTERNAL_ERROR
    rows = sum(table.rows for table in tables)
    print(
        f"published {len(tables)} tables ({rows:,} rows) from {source} to schema {SCHEMA} of "
        f"postgresql://{server.where()}; role {server.reader} can read them and nothing else"
    )
    return EXIT_OK


# ------------------------------------------------------------------------------------------ settings


def server_from_environment(reader_option: str | None) -> Server:
    """The connection and the reader from the environment; a missing or bad value is a usage error
    (exit 2) naming the variable, before anything is read or written. Passwords have no default."""
    env = os.environ

    def required(name: str, meaning: str) -> str:
        value = env.get(name, "")
        if not value:
            raise PublishError(EXIT_USAGE, f"{name} is not set: {meaning}; export it (it has no default)")
        return value

    user = required("LIFECYCLE_PG_USER", "the PostgreSQL user that publishes (owns the marts schema)")
    password = required("LIFECYCLE_PG_PASSWORD", f"the password of {user}")
    port_text = env.get("LIFECYCLE_PG_PORT", "5432")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise PublishError(
            EXIT_USAGE, f"LIFECYCLE_PG_PORT: {port_text!r} is not a port; give a number from 1 to 65535"
        )
    reader = reader_option or env.get("LIFECYCLE_PG_READER", "")
    if not reader:
        raise PublishError(
            EXIT_USAGE,
            "no read-only role named: give --reader ROLE or set LIFECYCLE_PG_READER (and "
            "LIFECYCLE_PG_READER_PASSWORD), the role BI tools log in as",
        )
    if not ROLE_NAME.match(reader):
        raise PublishError(
            EXIT_USAGE,
            f"reader role {reader!r}: use lower-case letters, digits and _ (starting with a letter or _), "
            "at most 63 characters",
        )
    if reader == user:
        raise PublishError(
            EXIT_USAGE,
            f"reader role {reader!r} is LIFECYCLE_PG_USER, the user that publishes and can write; "
            "name another role for BI tools",
        )
    reader_password = required(
        "LIFECYCLE_PG_READER_PASSWORD", f"the password BI tools log in with as {reader}"
    )
    return Server(
        host=env.get("LIFECYCLE_PG_HOST", "127.0.0.1"),
        port=int(port_text),
        user=user,
        password=password,
        database=env.get("LIFECYCLE_PG_DATABASE", "lifecycle"),
        reader=reader,
        reader_password=reader_password,
    )


def _source_file() -> Path:
    path = warehouse_path()
    try:
        settings.check_warehouse_file(path)
    except settings.SettingsError as error:
        raise PublishError(EXIT_USAGE, str(error)) from None
    if not path.exists() or path.stat().st_size == 0:
        raise PublishError(
            EXIT_USAGE,
            f"no published warehouse at {path}: run `lifecycle run` first, or point "
            "LIFECYCLE_DUCKDB_PATH at the warehouse to publish",
        )
    return path


# ------------------------------------------------------------------------------------------- publish


def publish(source: Path, server: Server) -> list[Table]:
    """Copy every table and view of schema `marts` in `source` to the server, swap them in, and give
    the reader USAGE on the schema and SELECT on its tables; returns what was published."""
    # The server first: a wrong password or a server that is down fails before anything is read.
    connection = _connect(server)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("select pg_try_advisory_lock(%s)", (LOCK_KEY,))
            if not cursor.fetchone()[0]:
                raise PublishError(
                    EXIT_INTERNAL_ERROR,
                    f"another publish to {server.database} is running; let it finish and run again",
                )
        with tempfile.TemporaryDirectory(prefix="lifecycle-publish-") as scratch:
            tables, files = _export(source, Path(scratch))
            with _refusals_explained(server):
                _ensure_reader(connection, server)
                _drop_replaced(connection)
                _load_and_swap(connection, server, tables, files)
                _drop_replaced(connection)
        for warning in _reader_write_access(connection, server):
            print(f"warning: {warning}", file=sys.stderr)
    finally:
        connection.close()  # and with it the advisory lock
    return tables


def _export(source: Path, scratch: Path) -> tuple[list[Table], dict[str, Path]]:
    """Every mart as a CSV file, read over one read-only connection: all from the same build, even if
    a run publishes a new file meanwhile (it replaces the file by rename; this connection keeps the
    old one)."""
    files = {}
    with duckdb.connect(str(source), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        tables = _describe(con, source)
        for table in tables:
            files[table.name] = scratch / f"{table.name}.csv"
            columns = ", ".join(_quote_duckdb(name) for name, _ in table.columns)
            con.execute(
                f"copy (select {columns} from {SCHEMA}.{_quote_duckdb(table.name)}) "
                f"to '{files[table.name]}' (format csv, header false)"
            )
    return tables, files


def _describe(con: duckdb.DuckDBPyConnection, source: Path) -> list[Table]:
    relations = con.execute(
        "select table_name from information_schema.tables where table_schema = ? order by table_name",
        [SCHEMA],
    ).fetchall()
    if not relations:
        raise PublishError(
            EXIT_USAGE,
            f"{source} has no schema {SCHEMA}: is it a lifecycle warehouse? run `lifecycle run` first",
        )
    tables = []
    for (name,) in relations:
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [SCHEMA, name],
        ).fetchall()
        rows = con.execute(f"select count(*) from {SCHEMA}.{_quote_duckdb(name)}").fetchone()[0]
        tables.append(
            Table(name, [(column, postgres_type(name, column, kind)) for column, kind in columns], rows)
        )
    return tables


def postgres_type(table: str, column: str, duckdb_type: str) -> str:
    """The PostgreSQL type that holds every value of a DuckDB column exactly."""
    if duckdb_type in TYPES:
        return TYPES[duckdb_type]
    decimal = DECIMAL.match(duckdb_type)
    if decimal:
        return f"numeric({decimal.group(1)}, {decimal.group(2)})"
    raise PublishError(
        EXIT_INTERNAL_ERROR,
        f"{SCHEMA}.{table}.{column} has DuckDB type {duckdb_type}, which the publish does not map to "
        "PostgreSQL (scripts/lifecycle/publish.py, TYPES); cast it in the model or add a mapping",
    )


def _quote_duckdb(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _connect(server: Server):

    try:
        return psycopg2.connect(
            host=server.host,
            port=server.port,
            user=server.user,
            password=server.password,
            dbname=server.database,
            connect_timeout=10,
            application_name="lifecycle publish",
            options="-c TimeZone=UTC",
        )
    except psycopg2.OperationalError as error:
        raise PublishError(EXIT_SERVER_REFUSED, _explain_connect_failure(server, str(error))) from None


def _explain_connect_failure(server: Server, message: str) -> str:
    detail = " ".join(message.split())
    if "password authentication failed" in detail or "no password supplied" in detail:
        return (
            f"PostgreSQL at {server.host}:{server.port} refused the login of user {server.user!r} "
            "(password authentication failed); check LIFECYCLE_PG_USER and LIFECYCLE_PG_PASSWORD"
        )
    if "does not exist" in detail and "database" in detail:
        return (
            f"database {server.database!r} does not exist on {server.host}:{server.port}; create it "
            "(createdb) or set LIFECYCLE_PG_DATABASE to an existing one"
        )
    unreachable = [sign for sign in UNREACHABLE if sign in detail]
    if unreachable:
        return (
            f"no PostgreSQL server answers at {server.host}:{server.port} ({unreachable[0].lower()}); "
            "check LIFECYCLE_PG_HOST and LIFECYCLE_PG_PORT and that the server is running"
        )
    return f"cannot connect to PostgreSQL as {server.where()}: {detail}; check the LIFECYCLE_PG_* variables"


class _refusals_explained:
    """A privilege the publishing user lacks becomes exit 5 with what to grant; the transaction is
    rolled back, so the marts on the server are unchanged."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:

        if isinstance(error, errors.InsufficientPrivilege):
            raise PublishError(
                EXIT_SERVER_REFUSED,
                f"PostgreSQL refused {self.server.user!r}: {str(error).strip().splitlines()[0]}; the "
                "publishing user needs CREATE on the database, CREATEROLE (to create the reader) and "
                f"ownership of an existing {SCHEMA} schema; the marts on the server are unchanged",
            ) from None
        return False


def _ensure_reader(connection, server: Server) -> None:
    """Create the reader, or reset an existing one to a login with the given password; refuse a role
    that can do more than read (a superuser, or one that creates roles or databases)."""

    with connection, connection.cursor() as cursor:
        cursor.execute(
            "select rolsuper or rolcreaterole or rolcreatedb or rolbypassrls "
            "from pg_roles where rolname = %s",
            (server.reader,),
        )
        found = cursor.fetchone()
        role = sql.Identifier(server.reader)
        if found is None:
            cursor.execute(
                sql.SQL(
                    "create role {} login password %s nosuperuser nocreatedb nocreaterole noinherit"
                ).format(role),
                (server.reader_password,),
            )
        elif found[0]:
            raise PublishError(
                EXIT_USAGE,
                f"role {server.reader!r} exists and can do more than read (a superuser, or it creates "
                "roles or databases, or bypasses row security); name another role with --reader or "
                "LIFECYCLE_PG_READER",
            )
        else:
            cursor.execute(sql.SQL("alter role {} login password %s").format(role), (server.reader_password,))
        cursor.execute(
            sql.SQL("grant connect on database {} to {}").format(sql.Identifier(server.database), role)
        )


def _load_and_swap(connection, server: Server, tables: list[Table], files: dict[str, Path]) -> None:
    """One transaction: load every table into the loading schema, check its row count, grant the
    reader, then rename the old marts away and the loading schema to marts. Nothing is visible to
    anyone else before the commit, and a failure rolls everything back."""

    loading, marts = sql.Identifier(LOADING), sql.Identifier(SCHEMA)
    replaced = sql.Identifier(REPLACED_PREFIX + time.strftime("%Y%m%dT%H%M%S") + "_" + uuid.uuid4().hex[:6])
    reader = sql.Identifier(server.reader)
    with connection, connection.cursor() as cursor:
        cursor.execute(sql.SQL("drop schema if exists {} cascade").format(loading))
        cursor.execute(sql.SQL("create schema {}").format(loading))
        for table in tables:
            name = sql.Identifier(LOADING, table.name)
            columns = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(kind))
                for column, kind in table.columns
            )
            cursor.execute(sql.SQL("create table {} ({})").format(name, columns))
            with files[table.name].open("rb") as handle:
                cursor.copy_expert(
                    sql.SQL("copy {} from stdin with (format csv)").format(name).as_string(cursor), handle
                )
            cursor.execute(sql.SQL("select count(*) from {}").format(name))
            loaded = cursor.fetchone()[0]
            if loaded != table.rows:
                raise PublishError(
                    EXIT_INTERNAL_ERROR,
                    f"{SCHEMA}.{table.name}: {loaded} rows loaded, {table.rows} in DuckDB; nothing published",
                )
            cursor.execute(sql.SQL("analyze {}").format(name))
        # Grants go to the new schema and its tables before the swap: they carry over with the rename,
        # so the reader can read the new marts from the moment they are visible.
        cursor.execute(sql.SQL("grant usage on schema {} to {}").format(loading, reader))
        cursor.execute(sql.SQL("grant select on all tables in schema {} to {}").format(loading, reader))
        cursor.execute("select 1 from pg_namespace where nspname = %s", (SCHEMA,))
        if cursor.fetchone():
            cursor.execute(sql.SQL("alter schema {} rename to {}").format(marts, replaced))
        cursor.execute(sql.SQL("alter schema {} rename to {}").format(loading, marts))


def _drop_replaced(connection) -> None:
    """Drop the marts earlier swaps replaced, once no reader is using them. One a reader still uses
    after DROP_LOCK_TIMEOUT stays for the next publish; so does one that objects elsewhere (a view
    someone made) depend on: dropping it would drop them too. Both with a warning."""

    with connection, connection.cursor() as cursor:
        cursor.execute(
            "select nspname from pg_namespace where nspname like %s order by nspname",
            (REPLACED_PREFIX.replace("_", r"\_") + "%",),
        )
        names = [row[0] for row in cursor.fetchall()]
    for name in names:
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(DROP_LOCK_TIMEOUT)))
                cursor.execute("select tablename from pg_tables where schemaname = %s", (name,))
                tables = [sql.Identifier(name, row[0]) for row in cursor.fetchall()]
                if tables:
                    cursor.execute(sql.SQL("drop table {}").format(sql.SQL(", ").join(tables)))
                cursor.execute(sql.SQL("drop schema {}").format(sql.Identifier(name)))
        except errors.LockNotAvailable:
            print(
                f"warning: schema {name} (marts replaced by a publish) is still being read; the next "
                "publish drops it",
                file=sys.stderr,
            )
        except errors.DependentObjectsStillExist as error:
            detail = " ".join((error.diag.message_detail or "").split())
            print(
                f"warning: schema {name} (marts replaced by a publish) is kept: other objects depend on "
                f"it ({detail}); they still read the old marts: recreate them on schema {SCHEMA}, "
                f"then drop schema {name}",
                file=sys.stderr,
            )


def _reader_write_access(connection, server: Server) -> list[str]:
    """What the reader could still write or create, through grants the publish does not control
    (PUBLIC's CREATE on schema public before PostgreSQL 15, a role it is a member of)."""
    checks = [
        (
            "select has_database_privilege(%s, current_database(), 'CREATE')",
            f"role {server.reader} can create schemas in database {server.database}; "
            f"revoke create on database {server.database} from {server.reader} (and from public)",
        ),
        (
            "select coalesce(bool_or(has_schema_privilege(%s, oid, 'CREATE')), false) from pg_namespace",
            f"role {server.reader} can create tables in a schema (PostgreSQL before 15 lets every role "
            "create in schema public); revoke create on schema public from public",
        ),
        (
            "select coalesce(bool_or(has_table_privilege(%s, c.oid, 'INSERT,UPDATE,DELETE,TRUNCATE')), "
            "false) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'marts' and c.relkind = 'r'",
            f"role {server.reader} can change the marts (a role it belongs to may); check its memberships",
        ),
    ]
    warnings = []
    with connection, connection.cursor() as cursor:
        for query, warning in checks:
            cursor.execute(query, (server.reader,))
            if cursor.fetchone()[0]:
                warnings.append(warning)
    return warnings
