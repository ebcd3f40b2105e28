"""NUMA nodes (CPU lists, memory), SNC/NPS detection, automatic NUMA balancing."""

from __future__ import annotations

import math
import re

from xeonfleet.parsers.cpulist import format_cpulist, parse_cpulist, parse_cpumask
from xeonfleet.parsers.sections import ProbeOutput

NODE = "sys/devices/system/node/"
_NODE_MEMTOTAL = re.compile(r"Node\s+\d+\s+MemTotal:\s+(\d+)\s*kB")


def _node_mem_bytes(lines: list[str] | None) -> int | None:
    for line in lines or []:
        match = _NODE_MEMTOTAL.search(line)
        if match:
            return int(match.group(1)) * 1024
    return None


def parse_nodes(probe: ProbeOutput, online: list[int], mem_total_bytes: int | None,
                errors: list[str]) -> list[dict]:
    """One entry per NUMA node, memory-less and CPU-less nodes included."""
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


def parse_numa(probe: ProbeOutput, online: list[int], sockets: int | None, vendor: str | None,
               mem_total_bytes: int | None, errors: list[str]) -> dict:
    """The numa.* block: nodes, nodes per socket, SNC (Intel) or NPS (AMD)."""
    nodes = parse_nodes(probe, online, mem_total_bytes, errors)
    with_cpus = [node for node in nodes if node["cpus"]]
    per_socket = math.ceil(len(with_cpus) / sockets) if sockets and with_cpus else None
    return {
        "nodes": nodes,
        "node_count": len(nodes),
        "nodes_per_socket": per_socket,
        "snc_enabled": per_socket > 1 if vendor == "GenuineIntel" and per_socket else None,
        "nps": per_socket if vendor == "AuthenticAMD" else None,
        "balancing": probe.int_value("proc/sys/kernel/numa_balancing"),
    }
