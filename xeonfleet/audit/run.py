"""The audit, start to end: choose and load every host's profile, gather facts, judge, store, diff.

Order matters: the inventory is read and every profile loaded (so a typo in a profile or a missing
inventory fails in one line) before any host is contacted. One unreachable host is recorded and the
others are audited anyway.

Which profile judges a host: the CLI's `--profile` for all hosts, else the host's pyinfra data
`xeonfleet_profile` (set per host or per group in the inventory / group_data), else xeon-ai-base.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from xeonfleet.audit.drift import drift_since_last, save_audit
from xeonfleet.audit.findings import Finding
from xeonfleet.audit.fleet import evaluate_fleet
from xeonfleet.knobs import Facts, fact
from xeonfleet.profiles import DEFAULT_PROFILE, Profile, load_profile
from xeonfleet.audit.report import AuditReport, NodeSummary
from xeonfleet.audit.rules import evaluate_node
from xeonfleet.store import Store

if TYPE_CHECKING:
    from pyinfra.api import Inventory, State

PROFILE_DATA_KEY = "xeonfleet_profile"


@dataclass(frozen=True)
class AuditPlan:
    """What is known before contacting anything: each host's profile and the inventory groups."""

    inventory: str
    profiles: dict[str, Profile]
    groups: dict[str, list[str]]
    # pyinfra's (State, Inventory) as plan_inventory read it, so the gather does not read it again.
    loaded: tuple[State, Inventory] | None = None
    # The tree a sysroot plan reads (its one host may be named otherwise, see plan_sysroot).
    sysroot: str | None = None


def load_profiles(names_by_host: dict[str, str]) -> dict[str, Profile]:
    """Load each distinct profile once; ProfileError (one line, file:line) on the first defect."""
    loaded = {name: load_profile(name) for name in sorted(set(names_by_host.values()))}
    return {host: loaded[name] for host, name in names_by_host.items()}


def plan_inventory(spec: str, profile_override: str | None = None) -> AuditPlan:
    """Read the inventory and load every host's profile. Raises GatherError or ProfileError."""
    from xeonfleet.connect.gather import load_inventory

    state, inventory = load_inventory(spec)
    names = {
        host.name: profile_override or host.data.get(PROFILE_DATA_KEY) or DEFAULT_PROFILE
        for host in inventory
    }
    groups = {name: [host.name for host in members] for name, members in inventory.groups.items()}
    return AuditPlan(inventory=spec, profiles=load_profiles(names), groups=groups, loaded=(state, inventory))


def judge(plan: AuditPlan, facts_by_host: dict[str, Facts]) -> list[Finding]:
    """Node rules for every reachable host, then fleet rules among the reachable peers."""
    findings: list[Finding] = []
    for host in sorted(facts_by_host):
        findings += evaluate_node(host, facts_by_host[host], plan.profiles[host])
    fleet = evaluate_fleet(plan.groups, facts_by_host, {h: plan.profiles[h] for h in facts_by_host})
    return findings + fleet


def _node_summary(host: str, facts: Facts, profile: Profile) -> NodeSummary:
    return NodeSummary(host=host, profile=profile.name, cpu=fact(facts, "cpu.model_name") or "unknown CPU")


def build_report(plan: AuditPlan, facts_by_host: dict[str, Facts], unreachable: dict[str, str],
                 started: float, started_at: str) -> AuditReport:
    return AuditReport(
        inventory=plan.inventory,
        started_at=started_at,
        duration_s=time.monotonic() - started,
        nodes=[_node_summary(h, facts_by_host[h], plan.profiles[h]) for h in sorted(facts_by_host)],
        findings=judge(plan, facts_by_host),
        unreachable=dict(sorted(unreachable.items())),
    )


def _now() -> tuple[float, str]:
    return time.monotonic(), datetime.now(timezone.utc).isoformat(timespec="seconds")


def audit_inventory(plan: AuditPlan, connect_timeout: int = 10, parallel: int | None = None) -> AuditReport:
    """Gather NodeFacts from every host of the planned inventory in parallel, then judge."""
    from xeonfleet.connect.gather import gather_inventory

    started, started_at = _now()
    gathered = gather_inventory(plan.inventory, connect_timeout=connect_timeout, loaded=plan.loaded, parallel=parallel)
    return build_report(plan, gathered.results, gathered.unreachable, started, started_at)


def plan_sysroot(root: str, profile_override: str | None = None, node_name: str | None = None) -> AuditPlan:
    """An offline snapshot (or a node's own `/`) is a one-node fleet named `node_name`, else by its directory."""
    root = str(Path(root))
    host = node_name or root
    return AuditPlan(inventory=f"sysroot {root}", profiles=load_profiles({host: profile_override or DEFAULT_PROFILE}),
                     groups={}, sysroot=root)


def audit_sysroot(plan: AuditPlan) -> AuditReport:
    from xeonfleet.connect.gather import gather_sysroot

    started, started_at = _now()
    (host,) = plan.profiles
    return build_report(plan, {host: gather_sysroot(plan.sysroot or host)}, {}, started, started_at)


def plan_local(profile_override: str | None = None, node_name: str | None = None) -> AuditPlan:
    """This machine as a one-node fleet named `node_name` (default: its hostname)."""
    host = node_name or socket.gethostname()
    return AuditPlan(inventory="local", profiles=load_profiles({host: profile_override or DEFAULT_PROFILE}),
                     groups={}, sysroot=None)


def audit_local(plan: AuditPlan) -> AuditReport:
    """This machine probed live (what the audit agent runs): ROOT "" rather than --sysroot's "/", which the probe
    reads as a copied tree, so as any user but root it sends its root-only reads through `sudo -n` (the agent's
    drop-in) instead of reporting them as needing root."""
    from xeonfleet.facts.probe import run_probe_local
    from xeonfleet.parsers.node import node_facts_from_lines

    started, started_at = _now()
    (host,) = plan.profiles
    return build_report(plan, {host: node_facts_from_lines(run_probe_local(""))}, {}, started, started_at)


def record(store: Store, report: AuditReport, since_last: bool) -> None:
    """Store the run (its id goes into the report) and, if asked, attach the drift since last time."""
    report.run_id = save_audit(store, report)
    if since_last:
        report.drift = drift_since_last(store, report, report.run_id)

