"""The seed's claim: `numactl -N n -l` (run on node n, allocate on node n) beats unpinned by 5-10 %.

One instance per NUMA node runs a STREAM-triad (a = b + s*c, one numpy thread per physical core, each
on its own arrays), first pinned to its node, then unpinned with the same thread count. Pinning uses
the node's CPUs and the kernel's default first-touch policy, which after pinning allocates on the
local node: the same placement `numactl -N n -l` gives, without needing numactl on the node.
On a lab host every "node" is the VM's single real node, so the gain measures noise there."""

from __future__ import annotations

import os
import sys
import threading
import time

import benchlib

BENCHMARK_NAME = "numa_local"
REQUIRES = ("numpy",)


def _triad_instance(barrier, mib: int, seconds: float) -> dict:
    import numpy as np

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


def Prepare(params: dict) -> benchlib.CpuPlan:
    return benchlib.node_plan(params.get("pinning", "per-numa-node"))


def Run(params: dict, plan: benchlib.CpuPlan) -> list[benchlib.Sample]:
    mib, seconds = int(params["array_mib"]), float(params["seconds"])
    threads = [len(c) for c in plan.cpusets]
    pinned = benchlib.run_instances(_triad_instance, (mib, seconds), plan.cpusets, threads)
    unpinned = benchlib.run_instances(_triad_instance, (mib, seconds), [None] * len(threads), threads)
    return _ParseTriadResults(pinned, unpinned, params, plan)


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
            benchlib.Sample("numa_pinning_gain", benchlib.gain_pct(rates["pinned"], rates["unpinned"]), "%", meta)]


def Cleanup(plan) -> None:
    """Nothing to remove: arrays live in the instance processes."""


if __name__ == "__main__":
    sys.exit(benchlib.main(sys.modules[__name__]))
