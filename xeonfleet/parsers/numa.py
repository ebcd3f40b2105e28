"""NUMA nodes (CPU lists, memory, what kind of memory), nodes per socket, the SNC mode (Intel) or NPS
(AMD), automatic NUMA balancing and the kernel's memory tiers.

Nodes per socket are counted from the package id of every CPU each node holds, not by dividing nodes by
sockets: a Xeon 6980P in SNC3 splits 128 cores 43/43/42, offline CPUs empty a node, and CPU-less nodes
(CXL memory expanders, HBM in flat mode) belong to no SNC count at all.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from xeonfleet.parsers import microarch
from xeonfleet.parsers.cpulist import format_cpulist, parse_cpulist, parse_cpumask
from xeonfleet.parsers.sections import ProbeOutput, to_int

NODE = "sys/devices/system/node/"
# Documentation/ABI/testing/sysfs-kernel-mm-memory-tiers: memory_tierN/nodelist, a smaller N is faster.
MEMORY_TIER = "sys/devices/virtual/memory_tiering/memory_tier"
# mm/memory-tiers.c: "true"/"false", whether reclaim demotes pages to the next slower tier.
DEMOTION = "sys/kernel/mm/numa/demotion_enabled"
# Documentation/driver-api/cxl/linux/cxl-driver.rst: a CXL RAM region's DAX region holds its DAX device,
# whose target_node (Documentation/ABI/testing/sysfs-bus-dax) is the node its memory is onlined into.
# (memX/numa_node is no use here: it is the CPU node *near* the device, not the node of its memory.)
CXL_BUS = "sys/bus/cxl/devices/"
CXL_DAX_REGION = CXL_BUS + "dax_region"
# The Xeon CPU Max model names ("Intel(R) Xeon(R) CPU Max 9480"): HBM2e on package; in flat mode its
# memory is CPU-less NUMA nodes (Intel Xeon CPU Max Series configuration guide).
_XEON_MAX = re.compile(r"\bCPU Max \d{4}")
_NODE_MEMTOTAL = re.compile(r"Node\s+\d+\s+MemTotal:\s+(\d+)\s*kB")
_SNC_WAYS = (2, 3, 4, 6)  # nodes per L3 the kernel's resctrl knows (arch/x86/kernel/cpu/resctrl, SNC6 in 6.13)


def _node_mem_bytes(lines: list[str] | None) -> int | None:
    for line in lines or []:
        match = _NODE_MEMTOTAL.search(line)
        if match:
            return int(match.group(1)) * 1024
    return None


def parse_nodes(probe: ProbeOutput, online: list[int], mem_total_bytes: int | None,
                errors: list[str]) -> list[dict]:
    """One entry per NUMA node, memory-less and CPU-less nodes included (kind and tier not yet set)."""
    ids = {int(key) for key in probe.matching(NODE + "node", "/cpulist") if key.isdigit()}
    ids |= {int(key) for key in probe.matching(NODE + "node", "/cpumap") if key.isdigit()}
    ids |= {int(key) for key in probe.matching(NODE + "node", "/meminfo") if key.isdigit()}
    if not ids:
        errors.append("no sys/devices/system/node: assuming one NUMA node holding every CPU")
        return [{"id": 0, "cpus": list(online), "cpulist": format_cpulist(online),
                 "mem_total_bytes": mem_total_bytes}]
    nodes = []
    for node in sorted(ids):
        cpus = (parse_cpulist(probe.value(f"{NODE}node{node}/cpulist"))
                or parse_cpumask(probe.value(f"{NODE}node{node}/cpumap")) or [])
        nodes.append({
            "id": node,
            "cpus": cpus,
            "cpulist": format_cpulist(cpus),
            "mem_total_bytes": _node_mem_bytes(probe.lines(f"{NODE}node{node}/meminfo")),
        })
    return nodes


def nodes_per_socket(package_of: dict[int, int | None], cpu_nodes: list[dict], sockets: int | None,
                     errors: list[str]) -> int | None:
    """NUMA nodes with CPUs on each socket, counted by the package of their CPUs (`package_of`, the topology
    parser's placement); None with the reason when sockets differ or the package ids are missing (a
    one-socket host needs none)."""
    if not cpu_nodes:
        return None
    nodes_on: dict[int, set[int]] = defaultdict(set)
    for node in cpu_nodes:
        packages = {package_of.get(cpu) for cpu in node["cpus"]}
        if None in packages:
            if sockets == 1:
                return len(cpu_nodes)
            errors.append(f"numa.nodes_per_socket unknown: no package id for the CPUs of node {node['id']} "
                          "(no sysfs physical_package_id, no cpuinfo 'physical id')")
            return None
        for package in packages:
            nodes_on[package].add(node["id"])
    counts = {package: len(nodes) for package, nodes in sorted(nodes_on.items())}
    if len(set(counts.values())) > 1:
        per = ", ".join(f"socket {package}: {count}" for package, count in counts.items())
        errors.append(f"numa.nodes_per_socket unknown: the sockets hold different numbers of NUMA nodes ({per})")
        return None
    return next(iter(counts.values()))


def snc_mode(per_socket: int, arch: str | None, model_name: str | None) -> tuple[str | None, str | None]:
    """(mode, why it is None): "off" for one node per socket, SNC<n> when the CPU's platform segment
    offers it (xeonfleet/parsers/xeon_table.py snc_modes); never a mode the part does not have."""
    if per_socket == 1:
        return "off", None
    name = f"SNC{per_socket}"
    if per_socket not in _SNC_WAYS:
        return None, f"{per_socket} NUMA nodes per socket is no SNC mode (numa=fake, or the firmware's own split)"
    found, note = microarch.segment(arch, model_name)
    if found is None:
        return None, f"{per_socket} NUMA nodes per socket, but which SNC modes this CPU offers is unknown: {note}"
    if found.snc_modes is None:
        return None, (f"{per_socket} NUMA nodes per socket, but the SNC modes of {found.name} are not published "
                      "in xeonfleet/parsers/xeon_table.py")
    if name not in found.snc_modes:
        return None, (f"{per_socket} NUMA nodes per socket, but {found.name} offers {', '.join(found.snc_modes)} "
                      f"only: not {name} (numa=fake, or the firmware's own split)")
    return name, None


def memory_tiers(probe: ProbeOutput) -> dict[int, int]:
    """{node: N of the memory_tierN holding it}; empty on kernels before 6.1 (no memory_tiering)."""
    tiers = {}
    for tier, lines in probe.matching(MEMORY_TIER, "/nodelist").items():
        if tier.isdigit():
            for node in parse_cpulist(lines[0].strip() if lines else None) or []:
                tiers[node] = int(tier)
    return tiers


def cxl_nodes(probe: ProbeOutput) -> set[int]:
    """The nodes a CXL region's memory is onlined into (dax_regionZ/daxZ.Y/target_node)."""
    found = probe.matching(CXL_DAX_REGION, "/target_node").values()
    targets = (to_int(lines[0].strip()) for lines in found if lines)
    return {node for node in targets if node is not None and node >= 0}


def _kind(node: dict, cxl: set[int], xeon_max: bool) -> str:
    """dram: a node with CPUs (its socket's own memory); a CPU-less node is cxl when a CXL region onlines
    into it, hbm on a Xeon CPU Max (HBM in flat mode), else memory-only (kind unknown)."""
    if node["cpus"]:
        return "dram"
    if node["id"] in cxl:
        return "cxl"
    return "hbm" if xeon_max else "memory-only"


def _demotion(probe: ProbeOutput) -> bool | None:
    return {"true": True, "false": False}.get(probe.value(DEMOTION) or "")


def parse_numa(probe: ProbeOutput, package_of: dict[int, int | None], cpu: dict[str, Any],
               mem_total_bytes: int | None, errors: list[str]) -> dict:
    """The numa.* block: nodes with their kind and tier, nodes per socket, SNC (Intel) or NPS (AMD).

    `package_of` is {online CPU: package} from the topology parser (node.py), which knows where each id
    came from (sysfs or cpuinfo)."""
    nodes = parse_nodes(probe, sorted(package_of), mem_total_bytes, errors)
    tiers, cxl = memory_tiers(probe), cxl_nodes(probe)
    xeon_max = bool(_XEON_MAX.search(cpu["model_name"] or ""))
    for node in nodes:
        node["kind"] = _kind(node, cxl, xeon_max)
        node["memory_tier"] = tiers.get(node["id"])
        if node["kind"] in ("hbm", "memory-only") and cpu["offline_cpus"]:
            errors.append(f"NUMA node {node['id']} has no online CPU while CPUs {format_cpulist(cpu['offline_cpus'])} "
                          "are offline: it may be a CPU node emptied by them, not memory without CPUs")
    per_socket = nodes_per_socket(package_of, [node for node in nodes if node["cpus"]], cpu["sockets"], errors)
    intel = cpu["vendor"] == "GenuineIntel"
    mode = None
    if intel and per_socket:
        if cpu["hypervisor"]:
            errors.append(f"numa.snc_mode unknown: a VM guest ({cpu['hypervisor']}) sees the hypervisor's virtual "
                          "NUMA nodes, not the host's SNC setting")
        else:
            mode, why = snc_mode(per_socket, cpu["microarch"], cpu["model_name"])
            if why:
                errors.append(f"numa.snc_mode unknown: {why}")
    return {
        "nodes": nodes,
        "node_count": len(nodes),
        "nodes_per_socket": per_socket,
        "snc_enabled": per_socket > 1 if intel and per_socket else None,
        "snc_mode": mode,
        "nps": per_socket if cpu["vendor"] == "AuthenticAMD" else None,
        "balancing": probe.int_value("proc/sys/kernel/numa_balancing"),
        "demotion_enabled": _demotion(probe),
    }
