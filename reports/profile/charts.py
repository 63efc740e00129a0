"""One small PNG per column: a histogram of numbers, the top values of text, rows over time."""

from __future__ import annotations

import io
from typing import Any

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


def _png(figure: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()


def column_chart(column: ColumnProfile) -> bytes | None:
    """The column's chart, or None when it has nothing to draw (no values, or a type without one)."""
    if column.histogram:
        figure, axes = _figure()
        lows = [low for low, _, _ in column.histogram]
        widths = [high - low for low, high, _ in column.histogram]
        axes.bar(lows, [rows for _, _, rows in column.histogram], width=widths or 1, align="edge", color=COLOR)
        axes.set_ylabel("rows", fontsize=8)
        return _png(figure)
    if column.top:
        figure, axes = _figure()
        labels = [value if len(value) <= 28 else value[:27] + "…" for value, _ in reversed(column.top)]
        axes.barh(labels, [rows for _, rows in reversed(column.top)], color=COLOR)
        axes.set_xlabel("rows", fontsize=8)
        return _png(figure)
    if column.series:
        figure, axes = _figure()
        axes.plot([at for at, _ in column.series], [rows for _, rows in column.series], color=COLOR)
        axes.set_ylabel(f"rows per {column.series_unit}", fontsize=8)
        figure.autofmt_xdate()
        return _png(figure)
    return None
