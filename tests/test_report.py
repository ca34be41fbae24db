"""`lifecycle report`: the HTML page of the published warehouse, opened in headless Chromium.

The page is built from the session's demo warehouse and a run record written here. Chromium loads it
without a network and must log nothing to the console; every chart must be drawn with data; the
plotted numbers (read back from the figures' JSON) must equal the marts; the win-back table's first
rows must be the mart's. A screenshot is kept for a person to look at: target/report_screenshot.png.
Without Chromium the browser tests are skipped, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dbt_project_runner import PROJECT_DIR
from lifecycle import report

LIFECYCLE = Path(sys.executable).with_name("lifecycle")
SCREENSHOT_COPY = PROJECT_DIR / "target" / "report_screenshot.png"
FIGURES = [
    "cohort-retention-customers",
    "cohort-retention-revenue",
    "churn-bridge",
    "churn-rates",
    "revenue-new-returning",
    "ltv-cohort",
    "ltv-channel",
    "ltv-segment",
    "segment-revenue",
]
# Appended to a copy of the page: after the load, lists every plot's visible traces and the marks
# drawn for them, the resources the page fetched and its height, in a <pre> that --dump-dom prints.
PROBE = """
<script>
window.addEventListener("load", () => setTimeout(() => {
  const plots = [...document.querySelectorAll(".js-plotly-plot")].map((gd) => ({
    id: gd.id,
    points: gd._fullData.filter((t) => t.visible === true).map((t) => (t.z || t.y || []).length),
    marks: gd.querySelectorAll(".point, .hm image, .js-line").length,
  }));
  const probe = document.createElement("pre");
  probe.id = "probe";
  const resources = performance.getEntriesByType("resource").map((entry) => entry.name);
  probe.textContent = JSON.stringify({plots, resources, height: document.documentElement.scrollHeight});
  document.body.appendChild(probe);
}, 300));
</script>
</body>"""
CONSOLE = re.compile(r":CONSOLE[:(].*")


def chromium() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail("chromium is missing in CI: .ci/run installs it (apt-get install -y chromium)")
    pytest.skip("chromium is not installed (apt-get install -y chromium): the report is not opened")


def open_in_chromium(page: Path, *options: str) -> subprocess.CompletedProcess:
    """Open `page` in headless Chromium without a network (no host name resolves), its console
    messages on stderr."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        *options,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def console_messages(completed: subprocess.CompletedProcess) -> list[str]:
    return [match.group(0) for match in CONSOLE.finditer(completed.stderr)]


def figures(page: str) -> dict[str, list[dict]]:
    """Each figure's traces, as embedded in the page: the JSON given to Plotly.newPlot."""
    decoder = json.JSONDecoder()
    found = {}
    for call in re.finditer(r'Plotly\.newPlot\(\s*"([^"]+)",\s*', page):
        found[call.group(1)], _ = decoder.raw_decode(page, call.end())
    return found


def trace(traces: list[dict], name: str) -> dict:
    return next(item for item in traces if item.get("name") == name)


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def demo_record(warehouse: Path) -> dict:
    """A run record of the demo warehouse as `lifecycle run` writes it (the demo build is plain dbt)."""
    return {
        "run_id": "20261201T000000Z-demo0001",
        "command": "run",
        "warehouse": str(warehouse),
        "outcome": "success",
        "exit_code": 0,
        "message": None,
        "finished_at": "2026-12-01T00:00:30+00:00",
        "data_dir": "/exports/2026-12-01",
        "as_of_date": None,
        "settings": {"as_of_date": None, "churn_inactivity_days": 90, "reporting_timezone": "UTC"},
        "row_counts": [
            {"table": "payments", "rows_read": 25_043, "rows_accepted": 25_040, "rows_set_aside": 3},
            {"table": "customers", "rows_read": 2_994, "rows_accepted": 2_994, "rows_set_aside": 0},
        ],
        "set_aside_by_reason": {"payments": {"invalid_amount": 2, "missing_customer_id": 1}, "customers": {}},
        "dbt": {"counts": {"model": {"success": 29}, "test": {"pass": 66}}},
        "checks": [
            {"name": "inputs.payments", "success": True, "expectations": [{"success": True}] * 11},
            {"name": "marts.churn", "success": True, "expectations": [{"success": True}] * 10},
        ],
    }


@pytest.fixture(scope="module")
def built(demo_build: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """The report of the demo warehouse, with a successful run record and a later failed one."""
    warehouse = demo_build / "warehouse.duckdb"
    records = tmp_path_factory.mktemp("runs")
    shown = demo_record(warehouse)
    failed = {**shown, "run_id": "20261202T000000Z-demo0002", "outcome": "failed", "exit_code": 3}
    failed["message"] = "payments.csv: missing required column paid_at"
    other = {**shown, "run_id": "20261203T000000Z-other0003", "warehouse": "/elsewhere/lifecycle.duckdb"}
    for record in (shown, failed, other):
        (records / f"{record['run_id']}.json").write_text(json.dumps(record))
    out = tmp_path_factory.mktemp("report") / "lifecycle_report.html"
    report.write(warehouse, out, report.latest_record(warehouse, records))
    return warehouse, out, out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rendered(built: tuple[Path, Path, str]) -> dict:
    """The page as Chromium draws it: a probed copy's DOM dump, then a screenshot of the page itself."""
    _, out, page = built
    probed = out.with_name("probed.html")
    probed.write_text(page.replace("</body>", PROBE, 1), encoding="utf-8")
    dumped = open_in_chromium(probed, "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-3000:]
    probe = re.search(r'<pre id="probe">(.*?)</pre>', dumped.stdout, re.DOTALL)
    assert probe, "the probe did not run: " + dumped.stdout[-2000:]
    state = json.loads(probe.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    screenshot = out.with_name("report_screenshot.png")
    height = min(max(state["height"], 1000), 16_000)
    shot = open_in_chromium(out, f"--screenshot={screenshot}", f"--window-size=1400,{height}")
    assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-3000:]
    SCREENSHOT_COPY.parent.mkdir(exist_ok=True)
    shutil.copyfile(screenshot, SCREENSHOT_COPY)
    return {
        "state": state,
        "dom": dumped.stdout,
        "console": console_messages(dumped) + console_messages(shot),
        "screenshot": screenshot,
    }


def test_the_page_opens_without_console_messages_and_every_chart_is_drawn(
    built: tuple[Path, Path, str], rendered: dict
) -> None:
    assert rendered["console"] == []
    plots = {plot["id"]: plot for plot in rendered["state"]["plots"]}
    assert sorted(plots) == sorted(FIGURES)
    for name, plot in plots.items():
        assert plot["points"] and all(count > 0 for count in plot["points"]), (name, plot)
        assert plot["marks"] > 0, f"{name}: nothing drawn"
    # Self-contained: nothing asked for a network resource (none would load: no host name resolves).
    assert [url for url in rendered["state"]["resources"] if not url.startswith("file:")] == []
    assert rendered["screenshot"].stat().st_size > 100_000
    assert SCREENSHOT_COPY.exists()


def test_the_cohort_heatmaps_are_the_mart(built: tuple[Path, Path, str]) -> None:
    warehouse, _, page = built
    plotted = figures(page)
    for div_id, column in [
        ("cohort-retention-customers", "retention_rate"),
        ("cohort-retention-revenue", "cumulative_net_revenue_per_customer"),
    ]:
        heatmap = plotted[div_id][0]
        cells = {
            (cohort, k): value
            for row, cohort in enumerate(heatmap["y"])
            for k, value in zip(heatmap["x"], heatmap["z"][row], strict=True)
            if value is not None
        }
        expected = {
            (cohort.strftime("%Y-%m"), k): value
            for cohort, k, value in query(
                warehouse,
                f"select cohort_month, months_since_first, {column} from marts.fct_cohort_retention "
                "where is_complete",
            )
        }
        assert cells == pytest.approx(expected, rel=1e-12)
        assert len(expected) > 500
    # One cell by hand: the January 2024 cohort three months on.
    heatmap = plotted["cohort-retention-customers"][0]
    [(rate,)] = query(
        warehouse,
        "select retention_rate from marts.fct_cohort_retention "
        "where cohort_month = '2024-01-01' and months_since_first = 3",
    )
    assert heatmap["z"][heatmap["y"].index("2024-01")][heatmap["x"].index(3)] == rate


def test_churn_revenue_and_ltv_charts_are_the_marts(built: tuple[Path, Path, str]) -> None:
    warehouse, _, page = built
    plotted = figures(page)
    [(churn, trailing, churned)] = query(
        warehouse,
        "select churn_rate, churn_rate_trailing_6m, churned_customers from marts.fct_churn_monthly "
        "where month = '2024-06-01'",
    )
    for name, expected in [("churn rate", churn), ("churn rate, trailing 6 months", trailing)]:
        line = trace(plotted["churn-rates"], name)
        assert line["y"][line["x"].index("2024-06-01")] == expected
    bars = trace(plotted["churn-bridge"], "churned (−)")
    assert bars["y"][bars["x"].index("2024-06-01")] == -churned

    [(first, repeat)] = query(
        warehouse,
        "select first_purchase_revenue, repeat_purchase_revenue from marts.fct_revenue_monthly "
        "where month = '2025-03-01'",
    )
    for name, expected in [
        ("new customers (first purchases)", first),
        ("returning customers (repeat purchases)", repeat),
    ]:
        bars = trace(plotted["revenue-new-returning"], name)
        assert bars["y"][bars["x"].index("2025-03-01")] == pytest.approx(float(expected), abs=1e-9)

    [(organic,)] = query(
        warehouse,
        "select arpu_churn_ltv from marts.fct_ltv "
        "where grouping = 'acquisition_channel' and acquisition_channel = 'organic'",
    )
    bars = trace(plotted["ltv-channel"], "ARPU / churn")
    assert bars["y"][bars["x"].index("organic")] == organic

    [(champions_october,)] = query(
        warehouse,
        "select net_revenue from marts.fct_segment_monthly "
        "where classification = 'rfm_segment' and segment = 'champions' and month = '2025-10-01'",
    )
    bars = trace(plotted["segment-revenue"], "champions")
    assert bars["y"][bars["x"].index("2025-10")] == pytest.approx(float(champions_october), abs=1e-9)


def test_the_win_back_table_is_the_first_rows_of_the_mart(
    built: tuple[Path, Path, str], rendered: dict
) -> None:
    warehouse, _, _ = built
    table = re.search(r'<table id="win-back-table">(.*?)</table>', rendered["dom"], re.DOTALL)
    assert table
    rows = [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]
        for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.DOTALL)
    ]
    rows = [row for row in rows if row]
    expected = query(
        warehouse,
        "select priority, customer_id, value_at_stake, days_since_last_purchase "
        "from marts.fct_win_back_list order by priority limit 25",
    )
    assert len(rows) == len(expected) == report.WIN_BACK_ROWS
    for shown, (priority, customer_id, value_at_stake, days) in zip(rows[:5], expected, strict=False):
        assert shown[0] == str(priority)
        assert shown[1] == customer_id
        assert float(shown[3].replace(",", "")) == round(value_at_stake, 2)
        assert shown[4] == f"{days:,}"


def test_the_data_quality_section_shows_the_last_successful_run(built: tuple[Path, Path, str]) -> None:
    page = built[2]
    section = page[page.index('<section id="data-quality">') :]
    assert "20261201T000000Z-demo0001" in section
    assert "25,043" in section and "invalid_amount" in section and "missing_customer_id" in section
    assert "inputs.payments" in section and "11 of 11" in section
    # The later run that did not publish is named; the other warehouse's run is not.
    assert "20261202T000000Z-demo0002" in section and "missing required column paid_at" in section
    assert "other0003" not in section


def test_without_a_run_record_the_report_says_so(demo_build: Path, tmp_path: Path) -> None:
    warehouse = demo_build / "warehouse.duckdb"
    assert report.latest_record(warehouse, tmp_path / "no-runs") is None
    out = report.write(warehouse, tmp_path / "report.html", None)
    assert "No record of a successful <code>lifecycle run</code>" in out.read_text(encoding="utf-8")


def lifecycle_report(warehouse: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LIFECYCLE_DUCKDB_PATH": str(warehouse)}
    return subprocess.run(
        [str(LIFECYCLE), "report", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_the_command_writes_the_report_and_prints_its_path(demo_build: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "demo.html"
    completed = lifecycle_report(demo_build / "warehouse.duckdb", "--out", str(out))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == f"report: {out}\n"
    assert out.stat().st_size > 1_000_000  # plotly.js is inline


def test_a_bad_warehouse_or_destination_is_a_clear_message(demo_build: Path, tmp_path: Path) -> None:
    csv = tmp_path / "payments.csv"
    csv.write_text("payment_id,amount\nP1,10\n")
    no_marts = tmp_path / "empty.duckdb"
    duckdb.connect(str(no_marts)).close()
    out = tmp_path / "report.html"
    cases = [
        (tmp_path / "missing.duckdb", out, 2, "no warehouse at {warehouse}; run `lifecycle run` first"),
        (csv, out, 2, "{warehouse} is not a DuckDB database"),
        (no_marts, out, 3, "{warehouse} is not a complete lifecycle warehouse"),
        (demo_build / "warehouse.duckdb", tmp_path, 2, "cannot write {out}: Is a directory; choose a file"),
    ]
    for warehouse, destination, code, message in cases:
        completed = lifecycle_report(warehouse, "--out", str(destination))
        assert completed.returncode == code, (warehouse, completed.stderr)
        assert completed.stderr.startswith("report failed: "), completed.stderr
        assert message.format(warehouse=warehouse, out=destination) in completed.stderr
        assert "Traceback" not in completed.stderr and completed.stdout == ""
    assert not out.exists()


def test_a_run_whose_report_cannot_be_written_says_so_after_publishing(
    demo_build: Path, tmp_path: Path
) -> None:
    """The report step of `lifecycle run` (the published warehouse is the demo build here; the test
    of `lifecycle run` in test_pipeline.py checks the report a real run writes)."""
    from lifecycle import pipeline

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo_build / "warehouse.duckdb", warehouse)
    record = pipeline.RunRecord(command="run", data_dir=None, as_of_date=None, warehouse=str(warehouse))
    report.default_path(warehouse).mkdir()  # in the way
    with pytest.raises(pipeline.PipelineFailure) as failure:
        pipeline._write_report(record, warehouse)
    assert failure.value.exit_code == 1
    assert "the warehouse was published, but not the report: cannot write" in str(failure.value)
