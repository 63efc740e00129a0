"""The answers drawn with matplotlib: PNG charts and small tables, one `Chart` per question."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from reports.business.settings import PALETTE, REGION_COLORS, TOP_N
from reports.figures import png


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


def money(value: Any) -> str:
    amount = _num(value)
    for limit, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if abs(amount) >= limit:
            return f"{amount / limit:,.2f}{suffix}"
    return f"{amount:,.2f}"


def pct(value: Any) -> str:
    return f"{_num(value) * 100:.1f} %"


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
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money(v)))
    return png(figure)


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[bool]) -> str:
    def cells(tag: str, values: Sequence[Any]) -> str:
        return "".join(
            f"<{tag}{' class=num' if n else ''}>{html.escape(str(v))}</{tag}>"
            for v, n in zip(values, numeric, strict=True)
        )

    head = cells("th", headers)
    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def charts(data: dict[str, list[dict[str, Any]]]) -> list[Chart]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    money_axis = FuncFormatter(lambda v, _: money(v))
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
            png(figure),
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
            png(figure),
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
            png(figure),
            len(top),
            _table(
                ["customer", "segment", "nation", "orders", "net revenue"],
                [
                    (r["customer_name"], r["market_segment"], r["nation_name"], r["orders"], money(r["net_revenue"]))
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
            png(figure),
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
            png(figure),
            len(nations),
            _table(
                ["supplier", "nation", "lines", "net revenue", "late"],
                [
                    (
                        r["supplier_name"],
                        r["nation_name"],
                        f"{r['lines']:,}",
                        money(r["net_revenue"]),
                        pct(r["late_share"]),
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
