"""Fleet rules: peers that should be identical but are not (heterogeneity).

Benchmarks and capacity plans assume the nodes of one group are interchangeable. A node whose BIOS,
microcode, kernel, DIMM layout or framework versions differ from the majority of its peers is flagged.
Only a strict majority (more than half of the peers that report a value) is a reference: a group split
2/2/1/1 has no "right" value, so every member gets the spread instead of a verdict against a plurality;
a node with no peer gets "no peers to compare".
Hardware-bound attributes (BIOS, microcode, DIMM layout) are only compared among peers with the same CPU
model, since a Sapphire Rapids node rightly has other microcode than an Ice Lake one.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

from xeonfleet.audit.findings import Finding
from xeonfleet.knobs.status import FAIL, NA, PASS, UNKNOWN
from xeonfleet.knobs import Facts, fact
from xeonfleet.profiles import Profile


def _memory_layout(facts: Facts) -> str | None:
    dimms = [d for d in fact(facts, "memory.dimms") or [] if d.get("populated")]
    if not dimms:
        return None
    kinds = Counter(f"{(d.get('size_bytes') or 0) >> 30}GB {d.get('type')}-{d.get('speed_mts')}" for d in dimms)
    return " + ".join(f"{n} x {kind}" for kind, n in sorted(kinds.items()))


def _framework_versions(facts: Facts) -> str | None:
    envs = fact(facts, "frameworks.envs")
    if envs is None:
        return None
    pairs = sorted(f"{env.get('name')}:{pkg}={ver}" for env in envs for pkg, ver in (env.get("versions") or {}).items())
    return ", ".join(pairs) or "no framework envs"


# attribute -> (how to read it, compared only among the same CPU model?)
ATTRIBUTES: dict[str, tuple[Callable[[Facts], Any], bool]] = {
    "bios.version": (lambda f: fact(f, "bios.version"), True),
    "cpu.microcode": (lambda f: fact(f, "cpu.microcode"), True),
    "os.kernel": (lambda f: fact(f, "os.kernel"), False),
    "memory.layout": (_memory_layout, True),
    "frameworks.versions": (_framework_versions, False),
}


def _peer_pools(groups: dict[str, list[str]], facts_by_host: dict[str, Facts]) -> Callable[[str, bool], frozenset]:
    """`pool(host, same_model)`: the hosts sharing a group with `host` (the whole fleet when it is in no named
    group), among those with facts, and with its CPU model when `same_model`.

    Hosts of the same groups (and model) share one pool, built once: a fleet of 1,000 hosts in a few groups
    has a few pools, not 1,000 sets of 1,000 hosts for every attribute.
    """
    member_of: dict[str, list[str]] = {}
    for name, members in groups.items():
        for member in dict.fromkeys(members):
            member_of.setdefault(member, []).append(name)
    reporting = frozenset(facts_by_host)
    models = {h: fact(f, "cpu.model_name") for h, f in facts_by_host.items()}
    pools: dict[tuple, frozenset] = {}

    def pool(host: str, same_model: bool) -> frozenset:
        key = (tuple(member_of.get(host, ())), models[host] if same_model else None, same_model)
        if key not in pools:
            names = key[0]
            found = frozenset(h for name in names for h in groups[name]) & reporting if names else reporting
            pools[key] = frozenset(h for h in found if models[h] == key[1]) if same_model else found
        return pools[key]

    return pool


def evaluate_fleet(
    groups: dict[str, list[str]], facts_by_host: dict[str, Facts], profiles: dict[str, Profile]
) -> list[Finding]:
    """One finding per host x attribute its profile lists under fleet.homogeneous.

    Each attribute is read once per host and tallied once per peer pool, so the rules grow with the fleet,
    not with its square.
    """
    findings: list[Finding] = []
    pool_of = _peer_pools(groups, facts_by_host)
    columns: dict[str, dict[str, Any]] = {}  # attribute -> {host: its value}
    tallies: dict[tuple[str, frozenset], Counter] = {}
    for host, facts in sorted(facts_by_host.items()):
        for attribute in profiles[host].get("fleet.homogeneous", []):
            if attribute not in ATTRIBUTES:
                continue
            read, same_model = ATTRIBUTES[attribute]
            if attribute not in columns:
                columns[attribute] = {h: read(f) for h, f in facts_by_host.items()}
            column, peers = columns[attribute], pool_of(host, same_model)
            if (attribute, peers) not in tallies:
                # in host order, as the evidence lists tied values in the order first seen
                tallies[attribute, peers] = Counter(v for v in (column[p] for p in sorted(peers)) if v is not None)
            values, mine = tallies[attribute, peers], column[host]
            title = f"{attribute} same as peers"
            expected, remedy = "same as peers", ""
            total = sum(values.values())
            majority, count = values.most_common(1)[0] if values else (None, 0)
            if mine is None:
                status, evidence = UNKNOWN, f"{attribute} unknown on this host"
            elif len(peers) < 2:
                status, evidence = NA, f"{mine} (no peers to compare)"
            elif len(values) < 2:
                status, evidence = PASS, f"{mine} (same on all {total} peers)"
            elif count * 2 <= total:
                spread = ", ".join(f"{value} on {n}" for value, n in sorted(values.items(), key=lambda kv: -kv[1]))
                status, evidence = UNKNOWN, f"{mine}; no majority among {total} peers: {spread}"
                remedy = f"choose one {attribute} for the group and align every node to it"
            else:
                expected = f"{majority} (on {count}/{total} peers)"
                status = PASS if mine == majority else FAIL
                evidence = str(mine)
                if status == FAIL:
                    remedy = f"align {attribute} with the group majority (firmware/kernel/package update)"
            findings.append(Finding(
                host=host, rule=f"fleet.{attribute}", category="fleet", severity="medium", title=title,
                status=status, evidence=evidence, expected=expected,
                remedy=remedy,
            ))
    return findings
