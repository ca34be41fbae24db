"""Find, check and load the raw input files (the input contract in README.md).

File-level problems raise `InputFileError` with one line naming the file and the problem, before
anything is written. Row-level problems are not judged here: every row is loaded as text with its file
and line, and the dbt staging models decide which rows are accepted and which are set aside.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from lifecycle.paths import PROJECT_DIR


@dataclass(frozen=True)
class InputTable:
    name: str
    required: bool
    columns: tuple[str, ...]
    required_columns: tuple[str, ...]


PAYMENTS = InputTable(
    "payments",
    required=True,
    columns=("payment_id", "customer_id", "paid_at", "amount", "currency", "status"),
    required_columns=("payment_id", "customer_id", "paid_at", "amount", "currency", "status"),
)
CUSTOMERS = InputTable(
    "customers",
    required=False,
    columns=("customer_id", "created_at", "country", "acquisition_channel"),
    required_columns=("customer_id",),
)
MARKETING_SPEND = InputTable(
    "marketing_spend",
    required=False,
    columns=("month", "acquisition_channel", "spend", "currency"),
    required_columns=("month", "acquisition_channel", "spend", "currency"),
)
# The inputs the incremental models read past the last line they stored: appended.compare checks that
# each is the earlier input with rows appended, else the models are rebuilt whole.
INPUT_TABLES = (PAYMENTS, CUSTOMERS)
# Every input found, checked and loaded. The marketing spend is not among INPUT_TABLES: its models are
# rebuilt whole every run (a few rows per month and channel), so a re-exported or corrected spend file
# rebuilds nothing else.
ALL_INPUTS = (*INPUT_TABLES, MARKETING_SPEND)
DEMO_FILES = {
    "payments": PROJECT_DIR / "seeds" / "raw_payments.csv",
    "customers": PROJECT_DIR / "seeds" / "raw_customers.csv",
    "marketing_spend": PROJECT_DIR / "seeds" / "raw_marketing_spend.csv",
}
DELIMITERS = (",", ";", "\t", "|")
SCAN_CHUNK = 1 << 22
# DuckDB's readers expand these as a glob pattern: `data[1]/payments.csv` would read data1/payments.csv.
GLOB_CHARACTERS = re.compile(r"[*?\[\]{}]")


class InputFileError(Exception):
    """A whole input file is unusable; the message is one line naming the file and the problem."""


@dataclass
class InputFile:
    """One input file that passed the file-level checks."""

    table: str
    path: Path
    format: str
    size_bytes: int
    sha256: str
    encoding: str = "utf-8"
    delimiter: str = ","
    physical_lines: int = 0
    header: list[str] = field(default_factory=list)
    column_map: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    read_path: Path | None = None

    def to_dict(self) -> dict:
        record = asdict(self)
        record["path"] = str(self.path)
        record["read_path"] = str(self.read_path) if self.read_path else None
        return record

    @property
    def readable(self) -> Path:
        """The file DuckDB reads: the input itself, or its UTF-8 copy when it was UTF-16."""
        return self.read_path or self.path


def discover(data_dir: Path | None) -> dict[str, Path]:
    """The input files: `<table>.csv` or `<table>.parquet` in data_dir, or the demo seeds."""
    if data_dir is None:
        return dict(DEMO_FILES)
    if not data_dir.is_dir():
        raise InputFileError(f"{data_dir}: not a directory")
    found: dict[str, Path] = {}
    for table in ALL_INPUTS:
        candidates = [data_dir / f"{table.name}.{ext}" for ext in ("csv", "parquet")]
        present = [path for path in candidates if path.exists()]
        if len(present) > 1:
            raise InputFileError(
                f"{data_dir}: both {table.name}.csv and {table.name}.parquet are present; keep one"
            )
        if present:
            found[table.name] = present[0]
        elif table.required:
            raise InputFileError(
                f"{data_dir}: missing required file {table.name}.csv (or {table.name}.parquet)"
            )
    return found


def inspect(table: InputTable, path: Path, scratch: Path, renames: dict[str, str] | None = None) -> InputFile:
    """File-level checks: readable, not empty, known encoding, required columns present. A UTF-16 file
    is copied to `scratch` as UTF-8 for reading. `renames` (the input mapping's `columns`) names the
    export column a contract column is read from."""
    if not path.is_file():
        raise InputFileError(f"{path}: missing required file")
    size = path.stat().st_size
    if size == 0:
        raise InputFileError(f"{path}: empty file (0 bytes)")
    fmt = "parquet" if path.suffix.lower() == ".parquet" else "csv"
    if fmt == "parquet":
        info = _inspect_parquet(table, path, renames or {})
    else:
        info = _inspect_csv(table, path, scratch, renames or {})
    info.size_bytes = size
    if info.read_path is None and GLOB_CHARACTERS.search(str(path)):
        info.read_path = _plain_link(path, scratch / f"{table.name}.{fmt}")
    return info


def _plain_link(path: Path, link: Path) -> Path:
    """A symlink with a plain name to `path`, whose name DuckDB would take as a glob pattern: DuckDB
    then reads exactly the file inspected and checksummed here (Python's open() expands nothing)."""
    link.unlink(missing_ok=True)
    link.symlink_to(path.resolve())
    return link


@contextmanager
def _exactly(path: Path) -> Iterator[Path]:
    """`path`, or a symlink to it with a plain name while it is read, when its name has glob characters."""
    if not GLOB_CHARACTERS.search(str(path)):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="lifecycle-input-") as scratch:
        yield _plain_link(path, Path(scratch) / f"input{path.suffix.lower()}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(SCAN_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _scan_text(path: Path) -> tuple[str, int, str]:
    """(encoding, physical line count, sha256). Accepts UTF-8 (with or without BOM) and UTF-16 with a BOM."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        head = handle.read(4)
        handle.seek(0)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        else:
            encoding = "utf-8"
        decoder = codecs.getincrementaldecoder(encoding)()
        newlines = 0
        last = b""
        line = 1
        for chunk in iter(lambda: handle.read(SCAN_CHUNK), b""):
            digest.update(chunk)
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as error:
                bad_line = line + chunk[: error.start].count(b"\n")
                raise InputFileError(
                    f"{path}: unknown file encoding: not UTF-8 (byte 0x{chunk[error.start]:02X} on line "
                    f"{bad_line}); save the file as UTF-8"
                ) from None
            count = text.count("\n")
            newlines += count
            line += count
            last = chunk[-1:]
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InputFileError(f"{path}: unknown file encoding: the file ends inside a character") from None
    lines = newlines + (0 if last == b"\n" else 1)
    return encoding, lines, digest.hexdigest()


def _read_header(path: Path) -> tuple[str, list[str]]:
    """(delimiter, header names) from the first line of a UTF-8 file."""
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
    if not first.strip():
        raise InputFileError(f"{path}: empty file (no header line)")
    delimiter = max(DELIMITERS, key=first.count)
    names = next(csv.reader(io.StringIO(first), delimiter=delimiter))
    return delimiter, names


def _map_columns(
    table: InputTable, path: Path, found: list[str], renames: dict[str, str] | None = None
) -> dict[str, str]:
    """Contract column -> column in the file (names compared trimmed and case-insensitively); a
    renamed column (`renames`, from the input mapping) is looked up by the export's name."""
    renames = renames or {}
    wanted = {column: renames.get(column, column).strip().lower() for column in table.columns}
    by_key = {}
    for name in found:
        key = name.strip().lower()
        if key in by_key:
            raise InputFileError(f"{path}: column {key} appears twice in the header")
        by_key[key] = name
    missing = [column for column in table.required_columns if wanted[column] not in by_key]
    if missing:

        def named(column: str) -> str:
            return f"{column} (mapped to {renames[column]!r})" if column in renames else column

        raise InputFileError(
            f"{path}: missing column(s) {', '.join(map(named, missing))}; expected "
            f"{', '.join(map(named, table.columns))}; found {', '.join(name.strip() for name in found)}"
        )
    return {column: by_key[wanted[column]] for column in table.columns if wanted[column] in by_key}


def _inspect_csv(table: InputTable, path: Path, scratch: Path, renames: dict[str, str]) -> InputFile:
    encoding, lines, sha256 = _scan_text(path)
    read_path = None
    if encoding == "utf-16":
        read_path = scratch / f"{table.name}.utf8.csv"
        with (
            path.open("r", encoding="utf-16", newline="") as source,
            read_path.open("w", encoding="utf-8", newline="") as copy,
        ):
            shutil.copyfileobj(source, copy)
    delimiter, names = _read_header(read_path or path)
    column_map = _map_columns(table, path, names, renames)
    return InputFile(
        read_path=read_path,
        table=table.name,
        path=path,
        format="csv",
        size_bytes=0,
        sha256=sha256,
        encoding=encoding,
        delimiter=delimiter,
        physical_lines=lines,
        header=names,
        column_map=column_map,
    )


def _inspect_parquet(table: InputTable, path: Path, renames: dict[str, str]) -> InputFile:
    try:
        with duckdb.connect() as con, _exactly(path) as readable:
            described = con.execute("describe select * from read_parquet(?)", [str(readable)]).fetchall()
            names = [row[0] for row in described]
            con.execute("select count(*) from read_parquet(?)", [str(readable)]).fetchone()
    except duckdb.Error as error:
        raise InputFileError(f"{path}: unreadable Parquet file ({first_line(error)})") from None
    column_map = _map_columns(table, path, names, renames)
    return InputFile(
        table=table.name,
        path=path,
        format="parquet",
        size_bytes=0,
        sha256=_sha256(path),
        column_map=column_map,
    )


def first_line(error: Exception) -> str:
    """The first line of an error's message (DuckDB's run to several)."""
    return str(error).strip().splitlines()[0]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _reader_sql(info: InputFile) -> str:
    path = _literal(str(info.readable))
    if info.format == "parquet":
        return f"read_parquet({path})"
    columns = "{" + ", ".join(f"{_literal(name)}: 'VARCHAR'" for name in info.header) + "}"
    return (
        f"read_csv({path}, delim = {_literal(info.delimiter)}, quote = '\"', escape = '\"', header = true, "
        f"auto_detect = false, columns = {columns}, strict_mode = true, null_padding = false)"
    )


def load(con: duckdb.DuckDBPyConnection, files: dict[str, InputFile], schema: str = "raw") -> None:
    """Replace `<schema>.<table>` with every row of each file as text, plus `_source_file` and
    `_source_line`. Optional tables without a file are dropped so the models treat them as absent."""
    con.execute(f"create schema if not exists {schema}")
    for table in ALL_INPUTS:
        info = files.get(table.name)
        if info is None:
            con.execute(f"drop table if exists {schema}.{table.name}")
            continue
        selected = ", ".join(
            f"cast({_quote(info.column_map[column])} as varchar) as {column}"
            if column in info.column_map
            else f"cast(null as varchar) as {column}"
            for column in table.columns
        )
        first_line = 2 if info.format == "csv" else 1
        try:
            con.execute(
                f"create or replace table {schema}.{table.name} as "
                f"select {selected}, {_literal(str(info.path))} as _source_file, "
                f"row_number() over () + {first_line - 1} as _source_line "
                f"from {_reader_sql(info)}"
            )
        except duckdb.Error as error:
            raise InputFileError(
                f"{info.path}: unreadable or truncated file: {_describe_csv_error(error, info)}"
            ) from None
        # Read whole: under duckdb 2 a half-read result blocks _renumber_lines' register().
        [(info.rows,)] = con.execute(f"select count(*) from {schema}.{table.name}").fetchall()
        if info.rows == 0 and table.required:
            raise InputFileError(f"{info.path}: empty file (a header but no rows)")
        if info.format == "csv" and info.rows + 1 != info.physical_lines:
            _renumber_lines(con, f"{schema}.{table.name}", info)


def _describe_csv_error(error: duckdb.Error, info: InputFile) -> str:
    """DuckDB's CSV error reduced to the physical line and the cause."""
    text = str(error)
    line_match = re.search(r"CSV Error on Line: (\d+)", text)
    causes = ("Expected Number of Columns", "Value with unterminated quote", "Invalid unicode")
    cause = next((line.strip() for line in text.splitlines() if line.strip().startswith(causes)), None)
    if line_match is None:
        # Mixed CRLF and LF line endings stop DuckDB's strict reader with "The CSV Parser state
        # machine reached an invalid state" and no line: find the line ourselves.
        mixed = _first_other_line_ending(info)
        if mixed is not None:
            return f"line {mixed}: mixed line endings (CRLF and LF); save the file with one kind"
        return first_line(error)
    line = _physical_line(info, int(line_match.group(1)))
    return f"line {line}: {cause or first_line(error)}"


def _physical_line(info: InputFile, record_line: int) -> int:
    """DuckDB numbers CSV lines by record (header = 1); find where that record starts in the file, which
    differs once a quoted field has spanned lines."""
    with info.readable.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=info.delimiter)
        start = 1
        for number, _record in enumerate(reader, start=1):
            if number == record_line:
                return start
            start = reader.line_num + 1
    return record_line


def _first_other_line_ending(info: InputFile) -> int | None:
    """The physical line number of the first line that ends differently (CRLF or LF) from the header,
    or None. Line breaks inside quoted fields are data, not line endings, and are not compared."""
    quoted = False
    line = 1
    header_crlf = None
    previous = b""
    with info.readable.open("rb") as handle:
        for chunk in iter(lambda: handle.read(SCAN_CHUNK), b""):
            for found in re.finditer(rb'["\n]', chunk):
                position = found.start()
                if found.group() == b'"':
                    quoted = not quoted
                    continue
                crlf = (chunk[position - 1 : position] if position else previous) == b"\r"
                if not quoted:
                    if header_crlf is None:
                        header_crlf = crlf
                    elif crlf != header_crlf:
                        return line
                line += 1
            previous = chunk[-1:]
    return None


def _renumber_lines(con: duckdb.DuckDBPyConnection, relation: str, info: InputFile) -> None:
    """Some records span several lines (quoted newlines) or blank lines were skipped: take each record's
    first line from Python's csv reader instead of assuming one record per line."""
    starts: list[int] = []
    with info.readable.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=info.delimiter)
        next(reader)
        line = reader.line_num + 1
        for record in reader:
            if record:
                starts.append(line)
            line = reader.line_num + 1
    if len(starts) != info.rows:
        return
    line_starts = pd.DataFrame({"row_index": range(2, len(starts) + 2), "line": starts})
    con.register("line_starts", line_starts)
    con.execute(
        f"update {relation} set _source_line = line_starts.line from line_starts "
        f"where {relation}._source_line = line_starts.row_index"
    )
    con.unregister("line_starts")


def check_single_currency(
    con: duckdb.DuckDBPyConnection, files: dict[str, InputFile], schema: str = "raw"
) -> None:
    """More than one currency cannot be summed without conversion rates: a file-level error. Distinct
    three-letter codes are counted; anything else is a row-level invalid_currency in staging."""
    rows = con.execute(
        f"""
        select upper(trim(currency)) as code, min(_source_line) as first_line, count(*) as row_count
        from {schema}.payments
        where regexp_full_match(upper(trim(currency)), '[A-Z]{{3}}')
        group by 1
        order by first_line
        """
    ).fetchall()
    if len(rows) > 1:
        listed = ", ".join(f"{code} ({count:,} rows, first on line {line})" for code, line, count in rows[:5])
        raise InputFileError(
            f"{files['payments'].path}: column currency holds {len(rows)} currencies: {listed}; amounts "
            "are summed without conversion, so convert them to one currency before loading"
        )
