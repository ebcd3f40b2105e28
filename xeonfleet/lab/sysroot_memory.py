"""Memory as the kernel lays it out: NUMA nodes (/sys/devices/system/node: CPUs, distances, meminfo), the
memory tiers, CXL RAM regions and transparent huge pages."""

from __future__ import annotations

from xeonfleet.knobs.thp import THP_CHOICES
from xeonfleet.lab.hardware_profile import HardwareProfile
from xeonfleet.lab.hardware_specs import NumaNodeSpec
from xeonfleet.lab.sysroot_cpus import LogicalCpu, format_cpumask
from xeonfleet.lab.sysroot_proc import kb_line
from xeonfleet.lab.sysroot_writer import TreeWriter
from xeonfleet.node.instances import format_cpulist
from xeonfleet.parsers import sysfs_paths as paths
from xeonfleet.parsers.numa import CXL_BUS, CXL_DAX_REGION, DEMOTION, MEMORY_TIER

_RESERVED_PERMILLE = 15  # the kernel keeps ~1.5 % of RAM (struct pages, firmware): MemTotal < installed


def node_mem_kb(hw: HardwareProfile) -> list[int]:
    """MemTotal of each NUMA node: the socket's DIMMs split evenly across its SNC/NPS nodes; a node
    without CPUs has its own memory_gb."""
    if hw.memory.total_gb is not None:
        per_socket = [hw.memory.total_gb / hw.sockets] * hw.sockets
    else:
        per_socket = [0.0] * hw.sockets
        for dimm in hw.dimm_slots():
            per_socket[dimm.socket] += dimm.size_gb
    specs = hw.node_specs()
    dram_nodes = [sum(1 for spec in specs if spec.socket == socket and spec.cores) for socket in range(hw.sockets)]
    usable = (1000 - _RESERVED_PERMILLE) / 1000
    return [  # whole 4 kB pages
        int((per_socket[spec.socket] / dram_nodes[spec.socket] if spec.cores else spec.memory_gb)
            * 1024 * 1024 * usable) // 4 * 4
        for spec in specs
    ]



def write_nodes(out: TreeWriter, hw: HardwareProfile, online: list[LogicalCpu], node_kb: list[int]) -> None:
    base = paths.NODE
    specs = hw.node_specs()
    every = format_cpulist(list(range(hw.numa_nodes)))
    with_cpus = format_cpulist([node for node, spec in enumerate(specs) if spec.cores])
    with_memory = format_cpulist([n for n, kb in enumerate(node_kb) if kb])
    for name, value in (("online", every), ("possible", every), ("has_cpu", with_cpus),
                        ("has_memory", with_memory), ("has_normal_memory", with_memory)):
        out.lines(f"{base}/{name}", value)
    nbits = hw.logical_cpus
    for node in range(hw.numa_nodes):
        members = [c.id for c in online if c.node == node]
        d = f"{base}/node{node}"
        out.lines(f"{d}/cpulist", format_cpulist(members))
        out.lines(f"{d}/cpumap", format_cpumask(members, nbits))
        out.lines(f"{d}/distance", " ".join(str(_distance(specs, node, other)) for other in range(hw.numa_nodes)))
        out.write(f"{d}/meminfo", _node_meminfo(node, node_kb[node]))


def _distance(specs: list[NumaNodeSpec], a: int, b: int) -> int:
    """SLIT distances as Intel firmware reports them: local 10, same socket (SNC) 12, remote 21. Memory
    without CPUs: 14 from its socket, 24 from the other (the lab's choice: nearer than the other socket's
    DRAM, as firmware places it; real tables vary)."""
    if a == b:
        return 10
    same_socket = specs[a].socket == specs[b].socket
    if specs[a].cores and specs[b].cores:
        return 12 if same_socket else 21
    return 14 if same_socket else 24


def write_memory_tiers(out: TreeWriter, hw: HardwareProfile) -> None:
    """memory_tierN/nodelist for every tier in use and demotion_enabled, on kernels that have them."""
    if hw.memory_tiering is None:
        return
    tiers: dict[int, list[int]] = {}
    for node, spec in enumerate(hw.node_specs()):
        tiers.setdefault(spec.default_tier, []).append(node)
    for tier, nodes in tiers.items():
        out.lines(f"{MEMORY_TIER}{tier}/nodelist", format_cpulist(nodes))
    out.lines(DEMOTION, "true" if hw.memory_tiering.demotion_enabled else "false")


def write_cxl_regions(out: TreeWriter, hw: HardwareProfile) -> None:
    """One CXL RAM region per cxl node, onlined through its DAX device into that node
    (Documentation/driver-api/cxl/linux/cxl-driver.rst: regionZ, dax_regionZ/daxZ.0/target_node)."""
    cxl = [(node, spec) for node, spec in enumerate(hw.node_specs()) if spec.kind == "cxl"]
    for region, (node, spec) in enumerate(cxl):
        d = f"{CXL_BUS}region{region}"
        out.lines(f"{d}/mode", "ram")
        out.lines(f"{d}/size", hex(spec.memory_gb * 2**30))
        out.lines(f"{d}/interleave_ways", 1)
        out.lines(f"{CXL_DAX_REGION}{region}/dax{region}.0/target_node", node)


def _node_meminfo(node: int, total_kb: int) -> str:
    free = total_kb * 96 // 100
    fields = [("MemTotal", total_kb), ("MemFree", free), ("MemUsed", total_kb - free),
              ("Active", total_kb // 100), ("Inactive", total_kb // 50), ("FilePages", total_kb // 50),
              ("AnonPages", total_kb // 200), ("AnonHugePages", 0)]
    text = "".join(f"Node {node} {kb_line(k, v)}" for k, v in fields)
    hugepages = ("HugePages_Total", "HugePages_Free", "HugePages_Surp")
    return text + "".join(f"Node {node} {k}: {0:>5}\n" for k in hugepages)


def write_mm(out: TreeWriter, hw: HardwareProfile) -> None:
    """THP in the kernel's "always [madvise] never" format: the active choice in brackets."""
    for name, current in (("enabled", hw.thp.enabled), ("defrag", hw.thp.defrag)):
        out.lines(f"{paths.THP_DIR}/{name}", " ".join(f"[{c}]" if c == current else c for c in THP_CHOICES[name]))
