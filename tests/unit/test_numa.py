"""NUMA parsing (nodes per socket by package ids, SNC mode names, CPU-less memory kinds and tiers) and the
numa.cxl_default_policy rule, on hand-written probe output and NodeFacts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from xeonfleet.knobs.status import FAIL, NA, PASS, UNKNOWN
from xeonfleet.audit.numa_rules import check_cxl_default_policy
from xeonfleet.audit.rules import evaluate_node
from xeonfleet.parsers.cpulist import format_cpulist, parse_cpulist
from xeonfleet.parsers.numa import parse_numa
from xeonfleet.parsers.sections import ProbeOutput, to_int
from xeonfleet.profiles import load_profile

NODE = "sys/devices/system/node"
CPU = "sys/devices/system/cpu"
GNR_6980P = "Intel(R) Xeon(R) 6980P"
ICX_8380 = "Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz"


def cpu_facts(**changes: Any) -> dict[str, Any]:
    """The cpu.* keys parse_numa reads, for a bare-metal 2-socket Granite Rapids 6980P."""
    cpu = {"vendor": "GenuineIntel", "model_name": GNR_6980P, "microarch": "graniterapids", "sockets": 2,
           "hypervisor": None, "offline_cpus": []}
    return {**cpu, **changes}


def probe_of(nodes: dict[int, list[int]], packages: dict[int, int] | None, mem_kb: dict[int, int] | None = None,
             extra: dict[str, str] | None = None) -> ProbeOutput:
    """Probe output of a tree with these node CPU lists, these CPU package ids (None: no topology ids)
    and node memory (default 64 GiB per node)."""
    files: dict[str, list[str]] = {}
    for node, cpus in nodes.items():
        files[f"{NODE}/node{node}/cpulist"] = [format_cpulist(cpus)]
        kb = (mem_kb or {}).get(node, 64 << 20)
        files[f"{NODE}/node{node}/meminfo"] = [f"Node {node} MemTotal:       {kb} kB"]
    for cpu, package in (packages or {}).items():
        files[f"{CPU}/cpu{cpu}/topology/physical_package_id"] = [str(package)]
    for path, text in (extra or {}).items():
        files[path] = [text]
    return ProbeOutput(files=files)


def split(sizes: list[list[int]]) -> tuple[dict[int, list[int]], dict[int, int]]:
    """Nodes holding consecutive CPU ranges: sizes[socket] = cores of each node of that socket (one CPU per
    core, numbered socket-major); returns (nodes, packages)."""
    nodes, packages, cpu, node = {}, {}, 0, 0
    for socket, per_node in enumerate(sizes):
        for count in per_node:
            nodes[node] = list(range(cpu, cpu + count))
            packages.update({c: socket for c in nodes[node]})
            cpu, node = cpu + count, node + 1
    return nodes, packages


def numa_of(probe: ProbeOutput, **cpu_changes: Any) -> tuple[dict[str, Any], list[str]]:
    """parse_numa with every CPU the nodes list online, in the package its physical_package_id names (None
    without one, as the topology parser leaves it)."""
    errors: list[str] = []
    online = sorted(cpu for path, lines in probe.files.items() if path.endswith("/cpulist")
                    for cpu in parse_cpulist(lines[0]) or [])
    package_of = {cpu: to_int(probe.value(f"{CPU}/cpu{cpu}/topology/physical_package_id")) for cpu in online}
    return parse_numa(probe, package_of, cpu_facts(**cpu_changes), None, errors), errors


# --- nodes per socket, counted by package ids -------------------------------------------------------------

def test_uneven_snc3_split_counts_three_nodes_per_socket_by_package_ids() -> None:
    """A 6980P in SNC3: 128 cores as 43/43/42 per socket. Dividing would still give 3 here, but the
    count must come from the CPUs' packages (next test: a split where dividing is wrong)."""
    numa, errors = numa_of(probe_of(*split([[43, 43, 42], [43, 43, 42]])))
    assert (numa["nodes_per_socket"], numa["snc_enabled"], numa["snc_mode"]) == (3, True, "SNC3")
    assert numa["node_count"] == 6 and not errors


def test_sockets_with_different_node_counts_give_null_with_the_reason() -> None:
    """3 nodes on socket 0, 2 on socket 1 (5 nodes over 2 sockets: ceil would have said 3)."""
    numa, errors = numa_of(probe_of(*split([[43, 43, 42], [64, 64]])))
    assert numa["nodes_per_socket"] is None and numa["snc_enabled"] is None and numa["snc_mode"] is None
    assert any("socket 0: 3, socket 1: 2" in e for e in errors)


def test_missing_package_ids_one_socket_counts_all_two_sockets_cannot_tell() -> None:
    nodes, _ = split([[20, 20]])
    numa, errors = numa_of(probe_of(nodes, None), sockets=1, model_name=ICX_8380, microarch="icelake-server")
    assert (numa["nodes_per_socket"], numa["snc_mode"]) == (2, "SNC2") and not errors
    nodes, _ = split([[20], [20]])
    numa, errors = numa_of(probe_of(nodes, None), sockets=2)
    assert numa["nodes_per_socket"] is None and any("no package id" in e for e in errors)


def test_cpu_less_nodes_never_count_towards_snc() -> None:
    nodes, packages = split([[64], [64]])
    nodes[2] = []  # a CXL expander
    numa, _ = numa_of(probe_of(nodes, packages))
    assert (numa["node_count"], numa["nodes_per_socket"], numa["snc_mode"]) == (3, 1, "off")


# --- SNC mode names ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("sizes", "model_name", "microarch", "mode", "reason"),
    [
        ([[64], [64]], GNR_6980P, "graniterapids", "off", None),
        ([[32, 32], [32, 32]], "Intel(R) Xeon(R) 6767P", "graniterapids", "SNC2", None),
        ([[14] * 4, [14] * 4], "Intel(R) Xeon(R) Platinum 8480+", "sapphirerapids", "SNC4", None),
        ([[20, 20], [20, 20]], ICX_8380, "icelake-server", "SNC2", None),
        # A mode the segment does not offer is never named: 6980P has SNC3, not SNC2; ICX has no SNC4.
        ([[64, 64], [64, 64]], GNR_6980P, "graniterapids", None, "6900P (Granite Rapids-AP) offers off, SNC3 only"),
        ([[10] * 4, [10] * 4], ICX_8380, "icelake-server", None, "offers off, SNC2 only: not SNC4"),
        ([[8] * 5, [8] * 5], ICX_8380, "icelake-server", None, "5 NUMA nodes per socket is no SNC mode"),
        # A masked model name names no segment: the count is kept, the mode is not guessed.
        ([[32, 32], [32, 32]], "Intel(R) Xeon(R) Processor", "graniterapids", None, "names none of its segments"),
        # Sierra Forest's modes are not published in the table.
        ([[72, 72], [72, 72]], "Intel(R) Xeon(R) 6780E", "sierraforest", None, "not published"),
    ],
)
def test_snc_mode_is_named_only_when_the_segment_offers_it(sizes: list[list[int]], model_name: str, microarch: str,
                                                           mode: str | None, reason: str | None) -> None:
    numa, errors = numa_of(probe_of(*split(sizes)), model_name=model_name, microarch=microarch)
    assert numa["nodes_per_socket"] == len(sizes[0]) and numa["snc_enabled"] == (len(sizes[0]) > 1)
    assert numa["snc_mode"] == mode
    said = [e for e in errors if e.startswith("numa.snc_mode unknown")]
    assert (reason is None and not said) or (reason is not None and any(reason in e for e in said)), said


def test_guest_and_amd_have_no_snc_mode() -> None:
    numa, errors = numa_of(probe_of(*split([[4], [4]])), hypervisor="kvm")
    assert numa["snc_mode"] is None and numa["snc_enabled"] is False
    assert any("VM guest (kvm) sees the hypervisor's virtual NUMA nodes" in e for e in errors)
    numa, errors = numa_of(probe_of(*split([[16] * 4, [16] * 4])), vendor="AuthenticAMD", microarch="zen4",
                           model_name="AMD EPYC 9554 64-Core Processor")
    assert (numa["nps"], numa["snc_enabled"], numa["snc_mode"]) == (4, None, None) and not errors


# --- memory without CPUs: kind, tier, demotion ---------------------------------------------------------------

def test_cxl_hbm_and_memory_only_nodes_with_their_size_and_tier() -> None:
    nodes, packages = split([[56], [56]])
    nodes.update({2: [], 3: []})
    probe = probe_of(nodes, packages, mem_kb={2: 256 << 20, 3: 128 << 20}, extra={
        "sys/bus/cxl/devices/dax_region0/dax0.0/target_node": "2",
        "sys/devices/virtual/memory_tiering/memory_tier4/nodelist": "0-1,3",
        "sys/devices/virtual/memory_tiering/memory_tier22/nodelist": "2",
        "sys/kernel/mm/numa/demotion_enabled": "false",
    })
    numa, errors = numa_of(probe, model_name="Intel(R) Xeon(R) Platinum 8480+", microarch="sapphirerapids")
    kinds = {n["id"]: (n["kind"], n["mem_total_bytes"] >> 30, n["memory_tier"]) for n in numa["nodes"]}
    assert kinds == {0: ("dram", 64, 4), 1: ("dram", 64, 4), 2: ("cxl", 256, 22), 3: ("memory-only", 128, 4)}
    assert numa["demotion_enabled"] is False and numa["snc_mode"] == "off" and not errors
    # The same CPU-less node on a Xeon CPU Max is its HBM in flat mode.
    numa, _ = numa_of(probe, model_name="Intel(R) Xeon(R) CPU Max 9480", microarch="sapphirerapids")
    assert [n["kind"] for n in numa["nodes"]] == ["dram", "dram", "cxl", "hbm"]


def test_no_tiers_no_demotion_file_are_null() -> None:
    numa, _ = numa_of(probe_of(*split([[8], [8]])))
    assert [n["memory_tier"] for n in numa["nodes"]] == [None, None] and numa["demotion_enabled"] is None


def test_a_cpu_less_node_beside_offline_cpus_is_said_to_be_ambiguous() -> None:
    nodes, packages = split([[8, 8], [8, 8]])
    nodes[3] = []  # every CPU of node 3 offline: it looks like memory without CPUs
    numa, errors = numa_of(probe_of(nodes, packages), offline_cpus=list(range(24, 32)), model_name=ICX_8380,
                           microarch="icelake-server")
    assert numa["nodes_per_socket"] is None  # socket 0: 2 nodes, socket 1: 1
    assert any("NUMA node 3 has no online CPU while CPUs 24-31 are offline" in e for e in errors)


# --- the numa.cxl_default_policy rule ----------------------------------------------------------------------------

def node(node_id: int, kind: str, tier: int | None, gib: int = 256) -> dict[str, Any]:
    return {"id": node_id, "cpus": [] if kind != "dram" else [node_id], "kind": kind, "memory_tier": tier,
            "mem_total_bytes": gib << 30}


def facts_with(nodes: list[dict[str, Any]], demotion: bool | None = False, balancing: int | None = 0) -> dict:
    return {"cpu": {"vendor": "GenuineIntel"},
            "numa": {"nodes": nodes, "demotion_enabled": demotion, "balancing": balancing}}


DRAM = [node(0, "dram", 4, 512), node(1, "dram", 4, 512)]


@pytest.mark.parametrize(
    ("facts", "status", "evidence"),
    [
        (facts_with(DRAM), NA, "no CXL memory"),
        (facts_with(DRAM + [node(2, "hbm", 4, 64)]), NA, "no CXL memory"),
        (facts_with(DRAM + [node(2, "memory-only", 4)]), UNKNOWN, "node 2 (256 GiB, memory_tier4): memory without"),
        (facts_with([node(0, "dram", None), node(2, "cxl", None)]), UNKNOWN, "no memory tiers in sysfs"),
        (facts_with(DRAM + [node(2, "cxl", 4)]), FAIL, "in the DRAM tier (memory_tier4): the kernel treats it as DRAM"),
        (facts_with(DRAM + [node(2, "cxl", 22)], demotion=True, balancing=0), FAIL,
         "demotion on without tiering promotion (kernel.numa_balancing=0, no value 2)"),
        (facts_with(DRAM + [node(2, "cxl", 22)], demotion=True, balancing=1), FAIL, "no value 2"),
        (facts_with(DRAM + [node(2, "cxl", 22)], demotion=False), PASS, "demotion off: it only takes allocations"),
        (facts_with(DRAM + [node(2, "cxl", 22)], demotion=True, balancing=2), PASS, "hot ones come back"),
        (facts_with(DRAM + [node(2, "cxl", 22)], demotion=None), UNKNOWN, "no /sys/kernel/mm/numa/demotion_enabled"),
        (facts_with(DRAM + [node(2, "cxl", 22)], demotion=True, balancing=None), UNKNOWN,
         "kernel.numa_balancing unreadable"),
    ],
)
def test_cxl_default_policy_verdicts(facts: dict, status: str, evidence: str) -> None:
    got, said, expected = check_cxl_default_policy(facts, True)
    assert (got, evidence in said) == (status, True), said
    assert expected.startswith("CXL memory off the default path")


def test_cxl_rule_names_every_node_and_follows_the_profile() -> None:
    facts = facts_with(DRAM + [node(2, "cxl", 4), node(3, "cxl", 22), node(4, "memory-only", 4)])
    status, evidence, _ = check_cxl_default_policy(facts, True)
    assert status == FAIL and "CXL node 2 (256 GiB, memory_tier4) in the DRAM tier" in evidence
    assert evidence.endswith("; also node 4 (256 GiB, memory_tier4) of unknown kind")
    # A profile that allows CXL on the default path passes what the default one fails.
    assert check_cxl_default_policy(facts, False)[0] == PASS


def test_the_audit_runs_the_rule_with_the_base_profile() -> None:
    findings = {f.rule: f for f in evaluate_node("n1", facts_with(DRAM + [node(2, "cxl", 4)]),
                                                 load_profile("xeon-ai-base"))}
    finding = findings["numa.cxl_default_policy"]
    assert finding.status == FAIL and "numactl --membind" in finding.remedy
    plain = copy.deepcopy(facts_with(DRAM))
    assert {f.rule: f.status for f in evaluate_node("n1", plain, load_profile("xeon-ai-base"))}[
        "numa.cxl_default_policy"] == NA


def test_the_snc_rule_names_the_mode() -> None:
    facts = {"cpu": {"vendor": "GenuineIntel"},
             "numa": {"snc_enabled": True, "nodes_per_socket": 3, "snc_mode": "SNC3", "nodes": []}}
    finding = {f.rule: f for f in evaluate_node("n1", facts, load_profile("xeon-ai-base"))}["numa.snc"]
    assert finding.status == FAIL and finding.evidence == "on (3 NUMA nodes per socket, SNC3)"
