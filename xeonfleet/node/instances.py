"""Split a node's physical cores into pinned instances (shared by the tune deploy, the launcher and benchmarks).

Pure standard library on purpose: the node-side launcher `xeonfleet-run` ships this file to nodes as-is.
Rules from the Intel guide: an instance never spans two NUMA nodes (memory stays local with `numactl -l`),
never splits a physical core's hyper-threads across instances, and small-batch serving wants 8-16 cores per
instance while large batches want 20+.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Instance:
    """One pinned copy of a workload: its NUMA node, its physical cores' logical CPUs, its thread count."""

    index: int
    node: int
    cpus: tuple[int, ...]
    threads: int

    @property
    def cpulist(self) -> str:
        return format_cpulist(self.cpus)


def format_cpulist(cpus: tuple[int, ...] | list[int]) -> str:
    """Kernel-style CPU list: (0,1,2,5) -> "0-2,5"."""
    ordered = sorted(set(cpus))
    parts: list[str] = []
    start = prev = None
    for cpu in ordered:
        if start is None:
            start = prev = cpu
        elif cpu == prev + 1:
            prev = cpu
        else:
            parts.append(f"{start}-{prev}" if start != prev else str(start))
            start = prev = cpu
    if start is not None:
        parts.append(f"{start}-{prev}" if start != prev else str(start))
    return ",".join(parts)


def parse_cpulist(text: str) -> list[int]:
    """Inverse of format_cpulist; tolerates blanks and strides ("0-6:2")."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            span, _, stride = part.partition(":")
            lo, hi = (int(x) for x in span.split("-"))
            cpus.extend(range(lo, hi + 1, int(stride) if stride else 1))
        else:
            cpus.append(int(part))
    return cpus


def pick_cores_per_instance(cores_per_node: int, lo: int, hi: int) -> int:
    """The largest core count in [lo, hi] that divides a NUMA node evenly (no core left idle); else the
    largest count in range that fits, so a node smaller than `lo` still gets one instance of all its cores."""
    for count in range(min(hi, cores_per_node), lo - 1, -1):
        if cores_per_node % count == 0:
            return count
    return max(1, min(hi, cores_per_node))


def core_groups(node_cpus: list[int], siblings: dict[int, tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Physical cores of one NUMA node as tuples of their logical CPUs (thread 0 first), in CPU order."""
    seen: set[int] = set()
    cores: list[tuple[int, ...]] = []
    for cpu in sorted(node_cpus):
        if cpu in seen:
            continue
        group = tuple(sorted(c for c in siblings.get(cpu, (cpu,)) if c in node_cpus)) or (cpu,)
        seen.update(group)
        cores.append(group)
    return cores


def plan_instances(
    nodes: dict[int, list[int]],
    siblings: dict[int, tuple[int, ...]],
    cores_per_instance: int,
    instances: int | None = None,
    use_smt: bool = False,
) -> list[Instance]:
    """Carve instances of `cores_per_instance` physical cores out of each NUMA node in turn.

    `instances=None` fills every node. Raises ValueError when the request cannot be honoured, naming the
    limit, because a silently smaller plan would make benchmark numbers lie.
    """
    if cores_per_instance < 1:
        raise ValueError("cores per instance must be at least 1")
    per_node = {node: core_groups(cpus, siblings) for node, cpus in sorted(nodes.items()) if cpus}
    if not per_node:
        raise ValueError("no NUMA node with CPUs on this host")
    largest = max(len(cores) for cores in per_node.values())
    if cores_per_instance > largest:
        raise ValueError(
            f"{cores_per_instance} cores per instance is more than a NUMA node has ({largest} physical cores); "
            f"use at most {largest}"
        )
    plan: list[Instance] = []
    for node, cores in per_node.items():
        for start in range(0, len(cores) - cores_per_instance + 1, cores_per_instance):
            chunk = cores[start : start + cores_per_instance]
            cpus = tuple(sorted(c for core in chunk for c in (core if use_smt else core[:1])))
            plan.append(Instance(index=len(plan), node=node, cpus=cpus, threads=cores_per_instance))
    if instances is not None:
        if instances > len(plan):
            raise ValueError(
                f"{instances} instances of {cores_per_instance} cores do not fit: this host holds {len(plan)}"
            )
        plan = plan[:instances]
    return plan
