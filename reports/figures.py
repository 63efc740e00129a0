"""A matplotlib figure as PNG bytes, closed afterwards (both reports embed their charts as PNG)."""

from __future__ import annotations

import io
from typing import Any


def png(figure: Any, dpi: int = 100) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)
    return buffer.getvalue()
