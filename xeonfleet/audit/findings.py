"""The result of checking one rule on one node: what every report format and the drift store consume."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from xeonfleet.knobs.status import FAIL

CATEGORIES = ("bios", "memory", "cpu", "numa", "power", "os", "runtime", "frameworks", "fleet")
SEVERITIES = ("critical", "high", "medium", "low")


@dataclass(frozen=True)
class Finding:
    """One node x rule verdict with the observed value (evidence) and how to fix a failure (remedy)."""

    host: str
    rule: str
    category: str
    severity: str
    title: str
    status: str
    evidence: str
    expected: str
    remedy: str

    def to_dict(self) -> dict[str, Any]:
        # Every field is a str: a plain dict of them is what asdict gives, without its deep copy of each
        # value (a 1,000-host report holds ~46,000 findings).
        return {name: getattr(self, name) for name in FINDING_FIELDS}


FINDING_FIELDS = tuple(field.name for field in fields(Finding))


def worst_exit_code(findings: list[Finding], unreachable: int = 0) -> int:
    """Audit exit code: 2 when a host could not be audited, else 1 on any failure, else 0."""
    if unreachable:
        return 2
    return 1 if any(f.status == FAIL for f in findings) else 0


@dataclass(frozen=True)
class RuleChange:
    """One rule whose status differs from the node's previous audit (None: rule absent then/now)."""

    rule: str
    category: str
    old_status: str | None
    new_status: str | None
    old_evidence: str
    new_evidence: str


@dataclass(frozen=True)
class NodeDrift:
    """What changed on one node; `previous_run` is None when the node was never audited before."""

    host: str
    previous_run: int | None
    previous_at: str | None
    changes: list[RuleChange]
