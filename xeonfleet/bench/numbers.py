"""Numbers formatted for people: 14,107 not 1.411e+04, three significant digits below 100."""

from __future__ import annotations


def human(value: float) -> str:
    """Thousands separated, no exponent for the magnitudes benchmarks produce: 14,107 / 138.8 / 49.5 /
    1.37 / 0.871."""
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    if size == 0:
        return "0"
    return f"{value:.3g}" if size >= 1e-4 else f"{value:.1e}"
