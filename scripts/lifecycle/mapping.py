"""The input mapping: how an export that does not follow the input contract is read (docs/input-mapping.md).

A small YAML file, given as `--mapping FILE` or found as `mapping.yml` in the data folder (`--mapping`
wins), says per input table which export column holds each contract column (`columns`), which export
status means which contract status (`status`, `refund_statuses`), which timestamp formats to try
(`timestamp`) and the amount's separators (`amount`); for `marketing_spend`, the columns and the spend's
separators (`amount`) only. The file is checked whole here: any problem is an `MappingError` (exit code
3) naming the file and the key.

Column renames are applied by the loader (inputs.py reads the contract column from the export's
column); the rest goes to dbt as the var `input_mapping` (the normalized mapping, `columns` included so
plain `dbt build --vars '{raw_data_dir: ..., input_mapping: ...}'` reads the same export) and is applied
in staging (macros/input_mapping.sql), so the raw tables and the quarantine keep the export's text.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from lifecycle.inputs import ALL_INPUTS, InputFileError, first_line

MAPPING_FILE_NAME = "mapping.yml"
CONTRACT_STATUSES = ("succeeded", "failed", "pending")
TIMESTAMP_KEYWORDS = ("iso", "epoch_seconds", "epoch_milliseconds")
DECIMAL_SEPARATORS = (".", ",")
THOUSANDS_SEPARATORS = (",", ".", " ", "'")
TABLE_KEYS = {
    "payments": ("columns", "status", "refund_statuses", "timestamp", "amount"),
    "customers": ("columns", "timestamp"),
    # The spend's month forms are fixed (docs/definitions.md, "Marketing spend"), and its channels must
    # be the customers' own names, which have no vocabulary either.
    "marketing_spend": ("columns", "amount"),
}
TIMESTAMP_COLUMN = {"payments": "paid_at", "customers": "created_at"}
AMOUNT_KEYS = ("decimal", "thousands")


class MappingError(InputFileError):
    """The mapping file is unusable; the message names the file and the key."""


@dataclass(frozen=True)
class InputMapping:
    """A checked mapping file: `tables` is the normalized mapping, the dbt var `input_mapping`."""

    path: Path
    source: str
    tables: dict[str, dict]

    def renames(self, table: str) -> dict[str, str]:
        """Contract column -> the export's column name, for the loader."""
        return dict(self.tables.get(table, {}).get("columns", {}))

    def dbt_var(self) -> dict[str, dict]:
        return self.tables


# ------------------------------------------------------------------ what the pipeline calls


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mapping",
        type=Path,
        help=f"input mapping YAML (default: {MAPPING_FILE_NAME} in --data-dir when present; see "
        "docs/input-mapping.md)",
    )


def requested(args: argparse.Namespace) -> dict:
    """The run record's `mapping` before the files are read: the file given with --mapping, if any."""
    explicit = getattr(args, "mapping", None)
    return {"file": str(explicit.resolve()), "source": "--mapping"} if explicit else {}


def apply(record_mapping: dict, data_dir: Path | None, say) -> InputMapping | None:
    """Resolve and check the mapping for a run; fills `record_mapping` (file, source, input_mapping)
    and says which file is used."""
    explicit = Path(record_mapping["file"]) if record_mapping.get("file") else None
    chosen = resolve(explicit, data_dir)
    if chosen is None:
        return None
    record_mapping.update(
        {"file": str(chosen.path), "source": chosen.source, "input_mapping": chosen.dbt_var()}
    )
    ignored = data_dir / MAPPING_FILE_NAME if data_dir is not None else None
    note = (
        f"; {ignored} is ignored"
        if chosen.source == "--mapping" and ignored is not None and ignored.is_file()
        else ""
    )
    say(f"input mapping: {chosen.path} (from {chosen.source}){note}")
    return chosen


def dbt_vars(record_mapping: dict) -> dict:
    """The dbt var `input_mapping`, when a mapping is in effect."""
    return {"input_mapping": record_mapping["input_mapping"]} if record_mapping.get("input_mapping") else {}


def resolve(explicit: Path | None, data_dir: Path | None) -> InputMapping | None:
    """The mapping in effect: `--mapping FILE` when given, else `<data_dir>/mapping.yml` when present,
    else none (the export follows the contract)."""
    if explicit is not None:
        if not explicit.is_file():
            raise MappingError(f"{explicit}: mapping file not found")
        return InputMapping(path=explicit, source="--mapping", tables=load(explicit))
    if data_dir is not None and (data_dir / MAPPING_FILE_NAME).is_file():
        path = data_dir / MAPPING_FILE_NAME
        return InputMapping(path=path, source="data folder", tables=load(path))
    return None


def load(path: Path) -> dict[str, dict]:
    """Read and check a mapping file; returns the normalized mapping."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise MappingError(f"{path}: unreadable mapping file ({error})") from None
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise MappingError(f"{path}: not valid YAML: {_yaml_problem(error)}") from None
    return normalize(document, path)


def normalize(document: object, path: Path) -> dict[str, dict]:
    """The mapping with every key checked: status values lower-cased and trimmed, formats as lists."""
    if document is None:
        raise MappingError(f"{path}: empty mapping file; expected the keys {', '.join(TABLE_KEYS)}")
    top = _mapping(document, path, "(top level)")
    _known_keys(top, TABLE_KEYS, path, "")
    normalized: dict[str, dict] = {}
    for table_name, table_document in top.items():
        key = table_name
        section = _mapping(table_document, path, key)
        _known_keys(section, TABLE_KEYS[table_name], path, f"{key}.")
        result: dict[str, object] = {}
        if "columns" in section:
            result["columns"] = _columns(section["columns"], table_name, path, f"{key}.columns")
        if "status" in section:
            result["status"] = _status(section["status"], path, f"{key}.status")
        if "refund_statuses" in section:
            refunds = _text_list(section["refund_statuses"], path, f"{key}.refund_statuses")
            refunds = [value.strip().lower() for value in refunds]
            for value in refunds:
                mapped = result.get("status", {}).get(value)
                if mapped not in (None, "succeeded"):
                    raise MappingError(
                        f"{path}: {key}.refund_statuses: {value!r} is a refund, which is a succeeded "
                        f"payment, but {key}.status maps it to {mapped!r}"
                    )
            result["refund_statuses"] = refunds
        if "timestamp" in section:
            result["timestamp"] = _timestamp_formats(section["timestamp"], path, f"{key}.timestamp")
        if "amount" in section:
            result["amount"] = _amount(section["amount"], path, f"{key}.amount")
        normalized[table_name] = result
    return normalized


def _columns(value: object, table_name: str, path: Path, key: str) -> dict[str, str]:
    contract = next(table.columns for table in ALL_INPUTS if table.name == table_name)
    columns = _mapping(value, path, key)
    _known_keys(columns, contract, path, f"{key}.")
    renames: dict[str, str] = {}
    seen: dict[str, str] = {}
    for column, export_column in columns.items():
        if not isinstance(export_column, str) or not export_column.strip():
            raise MappingError(f"{path}: {key}.{column}: expected the export's column name (text)")
        folded = export_column.strip().lower()
        if folded in seen:
            raise MappingError(
                f"{path}: {key}.{column}: column {export_column!r} is already read as {seen[folded]}"
            )
        seen[folded] = column
        renames[column] = export_column.strip()
    return renames


def _status(value: object, path: Path, key: str) -> dict[str, str]:
    vocabulary = _mapping(value, path, key)
    statuses: dict[str, str] = {}
    for export_value, status in vocabulary.items():
        if isinstance(export_value, bool) or not isinstance(export_value, str | int):
            raise MappingError(
                f"{path}: {key}: the export value {export_value!r} is not text; quote it, e.g. 'yes'"
            )
        folded = str(export_value).strip().lower()
        if not folded:
            raise MappingError(f"{path}: {key}: an empty export value")
        if folded in statuses:
            raise MappingError(f"{path}: {key}.{export_value}: listed twice (values are case-insensitive)")
        if not isinstance(status, str) or status.strip().lower() not in CONTRACT_STATUSES:
            raise MappingError(
                f"{path}: {key}.{export_value}: {status!r} is not a contract status "
                f"({', '.join(CONTRACT_STATUSES)})"
            )
        statuses[folded] = status.strip().lower()
    return statuses


def _timestamp_formats(value: object, path: Path, key: str) -> list[str]:
    formats = _text_list(value, path, key)
    checked = []
    with duckdb.connect() as con:
        for text in formats:
            if text.strip().lower() in TIMESTAMP_KEYWORDS:
                checked.append(text.strip().lower())
                continue
            if "%" not in text:
                raise MappingError(
                    f"{path}: {key}: unknown timestamp format {text!r}; expected one of "
                    f"{', '.join(TIMESTAMP_KEYWORDS)} or a strptime format such as '%d/%m/%Y %H:%M'"
                )
            try:
                con.execute("select try_strptime('', ?)", [text]).fetchall()
            except duckdb.Error as error:
                raise MappingError(
                    f"{path}: {key}: bad strptime format {text!r} ({first_line(error)})"
                ) from None
            checked.append(text)
    return checked


def _amount(value: object, path: Path, key: str) -> dict[str, str]:
    amount = _mapping(value, path, key)
    _known_keys(amount, AMOUNT_KEYS, path, f"{key}.")
    decimal = amount.get("decimal", ".")
    if decimal not in DECIMAL_SEPARATORS:
        raise MappingError(
            f"{path}: {key}.decimal: {decimal!r} is not a decimal separator; expected '.' or ','"
        )
    thousands = amount.get("thousands")
    thousands = "" if thousands in (None, "") else thousands
    if thousands and thousands not in THOUSANDS_SEPARATORS:
        raise MappingError(
            f"{path}: {key}.thousands: {thousands!r} is not a thousands separator; expected one of "
            f"{', '.join(repr(separator) for separator in THOUSANDS_SEPARATORS)} or none"
        )
    if thousands == decimal:
        raise MappingError(f"{path}: {key}: decimal and thousands separators are both {decimal!r}")
    return {"decimal": decimal, "thousands": thousands}


def _mapping(value: object, path: Path, key: str) -> dict:
    if not isinstance(value, dict):
        raise MappingError(f"{path}: {key}: expected a mapping (key: value lines), found {_kind(value)}")
    return value


def _text_list(value: object, path: Path, key: str) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(item, str) for item in values):
        raise MappingError(f"{path}: {key}: expected a list of text values, found {_kind(value)}")
    return values


def _known_keys(section: dict, known: tuple[str, ...] | dict, path: Path, prefix: str) -> None:
    for name in section:
        if name not in known:
            raise MappingError(f"{path}: {prefix}{name}: unknown key; expected {', '.join(known)}")


def _kind(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "text"}.get(type(value), type(value).__name__)


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict):
                continue  # SafeLoader itself refuses an unhashable key
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)
