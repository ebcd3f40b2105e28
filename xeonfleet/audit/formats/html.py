"""One self-contained HTML report: inline CSS and inline SVG charts, no scripts, no external assets,
so it can be mailed, attached to a CI run or opened offline.

Layout: fleet summary charts, a node x category matrix (each cell the worst verdict, linking to the
details), then per node the failures with evidence and remedy and every other finding folded away.
"""

from __future__ import annotations


import jinja2
from markupsafe import Markup, escape

from xeonfleet.audit.findings import Finding
from xeonfleet.knobs.status import FAIL, NA, PASS, UNKNOWN
from xeonfleet.audit.report import STATUS_ORDER, AuditReport, worst_status
from xeonfleet.resources import packaged

TEMPLATE = packaged("audit/formats/audit.html.j2")
COLOURS = {PASS: "#2e7d32", FAIL: "#c62828", UNKNOWN: "#f9a825", NA: "#9e9e9e", "unreachable": "#6a1b9a"}


def _stacked_bar(parts: list[tuple[str, int, str]], width: int = 520, height: int = 26) -> str:
    """A horizontal bar split into labelled parts (label, value, colour), plus a legend below."""
    total = sum(value for _, value, _ in parts) or 1
    x = 0.0
    rects, legend = [], []
    for index, (label, value, colour) in enumerate(parts):
        w = width * value / total
        if value:
            rects.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{colour}">'
                         f"<title>{label}: {value}</title></rect>")
        x += w
        lx = index * 130
        legend.append(f'<rect x="{lx}" y="{height + 8}" width="10" height="10" fill="{colour}"/>'
                      f'<text x="{lx + 14}" y="{height + 17}">{label} {value}</text>')
    return (f'<svg width="{width}" height="{height + 24}" viewBox="0 0 {width} {height + 24}" role="img">'
            + "".join(rects) + "".join(legend) + "</svg>")


def _bar_chart(items: list[tuple[str, int]], colour: str, width: int = 600) -> str:
    """Horizontal bars, one per (label, count): failures per category or per rule."""
    if not items:
        return '<p class="muted">none</p>'
    row, label_w = 20, 250
    peak = max(count for _, count in items) or 1
    bars = []
    for index, (label, count) in enumerate(items):
        y = index * row
        w = (width - label_w - 40) * count / peak
        bars.append(f'<text x="0" y="{y + 14}">{escape(label)}</text>'
                    f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{colour}"/>'
                    f'<text x="{label_w + w + 4:.1f}" y="{y + 14}">{count}</text>')
    height = row * len(items)
    return f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">' + "".join(bars) + "</svg>"


def _charts(report: AuditReport) -> dict[str, str]:
    counts = report.status_counts()
    failing = len(report.failing_hosts())
    nodes = [("compliant", len(report.nodes) - failing, COLOURS[PASS]), ("failing", failing, COLOURS[FAIL]),
             ("unreachable", len(report.unreachable), COLOURS["unreachable"])]
    per_category = [(c, sum(f.status == FAIL and f.category == c for f in report.findings))
                    for c in report.categories()]
    return {
        "nodes": _stacked_bar(nodes),
        "findings": _stacked_bar([(s, counts[s], COLOURS[s]) for s in STATUS_ORDER]),
        "categories": _bar_chart([(c, n) for c, n in per_category if n], COLOURS[FAIL]),
        "rules": _bar_chart(report.top_failures(10), COLOURS[FAIL]),
    }


def _matrix(report: AuditReport) -> list[dict]:
    """Rows of the node x category matrix: worst status and pass/total per cell."""
    grouped = report.by_host_category()
    rows = []
    for node in report.nodes:
        cells = []
        for category in report.categories():
            findings: list[Finding] = grouped.get(node.host, {}).get(category, [])
            judged = [f for f in findings if f.status in (PASS, FAIL)]
            cells.append({
                "category": category,
                "status": worst_status(findings) if findings else "",
                "text": f"{sum(f.status == PASS for f in judged)}/{len(judged)}" if judged else
                        (findings[0].status if findings else ""),
            })
        rows.append({"node": node, "cells": cells})
    return rows


def render(report: AuditReport) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    template = env.from_string(TEMPLATE.read_text())
    order = report.categories()
    return template.render(
        report=report,
        charts={name: Markup(svg) for name, svg in _charts(report).items()},
        matrix=_matrix(report),
        categories=report.categories(),
        by_host={host: sorted(findings, key=lambda f: order.index(f.category))
                 for host, findings in report.by_host().items()},
        counts=report.status_counts(),
        colours=COLOURS,
        FAIL=FAIL,
    )

