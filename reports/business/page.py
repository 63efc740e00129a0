"""The page: one self-contained HTML string (inline CSS, charts as data: images)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reports.business.charts import Chart, money, pct
from reports.business.settings import MARTS

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
        (money(o["net_revenue"]), "net revenue"),
        (f"{o['orders']:,}", "orders"),
        (f"{o['lines']:,}", "order lines"),
        (f"{o['customers']:,}", "customers who ordered"),
        (pct(o["late_share"]), "lines received late"),
        (pct(o["returned_share"]), "settled lines returned"),
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
<footer>Made by the reports.business package from {", ".join(MARTS)} (dbt exposure <code>business_report</code>).
Net revenue is extended price × (1 − discount), before tax.</footer>
</main>
</body>
</html>
"""
