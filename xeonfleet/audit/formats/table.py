"""Terminal table: per node, per category, one line per rule; failures carry their remedy.

Colour only when asked (the CLI passes `color=True` for a tty), so files and pipes stay plain.
"""

from __future__ import annotations

import click

from xeonfleet.audit.findings import NodeDrift
from xeonfleet.audit.findings import Finding
from xeonfleet.knobs.status import FAIL, NA, PASS, UNKNOWN
from xeonfleet.audit.report import AuditReport

COLOURS = {PASS: "green", FAIL: "red", UNKNOWN: "yellow", NA: "bright_black"}
LABELS = {PASS: "PASS", FAIL: "FAIL", UNKNOWN: "UNKN", NA: "N/A"}
MAX_EVIDENCE = 70


def _clip(text: str, width: int = MAX_EVIDENCE) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _status(status: str | None, color: bool) -> str:
    label = LABELS.get(status or "", "-").ljust(4)
    return click.style(label, fg=COLOURS.get(status or "")) if color and status else label


def _counts_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n)


def _finding_lines(finding: Finding, rule_width: int, color: bool) -> list[str]:
    evidence = finding.evidence
    if finding.status == FAIL and finding.expected:
        evidence = f"{evidence} (want {finding.expected})"
    lines = [f"    {_status(finding.status, color)}  {finding.rule.ljust(rule_width)}  {_clip(evidence)}"]
    if finding.remedy:
        lines.append(f"    {'':4}  {'':{rule_width}}  fix: {finding.remedy}")
    return lines


def _drift_lines(drift: list[NodeDrift], color: bool) -> list[str]:
    lines = ["", "Changes since the previous audit:"]
    for node in drift:
        if node.previous_run is None:
            lines.append(f"  {node.host}: first audit, nothing to compare")
        elif not node.changes:
            lines.append(f"  {node.host}: no change since run {node.previous_run} ({node.previous_at})")
        else:
            lines.append(f"  {node.host}: {len(node.changes)} change(s) since run {node.previous_run} ({node.previous_at})")
            for change in node.changes:
                lines.append(
                    f"    {change.rule}: {_status(change.old_status, color).strip()} -> "
                    f"{_status(change.new_status, color).strip()}  "
                    f"[{_clip(change.old_evidence, 40) or '-'}] -> [{_clip(change.new_evidence, 40) or '-'}]"
                )
    return lines


def render(report: AuditReport, color: bool = False, failures_only: bool = False) -> str:
    """The whole report as text, ending with the fleet summary; `failures_only` keeps, per node, only the
    rules that failed or could not tell (a fleet of compliant nodes is then a few lines)."""
    lines: list[str] = []
    rule_width = max((len(f.rule) for f in report.findings), default=10)
    grouped = report.by_host_category()
    for node in report.nodes:
        per_category = grouped.get(node.host, {})
        node_findings = [f for findings in per_category.values() for f in findings]
        header = f"{node.host}  [{node.profile}]  {node.cpu}"
        lines += [click.style(header, bold=True) if color else header,
                  f"  {_counts_line(report.status_counts(node_findings)) or 'no rules evaluated'}"]
        for category in report.categories():
            if category in per_category:
                shown = [f for f in per_category[category] if not failures_only or f.status in (FAIL, UNKNOWN)]
                if shown:
                    lines.append(f"  {category}")
                for finding in shown:
                    lines += _finding_lines(finding, rule_width, color)
        lines.append("")
    for host, error in sorted(report.unreachable.items()):
        message = f"{host}  UNREACHABLE: {error}"
        lines += [click.style(message, fg="red", bold=True) if color else message, ""]
    lines += summary_lines(report)
    if report.drift is not None:
        lines += _drift_lines(report.drift, color)
    return "\n".join(lines) + "\n"


def summary_lines(report: AuditReport) -> list[str]:
    """The fleet summary: nodes compliant / failing / unreachable, totals, the most common failures."""
    failing = report.failing_hosts()
    audited = len(report.nodes)
    lines = [
        f"Fleet: {audited} node(s) audited in {report.duration_s:.1f}s, {audited - len(failing)} compliant, "
        f"{len(failing)} failing, {len(report.unreachable)} unreachable",
        f"Findings: {_counts_line(report.status_counts()) or 'none'}",
    ]
    top = report.top_failures(5)
    if top:
        lines.append("Most common failures: " + ", ".join(f"{rule} ({n} node(s))" for rule, n in top))
    return lines
