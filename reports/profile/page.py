"""The profile page: one self-contained HTML string (inline CSS, charts as data: images)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from reports.profile.charts import column_chart
from reports.profile.profile import ColumnProfile, TableProfile

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1f2933;
       background: #f5f7fa; }
header { background: #243b53; color: #fff; padding: 24px 40px; }
header h1 { margin: 0 0 8px; font-size: 26px; } header p { margin: 2px 0; color: #d9e2ec; }
main { max-width: 1160px; margin: 0 auto; padding: 24px 40px 48px; }
section.table { background: #fff; border-radius: 8px; padding: 16px 20px; margin: 0 0 24px;
                box-shadow: 0 1px 3px rgba(0,0,0,.1); }
section.table h2 { font-size: 20px; margin: 0 0 4px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 16px; margin-top: 16px; }
figure { margin: 0; } figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: #52606d; font-size: 13px; }
table { border-collapse: collapse; font-size: 14px; margin-top: 8px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e4e7eb; text-align: left; } .num { text-align: right; }
footer { color: #7b8794; font-size: 13px; }
"""


@dataclass
class ProfilePage:
    dataset: str
    description: str
    lake_uri: str
    generated_at: datetime
    seconds: float
    tables: list[TableProfile]


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 19.721375, not 19.721375000000000
    return html.escape(str(value))


def _share(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f} %" if whole else ""


def _column_rows(table: TableProfile) -> str:
    rows = []
    for c in table.columns:
        rows.append(
            f"<tr><td>{html.escape(c.name)}</td><td>{html.escape(c.type)}</td>"
            f"<td class=num>{_share(c.nulls, table.rows)}</td><td class=num>{c.distinct:,}</td>"
            f"<td>{_value(c.low)}</td><td>{_value(c.high)}</td></tr>"
        )
    head = "<tr><th>column</th><th>type</th><th>null</th><th>distinct (≈)</th><th>lowest</th><th>highest</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _caption(column: ColumnProfile) -> str:
    if column.histogram:
        return f"{column.name}: distribution of values"
    if column.top:
        return f"{column.name}: the {len(column.top)} most frequent values"
    return f"{column.name}: rows per {column.series_unit}"


def _figures(table: TableProfile) -> str:
    figures = []
    for column in table.columns:
        png = column_chart(column)
        if png is None:
            continue
        image = base64.b64encode(png).decode("ascii")
        alt = html.escape(_caption(column))
        figures.append(
            f'<figure data-column="{html.escape(column.name)}"><img alt="{alt}" '
            f'src="data:image/png;base64,{image}"><figcaption>{alt}</figcaption></figure>'
        )
    return f"<div class=charts>{''.join(figures)}</div>"


def render_html(page: ProfilePage) -> str:
    total = sum(t.rows for t in page.tables)
    overview = "".join(
        f'<tr><td><a href="#{html.escape(t.name)}">{html.escape(t.name)}</a></td>'
        f"<td class=num>{t.rows:,}</td><td class=num>{len(t.columns)}</td><td class=num>{t.batches}</td></tr>"
        for t in page.tables
    )
    sections = "".join(
        f'<section class=table id="{html.escape(t.name)}"><h2>{html.escape(t.name)}</h2>'
        f"<p>{t.rows:,} rows, {len(t.columns)} columns</p>{_column_rows(t)}{_figures(t)}</section>"
        for t in page.tables
    )
    title = f"Data profile: {page.dataset}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body><header><h1>{html.escape(title)}</h1><p>{html.escape(page.description)}</p>
<p>{len(page.tables)} tables, {total:,} rows, from {html.escape(page.lake_uri)}/raw/{html.escape(page.dataset)}/</p>
</header><main>
<section class=table id=overview><h2>Tables</h2><table><tr><th>table</th><th>rows</th><th>columns</th>
<th>batches read</th></tr>{overview}</table></section>
{sections}
<footer>Generated {page.generated_at:%Y-%m-%d %H:%M} UTC in {page.seconds:.1f} s by PySpark
(lakehouse-report profile). Distinct counts are approximate (HyperLogLog).</footer>
</main></body></html>
"""
