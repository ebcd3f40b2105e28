"""Inline SVG for the benchmark report: a trend plot a person can read, and heat-map cell colours.

A trend plot has a time axis (each run's date and id), a y axis from zero with labelled units, a
legend, and the fleet baseline drawn as a band (median of the last K runs of the fleet median, +- the
baseline noise) with the regression threshold as a dashed line, so a drop is seen against the limit
the verdict used. Marks carry class `mark`: the report's self-check counts them in the browser."""

from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass

from xeonfleet.bench.numbers import human

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
WIDTH, HEIGHT = 680, 250
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 16, 58
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Band:
    """The fleet baseline drawn on a plot: median, +- noise, and the regression threshold value."""

    median: float
    noise: float
    threshold: float
    runs: int


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """0 .. >= top in round steps (1, 2, 2.5, 5 x 10^k)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return [step * i for i in range(int(math.ceil(top / step)) + 1)]


def _date(stamp: float) -> str:
    return time.strftime("%m-%d %H:%M", time.localtime(stamp))


def trend_svg(runs: list[tuple[str, float]], per_host: dict[str, dict[str, float]], unit: str,
              band: Band | None = None) -> str:
    """One line per host over the runs (x = run, labelled with its date and id; y from zero)."""
    values = [v for by_run in per_host.values() for v in by_run.values()]
    top_value = max(values + ([band.median + band.noise, band.threshold] if band else []) + [0.0])
    ticks = nice_ticks(top_value * 1.05)
    y_max = ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    xs = {run: LEFT + plot_w * (i / max(1, len(runs) - 1) if len(runs) > 1 else 0.5) for i, (run, _) in enumerate(runs)}

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / y_max)

    parts = [f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img">']
    for tick in ticks:
        parts.append(f'<line x1="{LEFT}" y1="{y(tick):.1f}" x2="{LEFT + plot_w}" y2="{y(tick):.1f}" stroke="#eee"/>'
                     f'<text x="{LEFT - 6}" y="{y(tick) + 3:.1f}" font-size="10" text-anchor="end">{human(tick)}</text>')
    parts.append(f'<text x="12" y="{TOP + plot_h / 2:.0f}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 12 {TOP + plot_h / 2:.0f})">{html.escape(unit)}</text>')
    parts.append(f'<line x1="{LEFT}" y1="{y(0):.1f}" x2="{LEFT + plot_w}" y2="{y(0):.1f}" stroke="#555"/>'
                 f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{y(0):.1f}" stroke="#555"/>')
    step = max(1, math.ceil(len(runs) / MAX_X_LABELS))
    for index, (run, started) in enumerate(runs):
        if index % step and index != len(runs) - 1:
            continue
        x = xs[run]
        parts.append(f'<line x1="{x:.1f}" y1="{y(0):.1f}" x2="{x:.1f}" y2="{y(0) + 4:.1f}" stroke="#555"/>'
                     f'<text x="{x:.1f}" y="{y(0) + 16:.1f}" font-size="10" text-anchor="middle">{_date(started)}</text>'
                     f'<text x="{x:.1f}" y="{y(0) + 28:.1f}" font-size="8" fill="#666" text-anchor="middle">'
                     f'{html.escape(run)}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 6}" font-size="11" text-anchor="middle">'
                 f'run (local date and time, run id)</text>')
    legend = []
    if band:
        low, high = y(max(0.0, band.median - band.noise)), y(band.median + band.noise)
        parts.append(f'<rect x="{LEFT}" y="{high:.1f}" width="{plot_w}" height="{max(1.0, low - high):.1f}" '
                     f'fill="#9ecae1" fill-opacity="0.35"><title>fleet baseline {human(band.median)} {html.escape(unit)} '
                     f'+- {human(band.noise)} (median of {band.runs} runs)</title></rect>'
                     f'<line x1="{LEFT}" y1="{y(band.threshold):.1f}" x2="{LEFT + plot_w}" y2="{y(band.threshold):.1f}" '
                     f'stroke="#b00" stroke-dasharray="5,3"/>')
        legend += [('<rect width="12" height="8" fill="#9ecae1"/>', "fleet baseline +- noise"),
                   ('<line x1="0" y1="4" x2="12" y2="4" stroke="#b00" stroke-dasharray="4,2"/>', "regression limit")]
    for index, (host, by_run) in enumerate(sorted(per_host.items())):
        color = COLORS[index % len(COLORS)]
        points = [(xs[r], y(v), r, v) for r, _ in runs if (v := by_run.get(r)) is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in points)
            parts.append(f'<polyline class="mark" fill="none" stroke="{color}" stroke-width="1.5" points="{path}"/>')
        parts += [f'<circle class="mark" cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"><title>{html.escape(host)} '
                  f'{html.escape(run)}: {human(v)} {html.escape(unit)}</title></circle>' for px, py, run, v in points]
        legend.append((f'<circle cx="6" cy="4" r="4" fill="{color}"/>', host))
    for index, (swatch, label) in enumerate(legend):
        ly = TOP + 14 * index
        parts.append(f'<g transform="translate({LEFT + plot_w + 10},{ly})">{swatch}'
                     f'<text x="18" y="8" font-size="10">{html.escape(label)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def heat_color(change_pct: float | None, better: str) -> str:
    """Cell background for a node's % vs the fleet median: red when worse, green when better, grey for
    informational metrics; full colour at 25 %."""
    if change_pct is None or better == "none":
        return "#f4f4f4"
    signed = -change_pct if better == "lower" else change_pct
    faded = int(255 - 150 * min(1.0, abs(signed) / 25.0))
    red, green = (255, faded) if signed < 0 else (faded, 255)
    return f"#{red:02x}{green:02x}{faded:02x}"
