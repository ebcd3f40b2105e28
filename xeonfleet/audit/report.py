"""What every report format renders: one audit's findings, the nodes behind them and what changed.

Kept apart from the orchestration (xeonfleet/audit.py) so a renderer can be fed a stored or
hand-built report in tests without contacting hosts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from xeonfleet.audit.findings import CATEGORIES, Finding, NodeDrift, worst_exit_code
from xeonfleet.knobs.status import FAIL, NA, PASS, STATUSES, UNKNOWN

# Worst first: a category cell in the matrix shows its worst finding.
STATUS_ORDER = (FAIL, UNKNOWN, PASS, NA)


@dataclass(frozen=True)
class NodeSummary:
    """One audited node: which profile judged it and what CPU it has (for headers)."""

    host: str
    profile: str
    cpu: str


@dataclass
class AuditReport:
    """One audit run. `unreachable` maps a host to why it could not be audited."""

    inventory: str
    started_at: str
    duration_s: float
    nodes: list[NodeSummary]
    findings: list[Finding]
    unreachable: dict[str, str] = field(default_factory=dict)
    drift: list[NodeDrift] | None = None
    run_id: int | None = None

    def by_host(self) -> dict[str, list[Finding]]:
        grouped: dict[str, list[Finding]] = {node.host: [] for node in self.nodes}
        for finding in self.findings:
            grouped.setdefault(finding.host, []).append(finding)
        return grouped

    def by_host_category(self) -> dict[str, dict[str, list[Finding]]]:
        grouped: dict[str, dict[str, list[Finding]]] = {}
        for host, findings in self.by_host().items():
            per_category = grouped.setdefault(host, {})
            for finding in findings:
                per_category.setdefault(finding.category, []).append(finding)
        return grouped

    def categories(self) -> list[str]:
        """Categories present, in the canonical order of findings.CATEGORIES."""
        seen = {f.category for f in self.findings}
        return [c for c in CATEGORIES if c in seen] + sorted(seen - set(CATEGORIES))

    def status_counts(self, findings: list[Finding] | None = None) -> dict[str, int]:
        counts = Counter(f.status for f in (self.findings if findings is None else findings))
        return {status: counts.get(status, 0) for status in STATUSES}

    def failing_hosts(self) -> list[str]:
        return sorted({f.host for f in self.findings if f.status == FAIL})

    def top_failures(self, limit: int = 10) -> list[tuple[str, int]]:
        """Rules failing on the most nodes: where a fleet-wide fix pays most."""
        return Counter(f.rule for f in self.findings if f.status == FAIL).most_common(limit)

    @property
    def exit_code(self) -> int:
        return worst_exit_code(self.findings, len(self.unreachable))


def worst_status(findings: list[Finding]) -> str:
    present = {f.status for f in findings}
    return next((s for s in STATUS_ORDER if s in present), NA)

