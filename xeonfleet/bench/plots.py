"""The benchmark report's charts: a trend plot per metric drawn by pygal, and heat-map cell colours.

A trend plot has a time axis (each run's date and id), a y axis from zero with labelled units, a legend,
and the fleet baseline drawn as a band (median of the last K runs of the fleet median, +- the baseline
noise) with the regression threshold as a dashed line, so a drop is seen against the limit the verdict
used. pygal writes plain SVG with its CSS inline; its tooltip script lives on a web server, so it is left
out (`js=[]`) and the report stays self-contained. The chart's root carries class `plot` and each host's
points class `mark`: the report's self-check counts them in the browser."""

from __future__ import annotations

import time
from dataclasses import dataclass

from xeonfleet.bench.numbers import human

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
BAND_COLOR, LIMIT_COLOR = "#9ecae1", "#bb0000"
WIDTH, HEIGHT = 720, 330  # HEIGHT without the legend, which adds LEGEND_ROW per row below the plot
LEGEND_COLUMNS, LEGEND_ROW = 2, 20
MAX_X_LABELS = 8
# The band is the first series of a chart that has one (root class `banded`): fill only, no outline.
BAND_CSS = "inline:svg.banded .serie-0 .line{stroke:none}"


@dataclass(frozen=True)
class Band:
    """The fleet baseline drawn on a plot: median, +- noise, and the regression threshold value."""

    median: float
    noise: float
    threshold: float
    runs: int


def _date(stamp: float) -> str:
    return time.strftime("%m-%d %H:%M", time.localtime(stamp))


def trend_svg(runs: list[tuple[str, float]], per_host: dict[str, dict[str, float]], unit: str,
              band: Band | None = None) -> str:
    """One line per host over the runs (x = run 1..n, labelled with its date and id; y from zero)."""
    import pygal
    from pygal.style import Style

    labels = {i: f"{_date(started)} {run}" for i, (run, started) in enumerate(runs, 1)}
    position = {run: i for i, (run, _) in enumerate(runs, 1)}
    left, right = 0.5, len(runs) + 0.5  # half a run of room on both sides, the band spans it all
    top = max([v for by_run in per_host.values() for v in by_run.values()]
              + ([band.median + band.noise, band.threshold] if band else []) + [0.0])
    legend_rows = -(-(len(per_host) + (2 if band else 0)) // LEGEND_COLUMNS)
    chart = pygal.XY(
        js=[], classes=["pygal-chart", "plot"] + (["banded"] if band else []), css=[*pygal.Config().css, BAND_CSS],
        disable_xml_declaration=True, width=WIDTH, height=HEIGHT + LEGEND_ROW * legend_rows, explicit_size=True,
        legend_at_bottom=True, legend_at_bottom_columns=LEGEND_COLUMNS, truncate_legend=-1,
        range=(0, top * 1.05 or 1.0), xrange=(left, right), y_title=unit, x_title="run (local date and time, run id)",
        x_labels=list(labels), x_labels_major_count=MAX_X_LABELS, show_minor_x_labels=False, truncate_label=-1,
        x_value_formatter=lambda x: labels.get(round(x), ""), x_label_rotation=20, value_formatter=human,
        dots_size=3, style=Style(
            colors=((BAND_COLOR, LIMIT_COLOR) if band else ()) + COLORS, background="white",
            plot_background="white", opacity="0.35", opacity_hover="0.5", font_family="sans-serif",
            label_font_size=10, major_label_font_size=10, legend_font_size=11, guide_stroke_color="#e4e4e4",
            major_guide_stroke_color="#e4e4e4", guide_stroke_dasharray="none", major_guide_stroke_dasharray="none"),
    )
    if band:
        low, high = max(0.0, band.median - band.noise), band.median + band.noise
        # pygal fills a series down to zero; this closed rectangle's extra edges to zero enclose no area,
        # so the fill is exactly the band (BAND_CSS hides its outline).
        chart.add(f"fleet baseline {human(band.median)} +- {human(band.noise)} ({band.runs} runs)",
                  [(left, low), (right, low), (right, high), (left, high), (left, low)], fill=True, show_dots=False)
        chart.add(f"regression limit {human(band.threshold)}", [(left, band.threshold), (right, band.threshold)],
                  show_dots=False, stroke_style={"dasharray": "5,3"})
    for host, by_run in sorted(per_host.items()):
        # `tooltip` becomes an SVG <title>: the browser shows it on hover, no script needed.
        chart.add(host, [{"value": (position[run], value), "node": {"class": "dot mark"},
                          "tooltip": f"{host} {run}: {human(value)} {unit}"}
                         for run, _ in runs if (value := by_run.get(run)) is not None])
    return chart.render(is_unicode=True)


def heat_color(change_pct: float | None, better: str) -> str:
    """Cell background for a node's % vs the fleet median: red when worse, green when better, grey for
    informational metrics; full colour at 25 %."""
    if change_pct is None or better == "none":
        return "#f4f4f4"
    signed = -change_pct if better == "lower" else change_pct
    faded = int(255 - 150 * min(1.0, abs(signed) / 25.0))
    red, green = (255, faded) if signed < 0 else (faded, 255)
    return f"#{red:02x}{green:02x}{faded:02x}"
