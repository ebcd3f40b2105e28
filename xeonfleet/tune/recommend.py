"""Which shipped profile fits a node, from its facts alone (like `tuned-adm recommend`), with the reason.

Rules are tried in order and the first that matches wins, so a reader can predict the answer:
  1. a guest (cpu.hypervisor): inference-online, small pinned instances fit a VM's vCPUs;
  2. a NIC of 100 Gb/s or more up and at least 256 GiB of memory: training (gradient exchange needs the
     link, optimizer state the memory); the reason names the NIC's NUMA node, where the ranks belong;
  3. at least 20 physical cores per NUMA node: inference-offline (the guide: large batches scale to
     20+ cores per instance, and one instance per node fits);
  4. otherwise inference-online (8-16 cores per instance, the guide's small-batch sweet spot).
"""

from __future__ import annotations

from dataclasses import dataclass

from xeonfleet.knobs import Facts, fact
from xeonfleet.tune.plan import physical_cores_per_node

TRAINING_NIC_MBPS = 100_000
TRAINING_MEMORY_GIB = 256
OFFLINE_CORES_PER_NODE = 20


@dataclass(frozen=True)
class Recommendation:
    profile: str
    reason: str


def _fastest_nic(facts: Facts) -> dict | None:
    up = [n for n in fact(facts, "nics") or [] if n.get("operstate") == "up" and n.get("speed_mbps")]
    return max(up, key=lambda n: n["speed_mbps"], default=None)


def recommend(facts: Facts) -> Recommendation:
    """The profile for one node and why (the rules of this module's docstring, in order)."""
    cores = fact(facts, "cpu.physical_cores")
    per_node = physical_cores_per_node(facts)
    gib = (fact(facts, "memory.total_bytes") or 0) / 2**30
    if hypervisor := fact(facts, "cpu.hypervisor"):
        return Recommendation("inference-online", f"virtual machine (hypervisor: {hypervisor}) with "
                                                  f"{cores or '?'} physical cores: small pinned instances fit its vCPUs")
    nic = _fastest_nic(facts)
    if nic and nic["speed_mbps"] >= TRAINING_NIC_MBPS and gib >= TRAINING_MEMORY_GIB:
        node = (nic.get("pcie") or {}).get("numa_node")
        where = f" on NUMA node {node}" if node is not None else ""
        return Recommendation("training", f"{nic['name']} at {nic['speed_mbps'] // 1000} Gb/s{where} and "
                                          f"{gib:.0f} GiB of memory: distributed training")
    if per_node and per_node >= OFFLINE_CORES_PER_NODE:
        return Recommendation("inference-offline", f"{per_node} physical cores per NUMA node: large-batch "
                                                   f"instances of {OFFLINE_CORES_PER_NODE}+ cores, one per node")
    return Recommendation("inference-online", f"{per_node or cores or '?'} physical cores per NUMA node: "
                                              "small-batch instances of 8-16 cores")
