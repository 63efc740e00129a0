"""One small PNG per column: a histogram of numbers, the top values of text, rows over time."""

from __future__ import annotations

from typing import Any

from reports.figures import png
from reports.profile.profile import ColumnProfile

COLOR = "#486581"


def _figure() -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")  # no display here, and none on a cluster
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5.2, 2.4))
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=8)
    return figure, axes


def column_chart(column: ColumnProfile) -> bytes | None:
    """The column's chart, or None when it has nothing to draw (no values, or a type without one)."""
    if column.histogram:
        figure, axes = _figure()
        lows = [low for low, _, _ in column.histogram]
        widths = [high - low for low, high, _ in column.histogram]
        axes.bar(lows, [rows for _, _, rows in column.histogram], width=widths or 1, align="edge", color=COLOR)
        axes.set_ylabel("rows", fontsize=8)
        return png(figure, dpi=90)
    if column.top:
        figure, axes = _figure()
        labels = [value if len(value) <= 28 else value[:27] + "…" for value, _ in reversed(column.top)]
        axes.barh(labels, [rows for _, rows in reversed(column.top)], color=COLOR)
        axes.set_xlabel("rows", fontsize=8)
        return png(figure, dpi=90)
    if column.series:
        figure, axes = _figure()
        axes.plot([at for at, _ in column.series], [rows for _, rows in column.series], color=COLOR)
        axes.set_ylabel(f"rows per {column.series_unit}", fontsize=8)
        figure.autofmt_xdate()
        return png(figure, dpi=90)
    return None
