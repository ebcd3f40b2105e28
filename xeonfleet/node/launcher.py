#!/usr/bin/env python3
"""xeonfleet-run: start N pinned copies of a workload, one per slice of physical cores (like ipexrun).

    xeonfleet-run --instances auto --cores-per-instance 16 --node-local -- python serve.py
    xeonfleet-run --mode throughput -- python bench.py     # one instance per NUMA node
    xeonfleet-run --mode latency --dry-run -- ./infer      # 4 cores per instance, plan only

Plans only over the CPUs this process may use (sched_getaffinity and the cgroup cpuset) and the memory
nodes it may allocate from (Mems_allowed), as topology.py reads them: a container or a lab host whose /sys
lists 160 CPUs while its cgroup allows 2 gets a plan for those 2, with a note saying so, and one error line
when nothing fits.
Prints the plan first (instance, NUMA node, CPU list, threads, numactl line), then runs every instance
under `numactl -C LIST -m NODE` (or `-l`), with OMP_NUM_THREADS = its physical cores and the Intel (KMP_*)
or GNU (OMP_PROC_BIND/OMP_PLACES) OpenMP pinning, optionally LD_PRELOADing jemalloc or tcmalloc. Waits
for all and exits with the worst exit code. Instances never span NUMA nodes or split a physical core.
`--cores-per-instance auto` takes $XEONFLEET_CORES_PER_INSTANCE (set by /etc/profile.d/xeonfleet-ai.sh
from the node's profile: 8-16 for online serving, 20+ for offline), else a whole NUMA node.
"""

from __future__ import annotations

import argparse
import glob
import os
import shlex
import subprocess
import sys

if __package__:  # on the controller: the package xeonfleet.node
    from xeonfleet.node.siblings import sibling
else:  # on a node: the flat upload directory (see siblings.py)
    from siblings import sibling

instances = sibling("instances")
topology = sibling("topology")

LATENCY_CORES = 4  # ipexrun's latency mode default: small instances, many of them
ALLOCATORS = {
    "jemalloc": ("libjemalloc.so*", "install libjemalloc2 (Debian) or jemalloc (RHEL)"),
    "tcmalloc": ("libtcmalloc.so*", "install libgoogle-perftools4 (Debian) or gperftools-libs (RHEL)"),
}
LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib")


class LaunchError(Exception):
    """A request the node cannot honour; one line naming the limit and the fix."""


def find_library(pattern: str) -> str | None:
    dirs = list(LIB_DIRS) + ([os.path.join(os.environ["CONDA_PREFIX"], "lib")] if os.environ.get("CONDA_PREFIX") else [])
    for directory in dirs:
        found = sorted(glob.glob(os.path.join(directory, pattern)))
        if found:
            return found[0]
    return None


def near_nic(nodes: dict[int, list[int]], root: str, nic: str) -> dict[int, list[int]]:
    """Only the NUMA node the NIC's PCIe device sits on: its packets' DMA and interrupts land there, so
    serving instances there read them from local memory."""
    text = topology.read_text(os.path.join(root, "sys/class/net", nic, "device/numa_node"))
    if text is None:
        raise LaunchError(f"no PCIe device behind {nic} (/sys/class/net/{nic}/device/numa_node): name a physical "
                          f"NIC (ls /sys/class/net) or drop --near-nic")
    node = int(text) if text.lstrip("-").isdigit() else -1
    if node < 0:
        raise LaunchError(f"{nic} reports no NUMA node (one-node machine or firmware without it): drop --near-nic")
    if not nodes.get(node):
        raise LaunchError(f"{nic} sits on NUMA node {node}, where this process may use no CPU; widen its "
                          f"affinity/cpuset or drop --near-nic")
    return {node: nodes[node]}


def physical_cores(cpus: list[int], siblings: dict[int, tuple[int, ...]]) -> int:
    return len({min(siblings.get(c, (c,))) for c in cpus})


def choose_plan(args: argparse.Namespace, nodes: dict[int, list[int]], siblings: dict[int, tuple[int, ...]]) -> list[instances.Instance]:
    per_node = max(physical_cores(cpus, siblings) for cpus in nodes.values() if cpus)
    if args.cores_per_instance != "auto":
        cores = int(args.cores_per_instance)
    elif args.mode == "latency":
        cores = min(LATENCY_CORES, per_node)
    elif args.mode == "throughput":
        cores = per_node
    else:
        cores = int(os.environ.get("XEONFLEET_CORES_PER_INSTANCE") or per_node)
    count = None if args.instances == "auto" else int(args.instances)
    if count is not None and count < 1:
        raise LaunchError("--instances must be at least 1 or auto")
    try:
        return instances.plan_instances(nodes, siblings, cores, count)
    except ValueError as exc:
        raise LaunchError(str(exc)) from None


def instance_env(instance: instances.Instance, omp: str, preload: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(instance.threads)
    env["XEONFLEET_INSTANCE"] = str(instance.index)
    if omp == "intel":
        # Pinning inside the numactl CPU set: one thread per core, threads kept warm 1 ms (guide).
        env.setdefault("KMP_AFFINITY", "granularity=fine,compact,1,0")
        env.setdefault("KMP_BLOCKTIME", "1")
    else:
        env["OMP_PROC_BIND"] = "close"
        env["OMP_PLACES"] = "cores"
        env.pop("KMP_AFFINITY", None)
    if preload:
        env["LD_PRELOAD"] = " ".join(p for p in (preload, env.get("LD_PRELOAD", "")) if p)
    return env


def numactl_argv(instance: instances.Instance, node_local: bool) -> list[str]:
    memory = ["-l"] if node_local else ["-m", str(instance.node)]
    return ["numactl", "-C", instance.cpulist, *memory]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="xeonfleet-run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", default="auto", help="N or auto (as many as fit)")
    parser.add_argument("--cores-per-instance", default="auto", help="physical cores per instance, or auto")
    parser.add_argument("--node-local", action="store_true", help="numactl -l instead of -m NODE")
    parser.add_argument("--near-nic", metavar="IFACE", help="only the NUMA node the NIC IFACE is attached to")
    parser.add_argument("--mode", choices=("throughput", "latency"), help="one instance per NUMA node / 4 cores each")
    parser.add_argument("--allocator", choices=("jemalloc", "tcmalloc", "default"), default="default")
    parser.add_argument("--omp", choices=("intel", "gnu"), default="intel")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and the commands, start nothing")
    parser.add_argument("--sysroot", default="/", help=argparse.SUPPRESS)  # plan for an offline tree (tests)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("no command given; put it after --, e.g. xeonfleet-run --instances 2 -- python app.py")
    for name in ("instances", "cores_per_instance"):
        value = getattr(args, name)
        if value != "auto" and not value.isdigit():
            parser.error(f"--{name.replace('_', '-')} must be a number or auto, got {value!r}")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        nodes, siblings = topology.read_topology(args.sysroot)
        nodes, note = topology.usable_topology(nodes, *topology.allowed_cpus_and_mems(args.sysroot))
        if note:
            print(f"xeonfleet-run: note: {note}", file=sys.stderr)
        if args.near_nic:
            nodes = near_nic(nodes, args.sysroot, args.near_nic)
        plan = choose_plan(args, nodes, siblings)
        preload = None
        if args.allocator != "default":
            pattern, fix = ALLOCATORS[args.allocator]
            preload = find_library(pattern)
            if preload is None:
                raise LaunchError(f"{args.allocator} not found in {', '.join(LIB_DIRS)}; {fix} or use --allocator default")
    except (LaunchError, topology.TopologyError) as exc:
        print(f"xeonfleet-run: {exc}", file=sys.stderr)
        return 2
    lines = [(inst, numactl_argv(inst, args.node_local) + args.command) for inst in plan]
    print(f"xeonfleet-run: {len(plan)} instance(s), OpenMP {args.omp}, allocator {args.allocator}")
    print("instance  node  threads  cpus  command")
    for inst, argv_ in lines:
        print(f"{inst.index:>8}  {inst.node:>4}  {inst.threads:>7}  {inst.cpulist}  {shlex.join(argv_)}")
    sys.stdout.flush()
    if args.dry_run:
        return 0
    try:
        procs = [subprocess.Popen(argv_, env=instance_env(inst, args.omp, preload)) for inst, argv_ in lines]
    except FileNotFoundError as exc:
        print(f"xeonfleet-run: {exc.filename} not found; install numactl (the tune deploy does)", file=sys.stderr)
        return 127
    codes = [proc.wait() for proc in procs]
    worst = max((128 - c if c < 0 else c for c in codes), default=0)
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
