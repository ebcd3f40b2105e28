"""Read-only check: would AI processes land on CXL memory under the node's default memory policy?

The default policy allocates on the local node and, when it is full, falls back to the other nodes by
distance; a CPU-less CXL node is usually nearer than the other socket, so it takes the spill. What
happens to those pages depends on the kernel's memory tiers (mm/memory-tiers.c, kernel 6.1+):
- a CXL node in the same tier as DRAM is DRAM to the kernel: nothing demotes to it, nothing promotes
  from it, and whatever lands there stays (its HMAT/CDAT latency did not reach the kernel);
- in a lower tier, reclaim demotes cold pages to it when /sys/kernel/mm/numa/demotion_enabled is true,
  and NUMA balancing in memory-tiering mode (kernel.numa_balancing value 2) promotes hot pages back.
So the default path is clear of CXL when the node is in a lower tier and demotion is either off or paired
with tiering promotion; a process pinned with `numactl --membind` to the DRAM nodes never gets CXL pages.
"""

from __future__ import annotations

from typing import Any

from xeonfleet.knobs.status import FAIL, NA, PASS, UNKNOWN
from xeonfleet.knobs.base import Facts, fact

Verdict = tuple[str, str, str]
NUMA_BALANCING_MEMORY_TIERING = 2  # include/linux/sched/sysctl.h
EXPECTED = "CXL memory off the default path (a lower memory tier; demotion off, or with tiering promotion)"


def _listed(nodes: list[dict[str, Any]]) -> str:
    """"node 2 (256 GiB, memory_tier22), node 3 (...)"."""
    def one(node: dict[str, Any]) -> str:
        size = node.get("mem_total_bytes")
        tier = node.get("memory_tier")
        details = [f"{size / 2**30:.0f} GiB" if size else "size unknown"]
        details += [f"memory_tier{tier}"] if tier is not None else []
        return f"node {node['id']} ({', '.join(details)})"

    return ", ".join(one(node) for node in nodes)


def _lower_tier_verdict(cxl: str, top: int, demotion: bool | None, balancing: int | None) -> tuple[bool | None, str]:
    """(whether CXL is on the default path, evidence) for CXL nodes below the DRAM tier."""
    below = f"CXL {cxl} below the DRAM tier (memory_tier{top})"
    if demotion is None:
        return None, f"{below}; no /sys/kernel/mm/numa/demotion_enabled: whether reclaim demotes to it is unknown"
    if not demotion:
        return False, f"{below}, demotion off: it only takes allocations that find DRAM full"
    if balancing is None:
        return None, f"{below}, demotion on; kernel.numa_balancing unreadable: whether hot pages come back is unknown"
    if balancing & NUMA_BALANCING_MEMORY_TIERING:
        return False, (f"{below}, demotion on with tiering promotion (kernel.numa_balancing={balancing}): cold pages "
                       "move to CXL, hot ones come back")
    return True, (f"{below}, demotion on without tiering promotion (kernel.numa_balancing={balancing}, no value 2): "
                  "reclaim moves pages to CXL and nothing brings hot ones back")


def check_cxl_default_policy(facts: Facts, wanted: Any) -> Verdict:
    """PASS when CXL memory stays off the default allocation path (as the profile wants), FAIL when the
    kernel treats it as DRAM or demotes to it one way; n/a without CXL memory; UNKNOWN when it cannot tell."""
    expected = EXPECTED if wanted else "CXL memory allowed on the default path"
    nodes = fact(facts, "numa.nodes") or []
    cxl = [node for node in nodes if node.get("kind") == "cxl"]
    unknown = [node for node in nodes if node.get("kind") == "memory-only"]
    if not cxl:
        if unknown:
            return UNKNOWN, (f"{_listed(unknown)}: memory without CPUs that no CXL region names (BIOS-mapped CXL, "
                             "or other memory): whether it is CXL cannot be told"), expected
        return NA, "no CXL memory on this node", expected
    dram_tiers = {node.get("memory_tier") for node in nodes if node.get("kind") == "dram"}
    if not dram_tiers or None in dram_tiers or any(node.get("memory_tier") is None for node in cxl):
        return UNKNOWN, (f"CXL {_listed(cxl)}: no memory tiers in sysfs (kernel before 6.1): whether the kernel "
                         "tells it from DRAM is unknown"), expected
    top = min(dram_tiers)
    as_dram = [node for node in cxl if node["memory_tier"] <= top]
    if as_dram:
        on_path: bool | None = True
        evidence = (f"CXL {_listed(as_dram)} in the DRAM tier (memory_tier{top}): the kernel treats it as DRAM, "
                    "pages that spill onto it stay and are never promoted back")
    else:
        on_path, evidence = _lower_tier_verdict(_listed(cxl), top, fact(facts, "numa.demotion_enabled"),
                                                fact(facts, "numa.balancing"))
    if unknown:
        evidence += f"; also {_listed(unknown)} of unknown kind"
    if on_path is None:
        return UNKNOWN, evidence, expected
    return (PASS if on_path != bool(wanted) else FAIL), evidence, expected
