"""Every model, source, seed, snapshot, metric and exposure has a description, and every model
column that the built relation really has is described in YAML.

`dbt docs generate` runs once on a copy of the demo build (so it also proves the docs site builds
clean there); its manifest.json says what YAML describes, its catalog.json which columns each built
relation has. A column in the table but missing from YAML fails, and so does a YAML column the
table no longer has.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dbt_project_runner import run_dbt


@pytest.fixture(scope="module")
def docs(demo_build: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """(manifest, catalog) of `dbt docs generate` on a copy of the demo warehouse."""
    workdir = tmp_path_factory.mktemp("docs")
    shutil.copyfile(demo_build / "warehouse.duckdb", workdir / "warehouse.duckdb")
    proc = run_dbt(["docs", "generate"], workdir)
    assert "[WARNING]" not in proc.stdout and " WARN " not in proc.stdout, proc.stdout[-4000:]
    target = workdir / "target"
    return json.loads((target / "manifest.json").read_text()), json.loads(
        (target / "catalog.json").read_text()
    )


def _described(entry: dict) -> bool:
    return bool((entry.get("description") or "").strip())


def test_every_node_has_a_description(docs: tuple[dict, dict]) -> None:
    manifest, _ = docs
    entries = [
        *(n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed", "snapshot")),
        *manifest["sources"].values(),
        *manifest["metrics"].values(),
        *manifest["semantic_models"].values(),
        *manifest["exposures"].values(),
    ]
    assert len([e for e in entries if e["resource_type"] == "model"]) >= 30
    missing = sorted(
        f"{e['resource_type']} {e['name']} ({e['original_file_path']})" for e in entries if not _described(e)
    )
    assert not missing, "no description:\n" + "\n".join(missing)


def test_every_model_column_is_described(docs: tuple[dict, dict]) -> None:
    manifest, catalog = docs
    problems = []
    for unique_id, node in sorted(manifest["nodes"].items()):
        if node["resource_type"] != "model":
            continue
        built = catalog["nodes"].get(unique_id)
        if built is None:
            problems.append(f"{node['name']}: not in the catalog (not built?)")
            continue
        real = [column.lower() for column in built["columns"]]
        documented = {name.lower(): column for name, column in node["columns"].items()}
        where = f"{node['name']} ({node['patch_path'] or node['original_file_path']})"
        missing = [column for column in real if column not in documented]
        blank = [column for column in real if column in documented and not _described(documented[column])]
        stale = [column for column in documented if column not in real]
        if missing:
            problems.append(f"{where}: columns missing from YAML: {', '.join(missing)}")
        if blank:
            problems.append(f"{where}: columns without a description: {', '.join(blank)}")
        if stale:
            problems.append(f"{where}: YAML columns the table does not have: {', '.join(stale)}")
    assert not problems, "\n".join(problems)
