"""Audit history and drift: every audit is stored; `--since last` lists, per node, the rules whose
status changed since that node's previous stored audit, with the old and new evidence.

"Previous" is per node (its latest earlier run in which it was reachable), so a host that was down
last night is compared with the last time it was actually audited.
"""

from __future__ import annotations

from xeonfleet.audit.findings import Finding, NodeDrift, RuleChange
from xeonfleet.audit.report import AuditReport
from xeonfleet.store import Store

# The tables are created by the store's migrations (xeonfleet/migrations/versions/).
FINDING_COLUMNS = ("host", "rule", "category", "severity", "title", "status", "evidence", "expected", "remedy")


def save_audit(store: Store, report: AuditReport) -> int:
    """Store one audit run (all nodes, findings and unreachable hosts) atomically; returns its id."""
    with store.transaction():
        run_id = store.execute(
            "INSERT INTO audit_runs (started_at, inventory, duration_s, nodes, failing_nodes, unreachable) "
            "VALUES (:started_at, :inventory, :duration_s, :nodes, :failing_nodes, :unreachable) RETURNING id",
            {"started_at": report.started_at, "inventory": report.inventory, "duration_s": report.duration_s,
             "nodes": len(report.nodes), "failing_nodes": len(report.failing_hosts()),
             "unreachable": len(report.unreachable)},
        )[0][0]
        store.executemany(
            "INSERT INTO audit_nodes (run_id, host, profile, cpu, reachable, error) "
            "VALUES (:run_id, :host, :profile, :cpu, :reachable, :error)",
            [{"run_id": run_id, "host": n.host, "profile": n.profile, "cpu": n.cpu, "reachable": 1, "error": ""}
             for n in report.nodes]
            + [{"run_id": run_id, "host": host, "profile": "", "cpu": "", "reachable": 0, "error": error}
               for host, error in sorted(report.unreachable.items())],
        )
        store.executemany(
            f"INSERT INTO audit_findings (run_id, {', '.join(FINDING_COLUMNS)}) "
            f"VALUES (:run_id, {', '.join(':' + c for c in FINDING_COLUMNS)})",
            [{"run_id": run_id, **{c: getattr(f, c) for c in FINDING_COLUMNS}} for f in report.findings],
        )
    return run_id


def _previous_findings(store: Store, host: str, before_run: int) -> tuple[int | None, str | None, dict[str, Finding]]:
    found = store.execute(
        "SELECT r.id, r.started_at FROM audit_nodes n JOIN audit_runs r ON r.id = n.run_id "
        "WHERE n.host = :host AND n.reachable = 1 AND r.id < :before_run ORDER BY r.id DESC LIMIT 1",
        {"host": host, "before_run": before_run},
    )
    if not found:
        return None, None, {}
    run_id, started_at = found[0]
    rows = store.execute(f"SELECT {', '.join(FINDING_COLUMNS)} FROM audit_findings WHERE run_id = :run_id "
                         f"AND host = :host", {"run_id": run_id, "host": host})
    return run_id, started_at, {row[1]: Finding(*row) for row in rows}


def node_changes(old: dict[str, Finding], new: dict[str, Finding]) -> list[RuleChange]:
    """Rules whose status changed, appeared or disappeared between two audits of one node."""
    changes = []
    for rule in sorted(set(old) | set(new)):
        before, after = old.get(rule), new.get(rule)
        if before and after and before.status == after.status:
            continue
        changes.append(RuleChange(
            rule=rule,
            category=(after or before).category,  # type: ignore[union-attr]
            old_status=before.status if before else None,
            new_status=after.status if after else None,
            old_evidence=before.evidence if before else "",
            new_evidence=after.evidence if after else "",
        ))
    return changes


def drift_since_last(store: Store, report: AuditReport, run_id: int) -> list[NodeDrift]:
    """Per audited node of `report` (stored as `run_id`): the changes since its previous audit."""
    drift = []
    for host, findings in sorted(report.by_host().items()):
        previous_run, previous_at, old = _previous_findings(store, host, run_id)
        changes = node_changes(old, {f.rule: f for f in findings}) if previous_run is not None else []
        drift.append(NodeDrift(host=host, previous_run=previous_run, previous_at=previous_at, changes=changes))
    return drift
