"""The published warehouse file under faults: a write-ahead log left by a killed writer is never replayed
onto a new publish, and a copy of the file under another name (or attached under an alias) reads every
mart, views included."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from lifecycle.generate import DEFAULT_END, DEFAULT_START, generate, write_table
from lifecycle.pipeline import MARTS, mart_checksums
from test_pipeline import killed_when, lifecycle, record_of

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """2,000 generated payments run once into a fresh warehouse: (data folder, warehouse, record)."""
    data = tmp_path_factory.mktemp("data")
    payments, customers = generate(2_000, 3, DEFAULT_START, DEFAULT_END)
    write_table(payments, data / "payments.csv", "csv")
    write_table(customers, data / "customers.csv", "csv")
    warehouse = tmp_path_factory.mktemp("published") / "lifecycle.duckdb"
    completed = lifecycle(["run", "--data-dir", str(data)], warehouse)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return data, warehouse, record_of(completed)


def test_a_copy_under_another_name_reads_every_mart(
    small_run: tuple[Path, Path, dict], tmp_path: Path
) -> None:
    _, warehouse, record = small_run
    copy = tmp_path / "backup of the warehouse.duckdb"
    shutil.copyfile(warehouse, copy)
    with duckdb.connect(str(copy), read_only=True) as con:
        assert mart_checksums(con) == record["mart_checksums"]
    with duckdb.connect() as con:
        con.execute(f"attach '{copy}' as bi (read_only)")
        for mart in MARTS:
            [(rows,)] = con.execute(f"select count(*) from bi.marts.{mart}").fetchall()
            assert rows == record["mart_checksums"][mart]["rows"]


def test_a_stale_write_ahead_log_is_set_aside_not_replayed(small_run: tuple[Path, Path, dict]) -> None:
    """A writer that is not the pipeline (a plain dbt build pointed at the published file) changes marts
    and is killed before it checkpoints: its `.wal` stays beside the file. The next run sets it aside,
    rebuilds the models whole, and a reader of the published file sees exactly what that run recorded."""
    data, warehouse, _ = small_run
    killed_writer = textwrap.dedent(
        f"""
        import os, duckdb
        con = duckdb.connect({str(warehouse)!r})
        con.execute("set checkpoint_threshold = '10GB'")
        mart = "marts.fct_cohort_retention"
        con.execute(f"create or replace table {{mart}} as select * from {{mart}} limit 7")
        os._exit(9)  # no checkpoint, no clean close: the write-ahead log stays
        """
    )
    subprocess.run([sys.executable, "-c", killed_writer], check=False)
    wal = warehouse.with_name(warehouse.name + ".wal")
    assert wal.exists()
    completed = lifecycle(["run", "--data-dir", str(data)], warehouse)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "lifecycle.duckdb.wal was left by a writer that did not finish" in completed.stdout
    assert not wal.exists() and list(warehouse.parent.glob("lifecycle.duckdb.wal.stale-*"))
    record = record_of(completed)
    assert record["mart_checksums"]["fct_cohort_retention"]["rows"] > 7
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert mart_checksums(con) == record["mart_checksums"]


def docs_generate(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`dbt docs generate` as the README gives it, from `cwd`, with the project's profile."""
    project = Path(__file__).resolve().parents[1]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LIFECYCLE_")}
    environment.update({"DO_NOT_TRACK": "1", "DBT_PROFILES_DIR": str(project), **env})
    dbt = Path(sys.executable).with_name("dbt")
    return subprocess.run(
        [str(dbt), "docs", "generate", "--project-dir", str(project), "--target-path", str(cwd / "target")],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
    )


def test_docs_generate_on_a_fresh_clone_writes_the_dev_warehouse(tmp_path: Path) -> None:
    """Nothing built yet (a fresh clone, or only `make run`, which publishes the prod file): the
    default `dev` target, its own file, and every model and source in the catalog's manifest."""
    completed = docs_generate(tmp_path, {})
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert (tmp_path / "lifecycle_dev.duckdb").exists() and not (tmp_path / "lifecycle.duckdb").exists()
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    assert "model.customer_lifecycle.dim_customers" in manifest["nodes"]


def test_docs_generate_on_the_published_warehouse_of_a_data_dir_run(
    small_run: tuple[Path, Path, dict], tmp_path: Path
) -> None:
    """LIFECYCLE_DUCKDB_PATH naming the file a `--data-dir` run published (built from raw tables, not
    the demo seeds): the incremental models are rendered without querying their state, and the
    catalog describes the published marts."""
    _, warehouse, record = small_run
    completed = docs_generate(tmp_path, {"LIFECYCLE_DUCKDB_PATH": str(warehouse)})
    assert completed.returncode == 0, completed.stdout[-3000:]
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text())
    assert "model.customer_lifecycle.fct_churn_monthly" in catalog["nodes"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert mart_checksums(con) == record["mart_checksums"]


def test_a_killed_dbt_build_into_the_published_path_then_a_run(small_run: tuple[Path, Path, dict]) -> None:
    """The probe's case as a user would meet it: plain `dbt build` pointed at the published file is
    killed with SIGKILL halfway through its models; the next `lifecycle run` exits 0 and a reader sees
    exactly the marts that run recorded."""
    data, warehouse, _ = small_run
    project = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "DBT_PROFILES_DIR": str(project),
        "LIFECYCLE_DUCKDB_PATH": str(warehouse),
    }
    seen = killed_when(
        [
            str(Path(sys.executable).with_name("dbt")),
            "build",
            "--project-dir",
            str(project),
            "--target-path",
            str(warehouse.parent / "killed_target"),
            "--vars",
            json.dumps({"raw_data_dir": str(data)}),
        ],
        env,
        lambda line: "OK created" in line and "int_payments_summarized" in line,  # some models written
        cwd=warehouse.parent,
    )
    assert any("int_payments_summarized" in line for line in seen), "".join(seen[-20:])
    completed = lifecycle(["run", "--data-dir", str(data)], warehouse)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    record = record_of(completed)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert mart_checksums(con) == record["mart_checksums"]
