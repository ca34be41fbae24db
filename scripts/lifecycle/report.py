"""`lifecycle report`: the published warehouse as one self-contained HTML page.

The page reads the marts (read-only) and the run record of the build it shows, and embeds plotly.js,
so it opens from a file without a network. One function per section; each says which mart and
columns it plots. What each section shows: docs/report.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

from lifecycle import history, settings
from lifecycle.paths import warehouse_path

# The exit codes of README.md's table (the same as lifecycle.pipeline's).
EXIT_OK = 0
EXIT_INTERNAL_ERROR = 1
EXIT_USAGE = 2
EXIT_INVALID_INPUT = 3

WIN_BACK_ROWS = 25
REASON_LABELS = {
    "cooling": "cooling",
    "inactive_at_risk": "inactive, at risk",
    "hidden_churn": "hidden churn",
    "rfm_at_risk": "RFM at risk",
    "frequency_lost": "frequency lost",
}
SEGMENT_CLASSIFICATIONS = {
    "rfm_segment": "RFM segment",
    "new_or_returning": "new or returning",
    "regularity": "purchase regularity",
    "frequency_class": "frequency class",
    "inactivity_stage": "inactivity stage",
    "hidden_churn": "hidden churn",
}
PLOT_CONFIG = {"responsive": True, "displaylogo": False}
COLORS = {
    "new": "#2a9d8f",
    "reactivated": "#8ab17d",
    "churned": "#e76f51",
    "returning": "#6c9bc7",
    "refunds": "#f4a261",
    "line": "#1d3557",
}


class ReportError(Exception):
    """Stops the report with an exit code and a message that names the cause and the fix."""

    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ReportNotWritten(ReportError):
    """The page was built but could not be written where asked."""


def default_path(warehouse: Path) -> Path:
    """`<warehouse name>_report.html` beside the warehouse: lifecycle_report.html in the project root."""
    return warehouse.with_name(f"{warehouse.stem}_report.html")


# --------------------------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        help="the HTML file to write (default: <warehouse name>_report.html beside the warehouse)",
    )


def run(args: argparse.Namespace) -> int:
    """`lifecycle report`: write the report of the published warehouse and print its path."""
    warehouse = warehouse_path()
    out = (args.out or default_path(warehouse)).resolve()
    try:
        write(warehouse, out, latest_record(warehouse))
    except ReportNotWritten as error:
        print(
            f"report failed: {error}; choose a file in a folder you can write (--out FILE)", file=sys.stderr
        )
        return error.exit_code
    except ReportError as error:
        print(f"report failed: {error}", file=sys.stderr)
        return error.exit_code
    except Exception as error:  # noqa: BLE001 - a bug becomes exit 1 and one line, as in `lifecycle run`
        if os.environ.get("LIFECYCLE_DEBUG"):
            raise
        print(
            f"internal error: {type(error).__name__}: {error} (set LIFECYCLE_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL_ERROR
    print(f"report: {out}")
    return EXIT_OK


def latest_record(warehouse: Path, records_dir: Path | None = None) -> dict | None:
    """The newest run record of `warehouse` under target/runs/: the newest successful run (the build
    shown), with `later_runs` listing the runs after it that did not publish."""
    directory = records_dir or history.records_dir()
    records = []
    for path in sorted(directory.glob("*.json")) if directory.exists() else []:
        try:
            item = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if item.get("warehouse") == str(warehouse) and item.get("command") == "run":
            records.append(item)
    successes = [index for index, item in enumerate(records) if item.get("outcome") == "success"]
    if not successes:
        return None
    shown = records[successes[-1]]
    return {**shown, "later_runs": records[successes[-1] + 1 :]}


def write(warehouse: Path, out: Path, record: dict | None) -> Path:
    """Build the report of `warehouse` and write it to `out` whole (a temporary file renamed)."""
    page = build(warehouse, record)
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(page, encoding="utf-8")
        os.replace(temporary, out)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ReportNotWritten(EXIT_USAGE, f"cannot write {out}: {error.strerror or error}") from None
    return out


# ------------------------------------------------------------------------------------ the warehouse


def _connect(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """Open the published warehouse read-only; a missing or foreign file is a clear error, not a traceback."""
    fix = "run `lifecycle run` first, or point LIFECYCLE_DUCKDB_PATH at a published warehouse"
    if not warehouse.exists():
        raise ReportError(EXIT_USAGE, f"no warehouse at {warehouse}; {fix}")
    try:
        settings.check_warehouse_file(warehouse)
    except settings.SettingsError as error:
        raise ReportError(EXIT_USAGE, f"{error}") from None
    if warehouse.stat().st_size == 0:
        raise ReportError(EXIT_USAGE, f"{warehouse} is empty, not a built warehouse; {fix}")
    try:
        return duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as error:
        raise ReportError(EXIT_INVALID_INPUT, f"cannot open {warehouse}: {error}") from None


def _query(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def _context(con: duckdb.DuckDBPyConnection) -> dict:
    """The day described, the reporting window and the currency the money is in."""
    as_of_date, first_month, as_of_month = con.execute(
        "select as_of_date, first_month, as_of_month from intermediate.int_reporting_window"
    ).fetchone()
    try:
        row = con.execute(
            "select currency from intermediate.int_payments_accepted where currency is not null limit 1"
        ).fetchone()
        currency = row[0] if row else None
    except duckdb.Error:  # a view whose inputs are gone: the amounts are still the marts'
        currency = None
    return {
        "as_of_date": as_of_date,
        "first_month": first_month,
        "as_of_month": as_of_month,
        "currency": currency or "currency units",
    }


# ------------------------------------------------------------------------------------------- pieces


def _month_labels(values: pd.Series) -> list[str]:
    return [value.strftime("%Y-%m") for value in pd.to_datetime(values)]


def _values(series: pd.Series) -> list:
    """Plain JSON numbers (None for null) so the figure's data reads back as the marts' values."""
    return [None if pd.isna(value) else float(value) for value in series]


def _figure_html(figure, div_id: str) -> str:
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG)


def _layout(figure, title: str, x_title: str, y_title: str, height: int = 460) -> None:
    figure.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 17}},
        xaxis_title=x_title,
        yaxis_title=y_title,
        template="plotly_white",
        height=height,
        margin={"l": 70, "r": 30, "t": 90, "b": 60},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "xanchor": "left"},
        hovermode="x unified",
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13},
    )


def _note(text: str) -> str:
    return f'<p class="note">{text}</p>'


def _empty(mart: str) -> str:
    return _note(f"<code>{mart}</code> has no rows: nothing to plot.")


def _money(value, currency: str, decimals: int = 2) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):,.{decimals}f} {currency}"


def _percent(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value):.1%}"


def _section(section_id: str, title: str, body: str) -> str:
    return f'<section id="{section_id}"><h2>{html.escape(title)}</h2>\n{body}\n</section>'


# ----------------------------------------------------------------------------------------- sections


def headline_section(con: duckdb.DuckDBPyConnection, context: dict) -> str:
    """The last complete month's figures in a row of cards (fct_churn_monthly, fct_win_back_list)."""
    last = _query(
        con,
        """
        select month, customers_end, net_revenue, churn_rate_trailing_6m, ltv_trailing_6m
        from marts.fct_churn_monthly where is_complete order by month desc limit 1
        """,
    )
    win_back = con.execute("select count(*), sum(value_at_stake) from marts.fct_win_back_list").fetchone()
    if last.empty:
        return _section("headline", "Headline", _note("No complete month in marts.fct_churn_monthly yet."))
    row = last.iloc[0]
    month = row["month"].strftime("%B %Y")
    currency = context["currency"]
    cards = [
        (f"{int(row['customers_end']):,}", f"customers in the base at the end of {month}"),
        (_money(row["net_revenue"], currency, 0), f"net revenue in {month}"),
        (_percent(row["churn_rate_trailing_6m"]), "monthly churn, trailing 6 months"),
        (_money(row["ltv_trailing_6m"], currency, 0), "LTV per customer (ARPU / churn), trailing 6 months"),
        (
            f"{win_back[0]:,}",
            f"customers on the win-back list, {_money(win_back[1] or 0, currency, 0)} at stake",
        ),
    ]
    body = "".join(
        f'<div class="card"><div class="figure">{html.escape(value)}</div>'
        f'<div class="label">{html.escape(label)}</div></div>'
        for value, label in cards
    )
    return _section("headline", f"Headline: {month}", f'<div class="cards">{body}</div>')


def cohort_section(con: duckdb.DuckDBPyConnection, context: dict) -> str:
    """Two heatmaps of marts.fct_cohort_retention, cohorts down, months since the first purchase across:
    the share of each cohort buying (retention_rate) and the cumulative net revenue per customer."""
    cells = _query(
        con,
        """
        select cohort_month, months_since_first, cohort_size, active_customers, retention_rate,
            cumulative_net_revenue_per_customer
        from marts.fct_cohort_retention
        where is_complete
        order by cohort_month, months_since_first
        """,
    )
    if cells.empty:
        return _section("cohorts", "Cohort retention", _empty("marts.fct_cohort_retention"))
    cells["cohort"] = _month_labels(cells["cohort_month"])
    later = cells.loc[cells["months_since_first"] > 0, "retention_rate"]
    # Month 0 is 100% by definition; the colours spread over the later months' range.
    top = min(1.0, max(0.1, -(-later.max() * 10 // 1) / 10)) if not later.empty else 1.0
    customers = _heatmap(
        cells,
        value="retention_rate",
        extra=["active_customers", "cohort_size"],
        text="%{z:.0%}",
        colorbar="share of<br>the cohort<br>buying",
        colorbar_format=".0%",
        zmax=top,
        hover=(
            "cohort %{y}, month %{x}<br>%{z:.1%} of the cohort bought: "
            "%{customdata[0]:,} of %{customdata[1]:,}<extra></extra>"
        ),
        colorscale="Blues",
    )
    _layout(
        customers,
        "Customer retention: share of each cohort buying in each month after its first purchase",
        "Months since the first purchase (0 = the cohort month)",
        "Cohort (month of the first purchase)",
        height=max(460, 22 * cells["cohort"].nunique() + 160),
    )
    currency = context["currency"]
    revenue = _heatmap(
        cells,
        value="cumulative_net_revenue_per_customer",
        extra=["cohort_size"],
        text="%{z:,.0f}",
        colorbar=f"{currency} per<br>customer",
        colorbar_format=",.0f",
        zmax=None,
        hover=(
            f"cohort %{{y}}, months 0-%{{x}}<br>%{{z:,.2f}} {currency} net revenue per customer "
            "(cohort of %{customdata[0]:,})<extra></extra>"
        ),
        colorscale="Greens",
    )
    _layout(
        revenue,
        f"Revenue retention: cumulative net revenue per customer of each cohort ({currency})",
        "Months since the first purchase (0 = the cohort month)",
        "Cohort (month of the first purchase)",
        height=max(460, 22 * cells["cohort"].nunique() + 160),
    )
    for figure in (customers, revenue):
        figure.update_layout(hovermode="closest")
        figure.update_yaxes(autorange="reversed", type="category", dtick=1)
        figure.update_xaxes(dtick=1 if cells["months_since_first"].max() <= 36 else None)
    body = (
        _figure_html(customers, "cohort-retention-customers")
        + _note(
            "<code>marts.fct_cohort_retention.retention_rate</code>: customers of the cohort with a "
            "purchase in the month / cohort size. Only complete months are shown. Month 0 is 100% by "
            f"definition; the colour scale tops at {top:.0%} so that the later months' differences show."
        )
        + _figure_html(revenue, "cohort-retention-revenue")
        + _note(
            "<code>marts.fct_cohort_retention.cumulative_net_revenue_per_customer</code>: the cohort's "
            "purchases and refunds from its first month to month k / cohort size (the realized LTV curve)."
        )
    )
    return _section("cohorts", "Cohort retention", body)


def _heatmap(cells: pd.DataFrame, value: str, extra: list[str], text: str, colorbar: str, **options):
    import plotly.graph_objects as go

    grid = cells.pivot(index="cohort", columns="months_since_first", values=value)
    extras = [cells.pivot(index="cohort", columns="months_since_first", values=column) for column in extra]
    customdata = [
        [
            [None if pd.isna(table.at[row, col]) else int(table.at[row, col]) for table in extras]
            for col in grid
        ]
        for row in grid.index
    ]
    return go.Figure(
        go.Heatmap(
            z=[_values(grid.loc[row]) for row in grid.index],
            x=[int(col) for col in grid.columns],
            y=list(grid.index),
            customdata=customdata,
            texttemplate=text,
            textfont={"size": 9},
            hovertemplate=options["hover"],
            colorscale=options["colorscale"],
            zmin=0,
            zmax=options["zmax"],
            colorbar={"title": {"text": colorbar}, "tickformat": options["colorbar_format"]},
            xgap=1,
            ygap=1,
        )
    )


def churn_section(con: duckdb.DuckDBPyConnection, context: dict) -> str:
    """The monthly customer bridge and the churn and retention rates (marts.fct_churn_monthly)."""
    import plotly.graph_objects as go

    months = _query(con, "select * from marts.fct_churn_monthly order by month")
    if months.empty:
        return _section("churn", "Churn and retention", _empty("marts.fct_churn_monthly"))
    x = [value.strftime("%Y-%m-%d") for value in months["month"]]
    bridge = go.Figure()
    for column, name, sign in [
        ("new_customers", "new", 1),
        ("reactivated_customers", "reactivated", 1),
        ("churned_customers", "churned", -1),
    ]:
        bridge.add_bar(
            x=x,
            y=[None if value is None else sign * value for value in _values(months[column])],
            name=f"{name} (−)" if sign < 0 else f"{name} (+)",
            marker_color=COLORS[name],
            hovertemplate="%{y:,.0f}",
        )
    bridge.add_scatter(
        x=x,
        y=_values(months["customers_end"]),
        name="customers in the base at the month's end",
        mode="lines+markers",
        line={"color": COLORS["line"], "width": 2},
        hovertemplate="%{y:,.0f}",
    )
    bridge.update_layout(barmode="relative")
    _layout(
        bridge,
        "Customer bridge: start + new + reactivated − churned = end of month",
        "Month",
        "Customers",
    )
    rates = _rates_figure(months, x)
    for figure in (bridge, rates):
        figure.update_xaxes(type="date", tickformat="%b %Y", dtick="M3")
    partial = "" if months["is_complete"].iloc[-1] else " The last month is partial: it ends on as_of_date."
    body = (
        _figure_html(bridge, "churn-bridge")
        + _note(
            "<code>marts.fct_churn_monthly</code>: <code>new_customers</code>, "
            "<code>reactivated_customers</code>, <code>churned_customers</code> (drawn below zero) and "
            f"<code>customers_end</code>.{partial}"
        )
        + _figure_html(rates, "churn-rates")
        + _note(
            "<code>churn_rate</code> = churned / customers at the start; <code>retention_rate</code> = "
            "1 − churn_rate; the trailing figure pools the month and the five before it and is the one to "
            "quote, since one month's churn is noisy."
        )
    )
    return _section("churn", "Churn and retention", body)


def _rates_figure(months: pd.DataFrame, x: list[str]):
    """Retention above, churn below: two panels on one time axis, each scaled to its own range."""
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    for column, name, color, dash, row in [
        ("retention_rate", "retention rate", COLORS["new"], "solid", 1),
        ("churn_rate", "churn rate", COLORS["churned"], "dot", 2),
        ("churn_rate_trailing_6m", "churn rate, trailing 6 months", COLORS["churned"], "solid", 2),
    ]:
        figure.add_scatter(
            x=x,
            y=_values(months[column]),
            name=name,
            mode="lines+markers",
            line={"color": color, "dash": dash, "width": 2},
            marker={"size": 5},
            hovertemplate="%{y:.1%}",
            row=row,
            col=1,
        )
    _layout(figure, "Monthly retention and churn rates", "", "", height=560)
    figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    figure.update_yaxes(title_text="retention rate<br>(% of the month's start)", row=1, col=1)
    figure.update_yaxes(title_text="churn rate<br>(% of the month's start)", row=2, col=1)
    figure.update_xaxes(title_text="Month", row=2, col=1)
    return figure


def revenue_section(con: duckdb.DuckDBPyConnection, context: dict) -> str:
    """Revenue from new customers' first purchases and from returning customers, refunds and net
    revenue per month (marts.fct_revenue_monthly)."""
    import plotly.graph_objects as go

    months = _query(con, "select * from marts.fct_revenue_monthly order by month")
    if months.empty:
        return _section("revenue", "Revenue: new vs returning", _empty("marts.fct_revenue_monthly"))
    currency = context["currency"]
    x = [value.strftime("%Y-%m-%d") for value in months["month"]]
    figure = go.Figure()
    for column, name, color in [
        ("first_purchase_revenue", "new customers (first purchases)", COLORS["new"]),
        ("repeat_purchase_revenue", "returning customers (repeat purchases)", COLORS["returning"]),
        ("refunds", "refunds", COLORS["refunds"]),
    ]:
        figure.add_bar(
            x=x, y=_values(months[column]), name=name, marker_color=color, hovertemplate="%{y:,.2f}"
        )
    figure.add_scatter(
        x=x,
        y=_values(months["net_revenue"]),
        name="net revenue",
        mode="lines+markers",
        line={"color": COLORS["line"], "width": 2},
        hovertemplate="%{y:,.2f}",
    )
    figure.update_layout(barmode="relative")
    _layout(figure, f"Revenue from new and returning customers by month ({currency})", "Month", currency)
    figure.update_xaxes(type="date", tickformat="%b %Y", dtick="M3")
    figure.update_yaxes(tickformat=",.0f")
    body = _figure_html(figure, "revenue-new-returning") + _note(
        "<code>marts.fct_revenue_monthly</code>: <code>first_purchase_revenue</code> (a customer's first "
        "purchase), <code>repeat_purchase_revenue</code> (every later one), <code>refunds</code> (below "
        "zero) and <code>net_revenue</code> = gross revenue + refunds."
    )
    return _section("revenue", "Revenue: new vs returning", body)


def ltv_section(con: duckdb.DuckDBPyConnection, context: dict) -> str:
    """LTV by cohort (realized curves and CAC), by acquisition channel and by RFM segment (marts.fct_ltv)."""
    ltv = _query(con, "select * from marts.fct_ltv")
    if ltv.empty:
        return _section("ltv", "Lifetime value", _empty("marts.fct_ltv"))
    currency = context["currency"]
    body = (
        _ltv_by_cohort(ltv[ltv["grouping"] == "cohort_month"].sort_values("cohort_month"), currency)
        + _ltv_by_group(
            ltv[ltv["grouping"] == "acquisition_channel"],
            "acquisition_channel",
            "acquisition channel",
            "ltv-channel",
            currency,
        )
        + _ltv_by_group(
            ltv[ltv["grouping"] == "rfm_segment"], "rfm_segment", "RFM segment", "ltv-segment", currency
        )
        + _note(
            "Value figures are contribution: revenue × <code>gross_margin</code> (1.0 unless set). "
            "<b>Formula</b> = average order value × purchases per year × expected years retained; "
            "<b>ARPU / churn</b> = ARPU / monthly churn rate; <b>realized 12 months</b> = net revenue per "
            "customer over the first 12 months of age; <b>predicted CLV</b> from the BG/NBD and "
            "Gamma-Gamma models. Definitions: docs/definitions.md, “LTV”."
        )
    )
    return _section("ltv", "Lifetime value", body)


def _ltv_by_cohort(cohorts: pd.DataFrame, currency: str) -> str:
    import plotly.graph_objects as go

    if cohorts.empty:
        return _note("No cohorts in marts.fct_ltv.")
    x = _month_labels(cohorts["cohort_month"])
    figure = go.Figure()
    for column, name, width in [
        ("realized_ltv_3m", "realized, 3 months", 1.5),
        ("realized_ltv_6m", "realized, 6 months", 1.5),
        ("realized_ltv_12m", "realized, 12 months", 2.5),
        ("realized_ltv_24m", "realized, 24 months", 2.5),
    ]:
        figure.add_scatter(
            x=x,
            y=_values(cohorts[column]),
            name=name,
            mode="lines+markers",
            line={"width": width},
            hovertemplate="%{y:,.2f}",
        )
    figure.add_scatter(
        x=x,
        y=_values(cohorts["customer_acquisition_cost"]),
        name="acquisition cost (CAC)",
        mode="lines",
        line={"color": "#6c757d", "dash": "dash", "width": 2},
        hovertemplate="%{y:,.2f}",
    )
    _layout(
        figure,
        f"Realized LTV by cohort: net revenue per customer after 3, 6, 12 and 24 months ({currency})",
        "Cohort (month of the first purchase)",
        f"{currency} per customer",
    )
    figure.update_xaxes(type="category")
    return _figure_html(figure, "ltv-cohort") + _note(
        "<code>marts.fct_ltv</code> rows with <code>grouping = 'cohort_month'</code>: "
        "<code>realized_ltv_3m</code> … <code>realized_ltv_24m</code> (a cohort too young for a horizon "
        "has no point) and <code>customer_acquisition_cost</code> (the month's marketing spend / its new "
        "customers)."
    )


def _ltv_by_group(groups: pd.DataFrame, column: str, title: str, div_id: str, currency: str) -> str:
    import plotly.graph_objects as go

    if groups.empty:
        return _note(f"No {title} rows in marts.fct_ltv.")
    groups = groups.sort_values("arpu_churn_ltv", ascending=False, na_position="last")
    x = [value if isinstance(value, str) else "(none)" for value in groups[column]]
    figure = go.Figure()
    for measure, name in [
        ("formula_ltv", "formula"),
        ("arpu_churn_ltv", "ARPU / churn"),
        ("realized_ltv_12m", "realized, 12 months"),
        ("predicted_clv", "predicted CLV"),
        ("customer_acquisition_cost", "acquisition cost (CAC)"),
    ]:
        figure.add_bar(
            x=x,
            y=_values(groups[measure]),
            name=name,
            hovertemplate="%{y:,.2f}",
            marker_color="#6c757d" if measure == "customer_acquisition_cost" else None,
        )
    figure.update_layout(barmode="group")
    _layout(
        figure,
        f"LTV by {title}, four ways, and acquisition cost ({currency})",
        title[0].upper() + title[1:],
        currency,
    )
    figure.update_xaxes(type="category")
    figure.update_yaxes(tickformat=",.0f")
    return _figure_html(figure, div_id) + _note(
        f"<code>marts.fct_ltv</code> rows with <code>grouping = '{column}'</code>, ordered by "
        "ARPU / churn LTV. Customers of each group: "
        + ", ".join(f"{label} {int(count):,}" for label, count in zip(x, groups["customers"], strict=True))
        + "."
    )


def segment_section(con: duckdb.DuckDBPyConnection, context: dict) -> str:
    """Net revenue by segment and month, one classification at a time (marts.fct_segment_monthly)."""
    import plotly.graph_objects as go

    rows = _query(
        con,
        """
        select month, classification, segment, customers, net_revenue, net_revenue_share
        from marts.fct_segment_monthly order by month, classification, segment
        """,
    )
    if rows.empty:
        return _section("segments", "Revenue by segment", _empty("marts.fct_segment_monthly"))
    currency = context["currency"]
    classifications = [name for name in SEGMENT_CLASSIFICATIONS if name in set(rows["classification"])]
    figure = go.Figure()
    shown = []
    for classification in classifications:
        part = rows[rows["classification"] == classification]
        for segment, cells in part.groupby("segment", sort=True):
            figure.add_bar(
                x=_month_labels(cells["month"]),
                y=_values(cells["net_revenue"]),
                customdata=[[value] for value in _values(cells["net_revenue_share"])],
                name=f"{segment}",
                legendgroup=classification,
                visible=classification == classifications[0],
                hovertemplate=(f"{segment}: %{{y:,.2f}} {currency} (%{{customdata[0]:.1%}})<extra></extra>"),
            )
            shown.append(classification)
    buttons = [
        {
            "label": SEGMENT_CLASSIFICATIONS[classification],
            "method": "update",
            "args": [{"visible": [owner == classification for owner in shown]}],
        }
        for classification in classifications
    ]
    figure.update_layout(
        barmode="relative",
        updatemenus=[
            {
                "buttons": buttons,
                "direction": "down",
                "x": 1.02,
                "xanchor": "left",
                "y": 1.08,
                "yanchor": "bottom",
            }
        ],
    )
    _layout(
        figure,
        f"Net revenue by segment and month ({currency}); the menu on the right picks the classification",
        "Month",
        currency,
    )
    figure.update_layout(
        hovermode="closest",
        # The first segment is stacked at the bottom: the legend lists them in the same order.
        legend={
            "orientation": "v",
            "x": 1.02,
            "xanchor": "left",
            "y": 0.9,
            "yanchor": "top",
            "traceorder": "reversed",
        },
    )
    figure.update_xaxes(type="category")
    figure.update_yaxes(tickformat=",.0f")
    body = _figure_html(figure, "segment-revenue") + _note(
        "<code>marts.fct_segment_monthly</code>: <code>net_revenue</code> of each segment of a "
        "classification (its share of the month's in the hover); the segments of a classification add up "
        "to the month's classified customers. Segment rules: docs/definitions.md, “Segments”."
    )
    return _section("segments", "Revenue by segment", body)


def win_back_section(con: duckdb.DuckDBPyConnection, context: dict) -> str:
    """The customers most at risk, most valuable first, with their reasons (marts.fct_win_back_list)."""
    total, at_stake = con.execute(
        "select count(*), sum(value_at_stake) from marts.fct_win_back_list"
    ).fetchone()
    rows = _query(
        con,
        f"""
        select priority, customer_id, reasons, value_at_stake, days_since_last_purchase,
            window_net_revenue, net_revenue_drop, p_alive, rfm_segment, acquisition_channel, cohort_month
        from marts.fct_win_back_list order by priority limit {WIN_BACK_ROWS}
        """,
    )
    if rows.empty:
        return _section(
            "win-back", "Win-back list", _note("marts.fct_win_back_list is empty: nobody to contact.")
        )
    currency = context["currency"]
    header = [
        "priority",
        "customer",
        "reasons",
        f"value at stake ({currency})",
        "days since last purchase",
        f"net revenue, last 12 months ({currency})",
        f"net revenue drop ({currency})",
        "P(alive)",
        "RFM segment",
        "channel",
        "cohort",
    ]
    cells = []
    for row in rows.itertuples(index=False):
        reasons = ", ".join(REASON_LABELS.get(code, code) for code in row.reasons.split(","))
        cohort = row.cohort_month.strftime("%Y-%m") if not pd.isna(row.cohort_month) else "–"
        cells.append(
            [
                _number(row.priority, 0),
                row.customer_id,
                reasons,
                _number(row.value_at_stake),
                _number(row.days_since_last_purchase, 0),
                _number(row.window_net_revenue),
                # Only a drop: a customer buying above their own pace has none to show.
                _number(row.net_revenue_drop) if row.net_revenue_drop and row.net_revenue_drop > 0 else "–",
                _number(row.p_alive, 2),
                row.rfm_segment or "–",
                row.acquisition_channel or "–",
                cohort,
            ]
        )
    table = _table("win-back-table", header, cells, numbers={0, 3, 4, 5, 6, 7})
    intro = _note(
        f"{total:,} customers in the base on {context['as_of_date']} have a reason to be contacted, "
        f"{_money(at_stake or 0, currency)} at stake; the {len(rows)} with the most at stake are below. "
        "The whole list: <code>select * from marts.fct_win_back_list order by priority</code>. "
        "Reasons: cooling (no purchase for a third of the churn window), inactive at risk (two thirds), "
        "hidden churn (buying well below their own pace), RFM at risk (valuable, recency slipping), "
        "frequency lost (used to buy often, now rarely). Value at stake is the predicted CLV where the "
        "prediction runs, else the net revenue of the last 12 months."
    )
    return _section("win-back", "Win-back list", intro + table)


def _number(value, decimals: int = 2) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value):,.{decimals}f}"


def data_quality_section(record: dict | None, warehouse: Path) -> str:
    """What the run that built the warehouse read, set aside and checked (its record, target/runs/)."""
    if record is None:
        return _section(
            "data-quality",
            "Data quality of the last run",
            _note(
                f"No record of a successful <code>lifecycle run</code> of {html.escape(str(warehouse))} "
                "under target/runs/: the warehouse was built another way (plain <code>dbt build</code>), "
                "or its record was pruned. <code>lifecycle run</code> writes one."
            ),
        )
    parts = [_note(_run_line(record)), _rows_table(record), _set_aside_table(record), _checks_table(record)]
    for later in record.get("later_runs", []):
        parts.append(
            _note(
                f"<b>A later run did not publish:</b> {html.escape(later.get('run_id', '?'))} "
                f"({html.escape(str(later.get('outcome')))}, exit {later.get('exit_code')}): "
                f"{html.escape(str(later.get('message') or ''))}"
            )
        )
    return _section("data-quality", "Data quality of the last run", "".join(parts))


def _run_line(record: dict) -> str:
    chosen = record.get("settings", {})
    as_of = chosen.get("as_of_date") or record.get("as_of_date") or "the latest payment date"
    source = record.get("data_dir") or "the demo data"
    return (
        f"Run <code>{html.escape(record['run_id'])}</code>, {html.escape(str(record.get('outcome')))}, "
        f"finished {html.escape(str(record.get('finished_at')))}; read {html.escape(source)}; "
        f"as of {html.escape(str(as_of))}, churn after {chosen.get('churn_inactivity_days', '?')} days "
        f"without a purchase, time zone {html.escape(str(chosen.get('reporting_timezone', '?')))}. "
        f"Record: target/runs/{html.escape(record['run_id'])}.json."
    )


def _rows_table(record: dict) -> str:
    cells = [
        [
            row["table"],
            f"{row['rows_read']:,}",
            f"{row['rows_accepted']:,}",
            f"{row['rows_set_aside']:,}",
            _percent(row["rows_set_aside"] / row["rows_read"] if row["rows_read"] else None),
        ]
        for row in record.get("row_counts", [])
    ]
    header = ["input", "rows read", "accepted", "set aside", "share set aside"]
    return "<h3>Rows read</h3>" + _table("rows-read", header, cells, numbers={1, 2, 3, 4})


def _set_aside_table(record: dict) -> str:
    cells = [
        [table, reason, f"{count:,}"]
        for table, reasons in record.get("set_aside_by_reason", {}).items()
        for reason, count in reasons.items()
    ]
    if not cells:
        return "<h3>Rows set aside</h3>" + _note("None: every row read was used.")
    return (
        "<h3>Rows set aside, by reason</h3>"
        + _table("set-aside", ["input", "reason", "rows"], cells, numbers={2})
        + _note("The rows themselves, with file and line: schema <code>quarantine</code>.")
    )


def _checks_table(record: dict) -> str:
    tests = record.get("dbt", {}).get("counts", {}).get("test", {})
    dbt_line = (
        f"dbt data tests: {sum(tests.values()):,} run, "
        + ", ".join(f"{count:,} {status}" for status, count in sorted(tests.items()))
        + "."
        if tests
        else "dbt data tests: none recorded."
    )
    cells = []
    for check in record.get("checks", []):
        expectations = check.get("expectations", [])
        failed = [item for item in expectations if not item.get("success")]
        cells.append(
            [
                check["name"],
                "passed" if check.get("success") else "FAILED",
                f"{len(expectations) - len(failed)} of {len(expectations)}",
                "; ".join(
                    f"{item.get('expectation_type')} on {item.get('column') or 'the table'}"
                    for item in failed
                ),
            ]
        )
    header = ["Great Expectations suite", "result", "expectations passed", "failed"]
    return "<h3>Checks</h3>" + _note(html.escape(dbt_line)) + _table("checks", header, cells, numbers={2})


def _table(table_id: str, header: list[str], rows: list[list[str]], numbers: set[int]) -> str:
    """An HTML table; the columns in `numbers` are right-aligned. Every cell is escaped here."""

    def cell(index: int, text: str) -> str:
        align = ' class="number"' if index in numbers else ""
        return f"<td{align}>{html.escape(text)}</td>"

    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "\n".join("<tr>" + "".join(cell(i, text) for i, text in enumerate(row)) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>'


# --------------------------------------------------------------------------------------------- page

# The sections read from the marts, in page order; the data-quality section reads the run record.
SECTIONS: list[Callable[[duckdb.DuckDBPyConnection, dict], str]] = [
    headline_section,
    cohort_section,
    churn_section,
    revenue_section,
    ltv_section,
    segment_section,
    win_back_section,
]

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933;
       margin: 0; background: #f5f7fa; }
header { background: #1d3557; color: white; padding: 24px 40px; }
header h1 { margin: 0 0 6px 0; font-size: 26px; }
header p { margin: 2px 0; color: #dbe4ee; }
nav { padding: 10px 40px; background: white; border-bottom: 1px solid #d9e2ec; font-size: 14px; }
nav a { margin-right: 18px; color: #1d3557; }
main { max-width: 1320px; margin: 0 auto; padding: 10px 40px 40px; }
section { background: white; border-radius: 8px; padding: 16px 24px; margin: 18px 0;
          box-shadow: 0 1px 3px rgba(0, 0, 0, 0.08); }
h2 { font-size: 21px; margin: 4px 0 10px; color: #1d3557; }
h3 { font-size: 16px; margin: 18px 0 6px; }
.note { color: #52606d; font-size: 13.5px; margin: 4px 0 18px; line-height: 1.45; }
.cards { display: flex; flex-wrap: wrap; gap: 14px; }
.card { flex: 1 1 180px; border: 1px solid #d9e2ec; border-radius: 8px; padding: 12px 16px; }
.card .figure { font-size: 24px; font-weight: 600; color: #1d3557; }
.card .label { font-size: 13px; color: #52606d; margin-top: 4px; }
table { border-collapse: collapse; font-size: 13.5px; margin-bottom: 10px; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 5px 10px; text-align: left; white-space: nowrap; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
#win-back-table { width: 100%; }
#win-back-table th { white-space: normal; vertical-align: bottom; }
th { background: #f0f4f8; font-weight: 600; }
header code { background: rgba(255, 255, 255, 0.15); color: white; }
code { font-size: 12.5px; background: #f0f4f8; padding: 0 3px; border-radius: 3px; }
"""


def build(warehouse: Path, record: dict | None) -> str:
    """The whole page as one string: plotly.js inline, every figure's data in its JSON."""
    from plotly.offline import get_plotlyjs

    with _connect(warehouse) as con:
        try:
            context = _context(con)
            sections = [section(con, context) for section in SECTIONS]
        except duckdb.Error as error:
            raise ReportError(
                EXIT_INVALID_INPUT,
                f"{warehouse} is not a complete lifecycle warehouse ({str(error).splitlines()[0]}); "
                "rebuild it with `lifecycle run`",
            ) from None
    sections.append(data_quality_section(record, warehouse))
    anchors = [("headline", "Headline"), ("cohorts", "Cohorts"), ("churn", "Churn"), ("revenue", "Revenue")]
    anchors += [
        ("ltv", "LTV"),
        ("segments", "Segments"),
        ("win-back", "Win-back"),
        ("data-quality", "Data quality"),
    ]
    nav = "".join(f'<a href="#{anchor}">{label}</a>' for anchor, label in anchors)
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Customer lifecycle report, as of {context["as_of_date"]}</title>
<style>{STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<header>
<h1>Customer lifecycle report</h1>
<p>As of {context["as_of_date"]} (months {context["first_month"]:%B %Y} to {context["as_of_month"]:%B %Y});
amounts in {html.escape(context["currency"])}.</p>
<p>From {html.escape(str(warehouse))}, schema <code>marts</code>; written {generated}.</p>
</header>
<nav>{nav}</nav>
<main>
{"".join(sections)}
</main>
</body>
</html>
"""
