"""CPU topology: present/online/offline CPUs, sockets, cores and threads.

sysfs topology ids are used where the probe sent them; cpuinfo's "physical id" and "core id" fill in
where it did not. x86 prints those two in cpuinfo for every online CPU, with the values of sysfs's
physical_package_id and core_id, so the probe reads sysfs's per-CPU ids only when cpuinfo lacks them
(other arches, old kernels, some containers) or for a snapshot: on a 2-socket host that is 500 file reads
fewer per run.
"""

from __future__ import annotations

from collections import defaultdict

from xeonfleet.parsers.cpulist import parse_cpulist
from xeonfleet.parsers.sections import ProbeOutput, to_int

CPU = "sys/devices/system/cpu/"


def _cpu_ids_in_sysfs(probe: ProbeOutput) -> set[int]:
    ids = set()
    for path in probe.files:
        if path.startswith(CPU + "cpu"):
            name = path[len(CPU) + 3 :].split("/", 1)[0]
            if name.isdigit():
                ids.add(int(name))
    return ids


def online_cpus(probe: ProbeOutput, blocks: list[dict[str, str]]) -> list[int]:
    """Online CPUs: the kernel's online list, else per-CPU online files, else cpuinfo."""
    listed = parse_cpulist(probe.value(CPU + "online"))
    if listed:
        return listed
    per_cpu = [cpu for cpu in _cpu_ids_in_sysfs(probe)
               if probe.value(f"{CPU}cpu{cpu}/online") in (None, "1")]
    if per_cpu:
        return sorted(per_cpu)
    return sorted({int(b["processor"]) for b in blocks if b.get("processor", "").isdigit()})


def present_cpus(probe: ProbeOutput, online: list[int]) -> list[int]:
    """CPUs physically there (possible ∩ present), whether online or not."""
    present = parse_cpulist(probe.value(CPU + "present"))
    possible = parse_cpulist(probe.value(CPU + "possible"))
    if present and possible:
        cpus = set(present) & set(possible)
    else:
        cpus = set(present or possible or []) or (_cpu_ids_in_sysfs(probe) | set(online))
    return sorted(cpus | set(online))


def _ids_from_sibling_lists(probe: ProbeOutput, leaves: tuple[str, ...]) -> dict[int, str]:
    """{cpu: group id} from the first sibling-list leaf that exists (core_cpus_list ...): CPUs
    listing the same siblings share a core (or package); groups are numbered by their first CPU."""
    for leaf in leaves:
        lists = probe.per_cpu(leaf)
        if lists:
            groups = {cpu: min(parse_cpulist(text) or [cpu]) for cpu, text in lists.items()}
            order = {first: index for index, first in enumerate(sorted(set(groups.values())))}
            return {cpu: str(order[first]) for cpu, first in groups.items()}
    return {}


def _placement(probe: ProbeOutput, blocks: list[dict[str, str]], online: list[int],
               errors: list[str]) -> dict[int, tuple[int | None, int | None]]:
    """(package, core) per online CPU from sysfs topology ids, else sibling lists, else cpuinfo."""
    by_processor = {int(b["processor"]): b for b in blocks if b.get("processor", "").isdigit()}
    packages = (probe.per_cpu("topology/physical_package_id")
                or _ids_from_sibling_lists(probe, ("topology/package_cpus_list", "topology/core_siblings_list")))
    cores = (probe.per_cpu("topology/core_id")
             or _ids_from_sibling_lists(probe, ("topology/core_cpus_list", "topology/thread_siblings_list")))
    placement = {}
    for cpu in online:
        package = to_int(packages.get(cpu))
        core = to_int(cores.get(cpu))
        block = by_processor.get(cpu, {})
        if package is None and block.get("physical id", "").isdigit():
            package = int(block["physical id"])
        if core is None and block.get("core id", "").isdigit():
            core = int(block["core id"])
        placement[cpu] = (package, core)
    if online and all(package is None for package, _ in placement.values()):
        errors.append("no socket ids (no sysfs topology, no cpuinfo 'physical id'): assuming 1 socket")
        placement = {cpu: (0, core) for cpu, (_, core) in placement.items()}
    if online and all(core is None for _, core in placement.values()):
        errors.append("no core ids (no sysfs topology, no cpuinfo 'core id'): assuming 1 thread per core")
        placement = {cpu: (package, cpu) for cpu, (package, _) in placement.items()}
    return placement


def parse_topology(probe: ProbeOutput, blocks: list[dict[str, str]], errors: list[str]) -> dict:
    """Sockets, cores, threads and CPU counts, honest about offline CPUs.

    "package_of" ({online CPU: package}) is for the NUMA parser; node.py drops it from the JSON.
    """
    online = online_cpus(probe, blocks)
    present = present_cpus(probe, online)
    placement = _placement(probe, blocks, online, errors)
    threads_by_core: dict[tuple, int] = defaultdict(int)
    cores_by_socket: dict[int | None, set] = defaultdict(set)
    for package, core in placement.values():
        threads_by_core[(package, core)] += 1
        cores_by_socket[package].add(core)
    sockets = len(cores_by_socket) or None
    threads = max(threads_by_core.values(), default=None)
    smt_active = probe.value(CPU + "smt/active")
    if not online:
        errors.append("no online CPUs found (no sysfs cpu lists, no cpuinfo): topology unknown")
    return {
        "sockets": sockets,
        "cores_per_socket": max((len(c) for c in cores_by_socket.values()), default=None),
        "threads_per_core": threads,
        "logical_cpus": len(present) or None,
        "online_cpus": len(online) or None,
        "offline_cpus": sorted(set(present) - set(online)),
        "physical_cores": len(threads_by_core) or None,
        "smt_enabled": (threads > 1 or smt_active == "1") if threads is not None else None,
        "package_of": {cpu: package for cpu, (package, _) in placement.items()},
    }
