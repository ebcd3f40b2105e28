"""`xeonfleet audit --from-store`: the fleet as its nodes last reported it, read from the results store.

Nodes running the audit agent (deploys/audit_agent.py) write their own findings into a shared store,
so a fleet too large for one controller's SSH fan-out is reported without contacting any node. Each
node counts with its newest audit in which it was reached, whoever ran it (the agent or a controller).
A node whose newest audit is older than `max_age` is listed as not reporting, not as compliant: an
agent that died must not keep its last good verdict forever.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from xeonfleet.audit.drift import FINDING_COLUMNS
from xeonfleet.audit.findings import Finding
from xeonfleet.audit.report import AuditReport, NodeSummary
from xeonfleet.store import Store

# Each host's newest run in which it was reached.
_LATEST = "SELECT host, MAX(run_id) AS run_id FROM audit_nodes WHERE reachable = 1 GROUP BY host"
_NODES = ("SELECT n.host, n.profile, n.cpu, r.started_at FROM audit_nodes n JOIN audit_runs r ON r.id = n.run_id "
          f"JOIN ({_LATEST}) latest ON latest.host = n.host AND latest.run_id = n.run_id")
_FINDINGS = (f"SELECT {', '.join('f.' + c for c in FINDING_COLUMNS)} FROM audit_findings f "
             f"JOIN ({_LATEST}) latest ON latest.host = f.host AND latest.run_id = f.run_id")


class NothingStored(ValueError):
    """The store holds no audit of the hosts asked for (one line, with the command that fills it)."""


def latest_report(store: Store, hosts: list[str] | None, max_age: timedelta,
                  now: datetime | None = None) -> AuditReport:
    """One report of every stored host (or of `hosts`, e.g. an inventory's), each from its newest audit.

    Hosts asked for but never stored, and hosts whose newest audit is older than `max_age`, are in
    `unreachable` with the reason. Raises NothingStored when no host has a usable audit."""
    started = time.monotonic()
    now = now or datetime.now(timezone.utc)
    nodes = {row[0]: row for row in store.execute(_NODES)}
    wanted = sorted(nodes) if hosts is None else sorted(hosts)
    unreachable: dict[str, str] = {}
    fresh: dict[str, NodeSummary] = {}
    for host in wanted:
        if host not in nodes:
            unreachable[host] = "no audit of this host in the store (is its audit agent installed?)"
            continue
        _, profile, cpu, started_at = nodes[host]
        if now - datetime.fromisoformat(started_at) > max_age:
            unreachable[host] = (f"newest stored audit is from {started_at}, older than --max-age "
                                 f"{max_age.total_seconds() / 3600:g}h: is its audit agent running?")
            continue
        fresh[host] = NodeSummary(host=host, profile=profile, cpu=cpu)
    if not fresh:
        asked = "any host" if hosts is None else f"any of the {len(wanted)} hosts asked for"
        raise NothingStored(f"results store {store.location}: no audit of {asked} newer than --max-age "
                            f"{max_age.total_seconds() / 3600:g}h; run `xeonfleet audit INVENTORY` or install "
                            f"the audit agent (deploys/audit_agent.py)")
    findings = [Finding(*row) for row in store.execute(_FINDINGS) if row[0] in fresh]
    newest = max((nodes[host][3] for host in fresh), key=datetime.fromisoformat)
    return AuditReport(inventory=f"store {store.location}", started_at=newest, duration_s=time.monotonic() - started,
                       nodes=list(fresh.values()), findings=sorted(findings, key=lambda f: (f.host, f.rule)),
                       unreachable=unreachable)
