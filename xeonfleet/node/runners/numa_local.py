"""The seed's claim: `numactl -N n -l` (run on node n, allocate on node n) beats unpinned by 5-10 %.

One instance per NUMA node runs a STREAM-triad (a = b + s*c, one numpy thread per physical core, each
on its own arrays), first pinned to its node, then unpinned with the same thread count. Pinning uses
the node's CPUs and the kernel's default first-touch policy, which after pinning allocates on the
local node: the same placement `numactl -N n -l` gives, without needing numactl on the node.
On a node with several NUMA nodes it also runs every (CPU node, memory node) pair, the memory bound
to the other node with set_mempolicy(MPOL_BIND) as `numactl -N i -m j` does, and reports each pair's
local/remote bandwidth ratio. On a lab host every "node" is the VM's single real node, so the gain
measures noise there and there is no remote pair (the ratio is unavailable, with that reason)."""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time

import benchlib
import measures

BENCHMARK_NAME = "numa-local"
REQUIRES = ("numpy",)
SYS_SET_MEMPOLICY = 238  # x86_64
MPOL_BIND = 2


def bind_memory(node: int) -> None:
    """Allocate this process's new pages on `node` only (numactl -m NODE), via the raw syscall so the
    node needs neither numactl nor libnuma."""
    mask = ctypes.c_ulong(1 << node)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(SYS_SET_MEMPOLICY, MPOL_BIND, ctypes.byref(mask), ctypes.sizeof(mask) * 8 + 1) != 0:
        raise benchlib.RunnerError(f"set_mempolicy(MPOL_BIND, node {node}) failed: {os.strerror(ctypes.get_errno())}")


def _triad_instance(barrier, mib: int, seconds: float, mem_node: int | None = None) -> dict:
    import numpy as np

    if mem_node is not None:
        bind_memory(mem_node)
    # One Python thread per core of this instance (elementwise numpy is single-threaded per call and
    # releases the GIL); run_instances put the instance's core count in OMP_NUM_THREADS.
    threads = int(os.environ["OMP_NUM_THREADS"])
    length = mib * 1024 * 1024 // 8
    moved = [0.0] * threads

    def worker(slot: int, arrays: list) -> None:
        a, b, c = arrays
        np.add(b, 2.0 * c, out=a)  # first touch after pinning puts the pages on the local node
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            np.multiply(c, 2.0, out=a)
            np.add(a, b, out=a)
            moved[slot] += 4.0 * a.nbytes  # read c, write a, read a+b, write a
        moved[slot] /= time.perf_counter() - start

    arrays = [[np.ones(length) for _ in range(3)] for _ in range(threads)]
    pool = [threading.Thread(target=worker, args=(slot, arrays[slot])) for slot in range(threads)]
    barrier.wait()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return {"bytes_per_s": sum(moved)}


def Prepare(params: dict) -> dict:
    view = benchlib.node_view()
    plan = benchlib.plan_cpus(params.get("pinning", "per-numa-node"), view.nodes, view.siblings, view.cpus, view.mems)
    return {"plan": plan, "nodes": list(view.usable)}


def Run(params: dict, state: dict) -> list:
    plan, node_ids = state["plan"], state["nodes"]
    mib, seconds = int(params["array_mib"]), float(params["seconds"])
    threads = [len(c) for c in plan.cpusets]
    pinned = benchlib.run_instances(_triad_instance, (mib, seconds), plan.cpusets, threads)
    unpinned = benchlib.run_instances(_triad_instance, (mib, seconds), [None] * len(threads), threads)
    pairs = {}
    if len(node_ids) > 1 and len(plan.cpusets) == len(node_ids):
        for cpus, cpu_node in zip(plan.cpusets, node_ids):
            for mem_node in node_ids:
                run = benchlib.run_instances(_triad_instance, (mib, seconds, mem_node), [cpus], [len(cpus)])
                pairs[(cpu_node, mem_node)] = run[0]["bytes_per_s"] / 1e9
    samples = _ParseTriadResults(pinned, unpinned, params, plan)
    return samples + [_pair_ratio(pairs, plan)]


def _pair_ratio(pairs: dict[tuple[int, int], float], plan: benchlib.CpuPlan):
    """Mean local/remote triad ratio over every (CPU node, other memory node) pair, each pair in metadata."""
    ratios = {f"cpu node {i} / memory node {j}": pairs[(i, i)] / pairs[(i, j)] for i, j in pairs if i != j}
    if not ratios:
        return benchlib.Unavailable("local_remote_ratio", (
            f"{plan.metadata['usable_numa_nodes']} usable NUMA node(s) (the node reports "
            f"{plan.metadata['reported_numa_nodes']}): no remote memory to compare with"))
    return benchlib.Sample("local_remote_ratio", sum(ratios.values()) / len(ratios), "x", {
        "per_pair_ratio": {k: round(v, 3) for k, v in ratios.items()},
        "per_pair_gbps": {f"{i}->{j}": round(v, 2) for (i, j), v in pairs.items()},
        "placement": "numactl -N i -m j equivalent (set_mempolicy MPOL_BIND)", **plan.metadata})


def _ParseTriadResults(pinned: list[dict], unpinned: list[dict], params: dict,
                       plan: benchlib.CpuPlan) -> list[benchlib.Sample]:
    """Bandwidth of both placements -> GB/s samples and the pinning gain."""
    rates = {}
    for name, runs in (("pinned", pinned), ("unpinned", unpinned)):
        if not runs or any(r["bytes_per_s"] <= 0 for r in runs):
            raise benchlib.RunnerError(f"triad {name}: no bandwidth measured in {runs!r}; raise `seconds`")
        rates[name] = sum(r["bytes_per_s"] for r in runs) / 1e9
    meta = {"array_mib": params["array_mib"], "seconds": params["seconds"], "placement": "numactl -N n -l equivalent",
            **plan.metadata}
    return [benchlib.Sample("bandwidth_pinned", rates["pinned"], "GB/s", meta),
            benchlib.Sample("bandwidth_unpinned", rates["unpinned"], "GB/s", meta),
            benchlib.Sample("numa_pinning_gain", measures.gain_pct(rates["pinned"], rates["unpinned"]), "%", meta)]


def Cleanup(plan) -> None:
    """Nothing to remove: arrays live in the instance processes."""


if __name__ == "__main__":
    sys.exit(benchlib.main(sys.modules[__name__]))
