"""The business report: the lakehouse marts turned into one self-contained HTML page of charts.

Reads the star schema's Parquet folders straight from the lake (`<lake>/lakehouse/<model>/`, no
metastore), aggregates in Spark, draws the small results with matplotlib and writes one HTML page
whose charts are embedded PNG images (no external URL, so it opens from a bucket, a mail or a disk):

- net revenue by quarter and orders by month, by customer region,
- net revenue by market segment and year, the top customers,
- late deliveries (received after the supplier's commit date) by ship mode,
- supplier performance by supplier nation and the top suppliers,
- the returned share of order lines by quarter and region.

The page goes to `<lake>/reports/business-report-<UTC timestamp>.html` and is copied to
`<lake>/reports/latest.html`; each file is written under a temporary name and renamed, so a reader
never sees half a page. For a `gs://` lake the page is written locally and uploaded (the manifest-last
upload of `ingest.lake`, with checksums), `latest.html` last.

Run it as `python -m reports.business_report [--lake URI] [--out DIR]`, call `build_report()` (the
Airflow task), or submit the file to a cluster: `spark-submit reports/business_report.py --lake
gs://BUCKET/PREFIX` (on Dataproc the GCS connector reads the marts; without the `ingest` package next
to the file the page is copied to the bucket through Spark's Hadoop file system instead).
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# The marts the page reads; dbt_project/models/exposures.yml declares the same list.
MARTS = ("fct_order_lines", "fct_orders", "dim_customer", "dim_supplier")
TOP_N = 10
REGION_COLORS = {
    "AFRICA": "#e15759",
    "AMERICA": "#4e79a7",
    "ASIA": "#f28e2b",
    "EUROPE": "#59a14f",
    "MIDDLE EAST": "#b07aa1",
}
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]


class ReportError(RuntimeError):  # standalone on a cluster: no project imports
    """The report cannot be made; the message says what to do next."""


# -- where things are ----------------------------------------------------------------------


def _ingest_lake() -> ModuleType | None:
    """The project's `ingest.lake` module, or None when this file was submitted alone to a cluster."""
    repo = Path(__file__).resolve().parent.parent
    if (repo / "ingest").is_dir() and str(repo) not in sys.path:
        sys.path.insert(0, str(repo))  # `spark-submit reports/business_report.py` puts reports/ first
    try:
        from ingest import lake
    except ImportError:
        return None
    return lake


def _local_dir() -> Path:
    """`ingest.settings.local_dir()` (LAKEHOUSE_LOCAL_DIR or <repo>/.local), or a temp folder on a cluster."""
    if _ingest_lake() is not None:
        from ingest.settings import local_dir

        return local_dir()
    return Path(os.environ.get("LAKEHOUSE_LOCAL_DIR") or Path(tempfile.gettempdir()) / "lakehouse")


def default_lake_uri() -> str:
    """`ingest.lake.default_lake_uri()` (the project's one rule) when the package is here; on a
    cluster, where this file runs alone, `LAKEHOUSE_LAKE_URI` (the DAG always passes --lake)."""
    lake = _ingest_lake()
    if lake is not None:
        return str(lake.default_lake_uri())
    return os.environ.get("LAKEHOUSE_LAKE_URI") or (_local_dir() / "lake").resolve().as_uri()


def normalize_lake_uri(uri: str) -> str:
    """`file:///abs/path` or `gs://bucket/prefix`, validated by `ingest.lake` when it is there."""
    lake = _ingest_lake()
    if lake is not None:
        return str(lake.parse_lake(uri).uri)
    if uri.startswith(("gs://", "file://")):
        return uri.rstrip("/")
    return Path(uri).expanduser().resolve().as_uri()


def spark_location(lake_uri: str) -> str:
    """The lake as Hadoop wants it: `file://` and the plain path (no percent escapes), or gs://."""
    if lake_uri.startswith("file://"):
        return "file://" + unquote(urlsplit(lake_uri).path)
    return lake_uri


# -- Spark ---------------------------------------------------------------------------------


def _spark() -> tuple[SparkSession, bool]:
    """The active session (spark-submit, a notebook), else a small local one. True if we made it."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    builder = SparkSession.builder.appName("lakehouse-business-report").config("spark.sql.session.timeZone", "UTC")
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit: a private local[2] session
        state = _local_dir().resolve() / "spark-report"
        tmp = state / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        builder = (
            builder.master(os.environ.get("LAKEHOUSE_SPARK_MASTER", "local[2]"))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.driver.memory", "2g")
            .config("spark.local.dir", str(tmp))
            .config("spark.sql.warehouse.dir", str(state / "warehouse"))
            .config("spark.driver.extraJavaOptions", f"-Djava.io.tmpdir={tmp}")
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark, True


def _register_marts(spark: SparkSession, lake_uri: str) -> None:
    from pyspark.errors import AnalysisException

    for model in MARTS:
        path = f"{spark_location(lake_uri)}/lakehouse/{model}"
        try:
            frame = spark.read.parquet(path)
        except AnalysisException as exc:  # the folder does not exist, or holds no Parquet
            raise ReportError(
                f"cannot read the mart {model} at {path}: {exc}. Build the marts first "
                "(`dbt build --select +marts`), or point --lake / LAKEHOUSE_LAKE_URI at the right lake."
            ) from exc
        frame.createOrReplaceTempView(model)


# -- the questions, answered in Spark ----------------------------------------------------------

QUERIES = {
    "overview": """
        select
            (select min(order_date) from fct_orders) as first_order,
            (select max(order_date) from fct_orders) as last_order,
            (select count(*) from fct_orders) as orders,
            (select count(distinct customer_key) from fct_orders) as customers,
            count(*) as lines,
            sum(net_revenue) as net_revenue,
            avg(case when receipt_date > commit_date then 1.0 else 0.0 end) as late_share,
            sum(case when return_flag = 'R' then 1 else 0 end)
                / nullif(sum(case when return_flag in ('R', 'A') then 1 else 0 end), 0) as returned_share
        from fct_order_lines
    """,
    "revenue_by_quarter_region": """
        select cast(trunc(lines.order_date, 'QUARTER') as date) as quarter, customers.region_name as region,
               sum(lines.net_revenue) as value
        from fct_order_lines as lines
        inner join dim_customer as customers on lines.customer_key = customers.customer_key
        group by 1, 2
    """,
    "orders_by_month_region": """
        select cast(trunc(orders.order_date, 'MM') as date) as month, customers.region_name as region,
               count(*) as value
        from fct_orders as orders
        inner join dim_customer as customers on orders.customer_key = customers.customer_key
        group by 1, 2
    """,
    "revenue_by_segment_year": """
        select customers.market_segment as segment, year(lines.order_date) as year, sum(lines.net_revenue) as value
        from fct_order_lines as lines
        inner join dim_customer as customers on lines.customer_key = customers.customer_key
        group by 1, 2
    """,
    "top_customers": f"""
        select customers.customer_key, customers.customer_name, customers.market_segment,
               customers.nation_name, count(distinct lines.order_key) as orders,
               sum(lines.net_revenue) as net_revenue
        from fct_order_lines as lines
        inner join dim_customer as customers on lines.customer_key = customers.customer_key
        group by 1, 2, 3, 4
        order by net_revenue desc, customer_key
        limit {TOP_N}
    """,
    "late_by_ship_mode": """
        select ship_mode, count(*) as lines,
               sum(case when receipt_date > commit_date then 1 else 0 end) as late_lines,
               avg(case when receipt_date > commit_date then datediff(receipt_date, commit_date) end) as avg_days_late
        from fct_order_lines
        group by 1
        order by 1
    """,
    "suppliers_by_nation": """
        select suppliers.nation_name as nation, suppliers.region_name as region,
               count(distinct suppliers.supplier_key) as suppliers, count(*) as lines,
               sum(lines.net_revenue) as net_revenue,
               avg(case when lines.receipt_date > lines.commit_date then 1.0 else 0.0 end) as late_share
        from fct_order_lines as lines
        inner join dim_supplier as suppliers on lines.supplier_key = suppliers.supplier_key
        group by 1, 2
        order by net_revenue desc
    """,
    "top_suppliers": f"""
        select suppliers.supplier_key, suppliers.supplier_name, suppliers.nation_name, count(*) as lines,
               sum(lines.net_revenue) as net_revenue,
               avg(case when lines.receipt_date > lines.commit_date then 1.0 else 0.0 end) as late_share
        from fct_order_lines as lines
        inner join dim_supplier as suppliers on lines.supplier_key = suppliers.supplier_key
        group by 1, 2, 3
        order by net_revenue desc, supplier_key
        limit {TOP_N}
    """,
    "returns_by_quarter_region": """
        select cast(trunc(lines.order_date, 'QUARTER') as date) as quarter, customers.region_name as region,
               sum(case when lines.return_flag = 'R' then 1 else 0 end)
                   / sum(case when lines.return_flag in ('R', 'A') then 1 else 0 end) as value
        from fct_order_lines as lines
        inner join dim_customer as customers on lines.customer_key = customers.customer_key
        where lines.return_flag in ('R', 'A')
        group by 1, 2
        having count(*) >= 30  -- a share of a handful of settled lines says nothing
    """,
}


# Restricted columns (tagged pii in dbt) and what the page shows instead unless they are allowed.
RESTRICTED = {
    "customers.customer_name": "concat('customer ', customers.customer_key)",
    "suppliers.supplier_name": "concat('supplier ', suppliers.supplier_key)",
}


def show_restricted_setting() -> bool:
    """LAKEHOUSE_REPORT_SHOW_RESTRICTED=true lets the page show customer and supplier names."""
    return os.environ.get("LAKEHOUSE_REPORT_SHOW_RESTRICTED", "").lower() in ("1", "true", "yes")


def report_sql(name: str, show_restricted: bool) -> str:
    """A chart's query; without `show_restricted`, restricted columns become their stand-ins (the
    first use keeps the column's name for the chart code, the `group by` follows the expression)."""
    sql = QUERIES[name]
    if not show_restricted:
        for column, stand_in in RESTRICTED.items():
            sql = sql.replace(column, f"{stand_in} as {column.split('.')[1]}", 1).replace(column, stand_in)
    return sql


def _collect(spark: SparkSession, name: str, show_restricted: bool = False) -> list[dict[str, Any]]:
    return [row.asDict() for row in spark.sql(report_sql(name, show_restricted)).collect()]


# -- charts ------------------------------------------------------------------------------


@dataclass
class Chart:
    """One titled chart of the page: a PNG, what it shows, how many values it draws, an optional table."""

    key: str
    title: str
    caption: str
    png: bytes
    points: int  # values drawn: a chart without any is empty, whatever its image looks like
    table: str = ""


def _num(value: Any) -> float:
    return float(value) if isinstance(value, Decimal | int | float) else 0.0


def _money(value: Any) -> str:
    amount = _num(value)
    for limit, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if abs(amount) >= limit:
            return f"{amount / limit:,.2f}{suffix}"
    return f"{amount:,.2f}"


def _pct(value: Any) -> str:
    return f"{_num(value) * 100:.1f} %"


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    import matplotlib.pyplot as plt

    plt.close(figure)
    return buffer.getvalue()


def _pivot(rows: Iterable[dict[str, Any]], x: str, series: str, y: str) -> dict[str, list[tuple[Any, float]]]:
    """`{series: [(x, y), ...]}` sorted by x; rows with a NULL x, series or y are not drawable and left out."""
    out: dict[str, list[tuple[Any, float]]] = {}
    for row in rows:
        if row[x] is not None and row[series] is not None and row[y] is not None:
            out.setdefault(str(row[series]), []).append((row[x], _num(row[y])))
    return {name: sorted(points, key=lambda p: p[0]) for name, points in sorted(out.items())}


def _count(series: dict[str, list[tuple[Any, float]]]) -> int:
    return sum(len(points) for points in series.values())


def _line_chart(series: dict[str, list[tuple[Any, float]]], ylabel: str, *, percent: bool = False) -> bytes:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    figure, axes = plt.subplots(figsize=(11, 4.2))
    for index, (name, points) in enumerate(series.items()):
        color = REGION_COLORS.get(name, PALETTE[index % len(PALETTE)])
        axes.plot([p[0] for p in points], [p[1] for p in points], label=name, color=color, linewidth=1.6)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend(ncol=len(series), loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
    if percent:
        axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _money(v)))
    return _png(figure)


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[bool]) -> str:
    def cells(tag: str, values: Sequence[Any]) -> str:
        return "".join(
            f"<{tag}{' class=num' if n else ''}>{html.escape(str(v))}</{tag}>"
            for v, n in zip(values, numeric, strict=True)
        )

    head = cells("th", headers)
    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _charts(data: dict[str, list[dict[str, Any]]]) -> list[Chart]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    money_axis = FuncFormatter(lambda v, _: _money(v))
    charts: list[Chart] = []

    revenue = _pivot(data["revenue_by_quarter_region"], "quarter", "region", "value")
    charts.append(
        Chart(
            "revenue-by-region",
            "Net revenue by quarter and customer region",
            "Sum of order lines' net revenue (extended price × (1 − discount)) per quarter of the order date, by "
            "the region of the customer who ordered; the last quarter holds only the days up to the last order.",
            _line_chart(revenue, "net revenue"),
            _count(revenue),
        )
    )

    orders = _pivot(data["orders_by_month_region"], "month", "region", "value")
    figure, axes = plt.subplots(figsize=(11, 4.2))
    months = sorted({p[0] for points in orders.values() for p in points})
    bottom = [0.0] * len(months)
    for name, points in orders.items():
        values = dict(points)
        heights = [values.get(m, 0.0) for m in months]
        axes.bar(months, heights, width=25, bottom=bottom, label=name, color=REGION_COLORS.get(name, PALETTE[0]))
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_ylabel("orders")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(ncol=len(orders), loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
    charts.append(
        Chart(
            "orders-by-region",
            "Orders placed by month and customer region",
            "Number of orders placed each month, stacked by the customer's region.",
            _png(figure),
            _count(orders),
        )
    )

    segments = _pivot(data["revenue_by_segment_year"], "year", "segment", "value")
    years = sorted({p[0] for points in segments.values() for p in points})
    figure, axes = plt.subplots(figsize=(11, 4.2))
    width = 0.8 / max(len(segments), 1)
    for index, (name, points) in enumerate(segments.items()):
        values = dict(points)
        xs = [i + (index - (len(segments) - 1) / 2) * width for i in range(len(years))]
        axes.bar(xs, [values.get(y, 0.0) for y in years], width=width, label=name, color=PALETTE[index % 9])
    axes.set_xticks(range(len(years)), [str(y) for y in years])
    axes.yaxis.set_major_formatter(money_axis)
    axes.set_ylabel("net revenue")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(ncol=len(segments), loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False)
    last_year = max(years) if years else ""
    charts.append(
        Chart(
            "revenue-by-segment",
            "Net revenue by market segment and year",
            f"Net revenue per calendar year of the order date, by the customer's market segment ({last_year} "
            "holds only the months up to the last order).",
            _png(figure),
            _count(segments),
        )
    )

    top = data["top_customers"]
    figure, axes = plt.subplots(figsize=(11, 4.2))
    segment_colors = {name: PALETTE[i % 9] for i, name in enumerate(sorted(segments))}
    labels = [str(r["customer_name"]) for r in reversed(top)]
    axes.barh(
        labels,
        [_num(r["net_revenue"]) for r in reversed(top)],
        color=[segment_colors.get(str(r["market_segment"]), PALETTE[0]) for r in reversed(top)],
    )
    axes.xaxis.set_major_formatter(money_axis)
    axes.set_xlabel("net revenue (colour: market segment, as in the chart above)")
    axes.grid(axis="x", alpha=0.3)
    charts.append(
        Chart(
            "top-customers",
            f"Top {TOP_N} customers by net revenue",
            "Customers ranked by the net revenue of all their order lines, over the whole period.",
            _png(figure),
            len(top),
            _table(
                ["customer", "segment", "nation", "orders", "net revenue"],
                [
                    (r["customer_name"], r["market_segment"], r["nation_name"], r["orders"], _money(r["net_revenue"]))
                    for r in top
                ],
                [False, False, False, True, True],
            ),
        )
    )

    modes = data["late_by_ship_mode"]
    shares = [_num(r["late_lines"]) / _num(r["lines"]) if r["lines"] else 0.0 for r in modes]
    figure, axes = plt.subplots(figsize=(11, 4.2))
    bars = axes.bar([str(r["ship_mode"]) for r in modes], shares, color=PALETTE[2])
    for bar, row in zip(bars, modes, strict=True):
        axes.annotate(
            f"{row['late_lines']:,} of {row['lines']:,}\n{_num(row['avg_days_late']):.1f} days late on avg.",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_ylim(0, max([*shares, 0.01]) * 1.25)
    axes.set_ylabel("share of lines received late")
    axes.grid(axis="y", alpha=0.3)
    charts.append(
        Chart(
            "late-by-ship-mode",
            "Late deliveries by ship mode",
            "Share of order lines the customer received after the date the supplier committed to "
            "(receipt date > commit date), by ship mode.",
            _png(figure),
            len(modes),
        )
    )

    nations = data["suppliers_by_nation"]
    figure, axes = plt.subplots(figsize=(11, 4.6))
    names = [str(r["nation"]) for r in nations]
    axes.bar(
        names,
        [_num(r["net_revenue"]) for r in nations],
        color=[REGION_COLORS.get(str(r["region"]), "#999") for r in nations],
    )
    axes.yaxis.set_major_formatter(money_axis)
    axes.set_ylabel("net revenue supplied (bars, colour: region)")
    axes.tick_params(axis="x", rotation=60, labelsize=8)
    late_axes = axes.twinx()
    late_axes.plot(names, [_num(r["late_share"]) for r in nations], "o", color="#333333", label="late share")
    late_axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    late_axes.set_ylim(0, 1)
    late_axes.set_ylabel("share of lines late (dots)")
    charts.append(
        Chart(
            "supplier-performance",
            "Supplier performance by supplier nation",
            "Net revenue of the lines each nation's suppliers shipped (bars) and the share of those lines "
            "received after the committed date (dots).",
            _png(figure),
            len(nations),
            _table(
                ["supplier", "nation", "lines", "net revenue", "late"],
                [
                    (
                        r["supplier_name"],
                        r["nation_name"],
                        f"{r['lines']:,}",
                        _money(r["net_revenue"]),
                        _pct(r["late_share"]),
                    )
                    for r in data["top_suppliers"]
                ],
                [False, False, True, True, True],
            ),
        )
    )

    returns = _pivot(data["returns_by_quarter_region"], "quarter", "region", "value")
    charts.append(
        Chart(
            "returns-by-region",
            "Returned share of order lines by quarter and customer region",
            "Lines returned (return flag R) out of the lines whose outcome is known (R or A), per quarter of "
            "the order date and customer region; lines not settled yet (flag N) are left out, and so are "
            "quarters with fewer than 30 settled lines in a region.",
            _line_chart(returns, "returned share", percent=True),
            _count(returns),
        )
    )
    return charts


# -- the page ------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1f2933;
       background: #f5f7fa; }
header { background: #243b53; color: #fff; padding: 24px 40px; }
header h1 { margin: 0 0 8px; font-size: 26px; }
header p { margin: 2px 0; color: #d9e2ec; }
main { max-width: 1160px; margin: 0 auto; padding: 24px 40px 48px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; margin-bottom: 24px; }
.kpi { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 3px rgba(0,0,0,.1); }
.kpi b { display: block; font-size: 22px; } .kpi span { color: #627d98; font-size: 13px; }
section.chart { background: #fff; border-radius: 8px; padding: 16px 20px; margin: 0 0 24px;
                box-shadow: 0 1px 3px rgba(0,0,0,.1); }
section.chart h2 { font-size: 19px; margin: 0 0 8px; }
figure { margin: 0; } figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: #52606d; font-size: 14px; margin-top: 6px; }
table { border-collapse: collapse; margin-top: 12px; font-size: 14px; }
th, td { padding: 4px 12px; border-bottom: 1px solid #e4e7eb; text-align: left; } .num { text-align: right; }
footer { color: #7b8794; font-size: 13px; }
"""


@dataclass
class Report:
    lake_uri: str
    generated_at: datetime
    seconds: float
    overview: dict[str, Any]
    charts: list[Chart] = field(default_factory=list)
    show_restricted: bool = False  # customer and supplier names on the page


def render_html(report: Report) -> str:
    """The whole page as one string: inline CSS, charts as `data:image/png;base64` images."""
    o = report.overview
    first, last = o["first_order"], o["last_order"]
    kpis = [
        (_money(o["net_revenue"]), "net revenue"),
        (f"{o['orders']:,}", "orders"),
        (f"{o['lines']:,}", "order lines"),
        (f"{o['customers']:,}", "customers who ordered"),
        (_pct(o["late_share"]), "lines received late"),
        (_pct(o["returned_share"]), "settled lines returned"),
    ]
    sections = []
    for chart in report.charts:
        image = base64.b64encode(chart.png).decode("ascii")
        sections.append(
            f'<section class="chart" id="{chart.key}">\n<h2>{html.escape(chart.title)}</h2>\n<figure>'
            f'<img src="data:image/png;base64,{image}" alt="{html.escape(chart.title)}" data-points="{chart.points}">'
            f"<figcaption>{html.escape(chart.caption)}</figcaption></figure>\n{chart.table}\n</section>"
        )
    stamp = report.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    kpi_html = "".join(f'<div class="kpi"><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>' for v, k in kpis)
    restricted = (
        '<p id="restricted" class="restricted">Restricted: this page shows customer and supplier names '
        "(personal data). Share it only with people allowed to see them.</p>"
        if report.show_restricted
        else '<p id="restricted">Customers and suppliers appear by their keys; names are restricted '
        "(<code>--show-restricted</code> shows them, for readers allowed to see them).</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lakehouse business report, {html.escape(stamp)}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>Lakehouse business report</h1>
<p id="time-range">Data: orders placed from <time datetime="{first}">{first}</time>
to <time datetime="{last}">{last}</time></p>
<p id="generated-at">Generated <time datetime="{report.generated_at.isoformat()}">{html.escape(stamp)}</time>
in {report.seconds:.1f} s from the marts in {html.escape(report.lake_uri)}/lakehouse/</p>
{restricted}
</header>
<main>
<div class="kpis">{kpi_html}</div>
{"".join(sections)}
<footer>Made by reports/business_report.py from {", ".join(MARTS)} (dbt exposure <code>business_report</code>).
Net revenue is extended price × (1 − discount), before tax.</footer>
</main>
</body>
</html>
"""


# -- writing and publishing ------------------------------------------------------------------


def _write_atomically(path: Path, text: str) -> None:
    """Write to a hidden temporary name in the same folder, then rename: readers see all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def upload_report(lake_uri: str, files: Sequence[Path], spark: SparkSession | None = None) -> None:
    """Copy local files to `<lake>/reports/` of a `gs://` lake, in order (latest.html last)."""
    lake_module = _ingest_lake()
    if lake_module is not None:
        lake = lake_module.parse_lake(lake_uri)
        staging = lake_module.staging_root(lake) / f"reports-{os.getpid()}-{time.time_ns()}"
        staging.mkdir(parents=True)
        for path in files:
            shutil.copy2(path, staging / path.name)
        lake_module.publish(lake, staging, "reports", files[-1].name)
        return
    if spark is None:
        raise RuntimeError(f"cannot upload to {lake_uri}: neither the ingest package nor a Spark session is here")
    jvm: Any = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path
    for path in files:
        target = hadoop_path(f"{spark_location(lake_uri)}/reports/{path.name}")
        filesystem = target.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())  # type: ignore[union-attr]
        filesystem.copyFromLocalFile(False, True, hadoop_path(f"file://{path.resolve()}"), target)


def build_report(lake_uri: str, out_dir: Path | None = None, show_restricted: bool | None = None) -> Path:
    """Read the marts of `lake_uri`, write the report, and return the local path of the page.

    The page is `<out_dir>/business-report-<UTC timestamp>.html` plus `<out_dir>/latest.html`.
    `out_dir` defaults to `<lake>/reports` for a local lake; for a `gs://` lake the page is written to
    `<LAKEHOUSE_LOCAL_DIR>/reports/` (or `out_dir`) and uploaded to `<lake>/reports/`.
    """
    lake_uri = normalize_lake_uri(lake_uri)
    started = time.monotonic()
    generated_at = datetime.now(UTC)
    spark, owned = _spark()
    try:
        _register_marts(spark, lake_uri)
        if show_restricted is None:
            show_restricted = show_restricted_setting()
        data = {name: _collect(spark, name, show_restricted) for name in QUERIES}
        overview = data["overview"][0]
        if not overview["orders"]:
            raise ReportError(f"the marts in {lake_uri}/lakehouse/ hold no orders: nothing to report")
        report = Report(lake_uri, generated_at, 0.0, overview, _charts(data), show_restricted)
        report.seconds = time.monotonic() - started
        page = render_html(report)

        if out_dir is None:
            out_dir = Path(unquote(urlsplit(lake_uri).path)) / "reports" if lake_uri.startswith("file://") else None
        remote = out_dir is None
        folder = out_dir if out_dir is not None else _local_dir() / "reports"
        dated = folder / f"business-report-{generated_at.strftime('%Y%m%dT%H%M%SZ')}.html"
        latest = folder / "latest.html"
        _write_atomically(dated, page)
        _write_atomically(latest, page)
        if remote:
            upload_report(lake_uri, [dated, latest], spark)
        return dated
    finally:
        if owned:
            spark.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reports.business_report",
        description=(
            "Write the business report (one self-contained HTML page of charts) from the lakehouse marts "
            "to <lake>/reports/business-report-<UTC time>.html and <lake>/reports/latest.html."
        ),
        epilog="Needs the marts built first: dbt build --select +marts. "
        "Also runs as `spark-submit reports/business_report.py --lake gs://BUCKET/PREFIX`.",
    )
    parser.add_argument(
        "--lake",
        default=None,
        help="lake URI: file:///path or gs://BUCKET/PREFIX (default: LAKEHOUSE_LAKE_URI, else "
        "file://<LAKEHOUSE_LOCAL_DIR or .local>/lake)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write the page to this local folder instead of <lake>/reports/ (nothing is uploaded)",
    )
    parser.add_argument(
        "--show-restricted",
        action="store_true",
        default=show_restricted_setting(),
        help="show customer and supplier names (restricted, pii); the page then says so in its header "
        "(default: LAKEHOUSE_REPORT_SHOW_RESTRICTED, else keys instead of names)",
    )
    args = parser.parse_args(argv)
    lake_uri = normalize_lake_uri(args.lake or default_lake_uri())
    try:
        page = build_report(lake_uri, args.out, args.show_restricted)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    uploaded = args.out is None and lake_uri.startswith("gs://")
    where = f"{lake_uri}/reports/latest.html" if uploaded else page.parent / "latest.html"
    print(f"business report: {page}\nlatest: {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
