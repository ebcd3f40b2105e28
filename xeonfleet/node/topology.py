"""The node's CPU topology and the part of it this process may use: the one reader of both for the node wing.

The `xeonfleet-run` launcher and the benchmark runners plan pinned instances from it. sysfs lists every
online CPU and NUMA node of the machine; a process may be confined to fewer by its affinity (taskset), its
cgroup's cpuset (a container, a systemd slice) and the memory nodes it may allocate from (Mems_allowed).
On real hardware they mostly agree; in a container, or on a lab host whose /sys describes a generated
160-CPU Xeon while its processes run on the VM's 2 cores, they do not, and a plan over CPUs the process
cannot use would make numactl fail or benchmark numbers lie.

Everything is read under `root`: `/` on a live node, a snapshot or generated sysroot in tests (the layout
`lscpu --sysroot` uses). Standard library only, like every node module.
"""

from __future__ import annotations

import glob
import os

if __package__:  # on the controller: the package xeonfleet.node
    from xeonfleet.node.siblings import sibling
else:  # on a node: the flat upload directory (see siblings.py)
    from siblings import sibling

instances = sibling("instances")


class TopologyError(Exception):
    """Nothing the topology lists is usable by this process; one line naming the limits and the fix."""


def read_text(path: str | os.PathLike[str]) -> str | None:
    """A sysfs/procfs file's text without surrounding blanks; None when it cannot be read."""
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def read_topology(root: str) -> tuple[dict[int, list[int]], dict[int, tuple[int, ...]]]:
    """NUMA nodes' online CPUs and each CPU's hyper-thread siblings, from sysfs under `root`.

    A CPU is online when it has a topology directory (the kernel removes it when the CPU goes offline). A
    node without online CPUs (CXL or HBM memory, a node whose CPUs are all offline) is listed with none."""
    cpu_dir = os.path.join(root, "sys/devices/system/cpu")
    siblings: dict[int, tuple[int, ...]] = {}
    for path in glob.glob(os.path.join(cpu_dir, "cpu[0-9]*/topology/thread_siblings_list")):
        cpu = int(path.split("/cpu")[-1].split("/")[0])
        siblings[cpu] = tuple(instances.parse_cpulist(read_text(path) or ""))
    nodes: dict[int, list[int]] = {}
    for path in glob.glob(os.path.join(root, "sys/devices/system/node/node[0-9]*/cpulist")):
        cpus = [c for c in instances.parse_cpulist(read_text(path) or "") if c in siblings or not siblings]
        nodes[int(path.split("/node")[-1].split("/")[0])] = cpus
    if not nodes:  # no NUMA in this kernel: one node holding every CPU
        nodes = {0: sorted(siblings)}
    return nodes, siblings


def _status_list(root: str, key: str) -> set[int] | None:
    """A CPU/node list from /proc/self/status (Cpus_allowed_list, Mems_allowed_list); None if absent."""
    for line in (read_text(os.path.join(root, "proc/self/status")) or "").splitlines():
        name, _, value = line.partition(":")
        if name == key:
            return set(instances.parse_cpulist(value))
    return None


def cgroup_cpuset(root: str) -> set[int] | None:
    """The CPUs this process's cgroup allows (v2 cpuset.cpus.effective, v1 cpuset.effective_cpus), if readable."""
    for line in (read_text(os.path.join(root, "proc/self/cgroup")) or "").splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            candidate = os.path.join(root, "sys/fs/cgroup", path.lstrip("/"), "cpuset.cpus.effective")
        elif "cpuset" in controllers.split(","):
            candidate = os.path.join(root, "sys/fs/cgroup/cpuset", path.lstrip("/"), "cpuset.effective_cpus")
        else:
            continue
        text = read_text(candidate)
        if text:
            return set(instances.parse_cpulist(text))
    return None


def allowed_cpus_and_mems(root: str) -> tuple[set[int] | None, set[int] | None]:
    """What this process may use: CPUs (affinity, then the cgroup cpuset) and memory nodes; None = no limit known.

    On the live root the affinity is the kernel's own; for an offline tree, its proc/self/status."""
    if os.path.realpath(root) == "/":
        cpus: set[int] | None = set(os.sched_getaffinity(0))
    else:
        cpus = _status_list(root, "Cpus_allowed_list")
    cpuset = cgroup_cpuset(root)
    if cpuset is not None:
        cpus = cpuset if cpus is None else cpus & cpuset
    return cpus, _status_list(root, "Mems_allowed_list")


def usable_topology(nodes: dict[int, list[int]], cpus: set[int] | None,
                    mems: set[int] | None) -> tuple[dict[int, list[int]], str | None]:
    """The NUMA nodes and CPUs a plan may use, and a note when that differs from what sysfs claims.

    Raises TopologyError when nothing the topology lists is usable (numactl would only print its usage)."""
    claimed = sorted(c for node_cpus in nodes.values() for c in node_cpus)
    usable = {node: [c for c in node_cpus if cpus is None or c in cpus]
              for node, node_cpus in nodes.items() if mems is None or node in mems}
    usable = {node: node_cpus for node, node_cpus in usable.items() if node_cpus}
    kept = sorted(c for node_cpus in usable.values() for c in node_cpus)
    limits = (f"allowed CPUs {instances.format_cpulist(sorted(cpus)) if cpus is not None else 'all'}, "
              f"memory nodes {instances.format_cpulist(sorted(mems)) if mems is not None else 'all'}")
    if not kept:
        raise TopologyError(f"none of the {len(claimed)} CPUs in this host's topology is usable by this process "
                            f"({limits}); run it outside the restricting cgroup or taskset")
    if kept == claimed:
        return usable, None
    return usable, (f"the topology lists {len(claimed)} CPUs on {len(nodes)} NUMA node(s), this process may use "
                    f"{len(kept)} ({limits}); planning over CPUs {instances.format_cpulist(kept)}")
