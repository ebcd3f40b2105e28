"""STREAM-style memory bandwidth: copy, scale, add, triad, counted the STREAM way, against the DIMM limit.

The guide: populate every memory channel for full bandwidth. One worker process per physical core,
pinned to it, holds its slice of the three arrays (allocated after pinning, so first touch puts the
pages on the core's own NUMA node). Every kernel starts on all workers at once (a barrier) and its
time is from the first start to the last end, as STREAM's threads are timed together. Bytes are
counted as STREAM counts them (copy/scale 16 B per element, add/triad 24 B; write-allocate traffic is
not counted), and the best of the repeats is the rate, as STREAM reports it; the spread of the
repeats is kept for the regression test.

numpy has no fused triad, so a = b + s*c runs in cache-sized blocks through a small scratch array that
stays in L2: DRAM sees c and b read once and a written once, the traffic STREAM counts. Arrays are at
least 4x the last-level cache (STREAM's rule) unless the job sets `array_mib` (the light set does, to
fit a lab of hosts in one VM's memory; the samples then say `stream_rule_met: false`).

Runs on the whole node, then on each NUMA node alone (its own cores, local memory): a node whose
channels are not all populated shows up as the slow one. The limit is the controller's figure from
the DIMM facts (xeonfleet/bench/bandwidth.py) for the sockets this process really ran on."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import benchlib
import measures
from siblings import sibling  # benchlib has put the node wing on sys.path

topology = sibling("topology")

BENCHMARK_NAME = "mem-bandwidth"
REQUIRES = ("numpy",)
KERNELS = (("copy", 16), ("scale", 16), ("add", 24), ("triad", 24))  # STREAM's bytes per element
SCALAR = 3.0
BLOCK = 1 << 17  # 128 Ki doubles = 1 MiB scratch: fits every server L2
LLC_MULTIPLE = 4
SYS_CPU = Path("/sys/devices/system/cpu")


def _now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)  # one clock for every worker process


def _stream_worker(barrier, length: int, warmup: int, repeats: int) -> dict[str, list[tuple[float, float]]]:
    import numpy as np

    a, b, c = np.full(length, 1.0), np.full(length, 2.0), np.zeros(length)
    scratch = np.empty(min(BLOCK, length))

    def triad() -> None:
        for start in range(0, length, BLOCK):
            end = min(start + BLOCK, length)
            part = scratch[: end - start]
            np.multiply(c[start:end], SCALAR, out=part)
            np.add(b[start:end], part, out=a[start:end])

    kernels = {"copy": lambda: np.copyto(c, a), "scale": lambda: np.multiply(c, SCALAR, out=b),
               "add": lambda: np.add(a, b, out=c), "triad": triad}
    spans: dict[str, list[tuple[float, float]]] = {name: [] for name in kernels}
    for index in range(warmup + repeats):
        for name, kernel in kernels.items():
            barrier.wait()
            start = _now()
            kernel()
            if index >= warmup:
                spans[name].append((start, _now()))
    return spans


def llc_bytes(sys_cpu: Path = SYS_CPU, cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[int | None, str]:
    """Total last-level cache of the node: the distinct L3 caches in /sys, else cpuinfo's per-socket
    `cache size` x sockets; (None, why) when neither says."""
    caches = {}
    for level in sys_cpu.glob("cpu[0-9]*/cache/index[0-9]*/level"):
        if topology.read_text(level) == "3":
            shared = topology.read_text(level.with_name("shared_cpu_list"))
            size = topology.read_text(level.with_name("size")) or ""
            if shared and size.rstrip("K").isdigit():
                caches[shared] = int(size.rstrip("K")) * 1024
    if caches:
        return sum(caches.values()), f"/sys cache index level 3: {len(caches)} cache(s)"
    sizes, sockets = [], set()
    for line in (topology.read_text(cpuinfo) or "").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "cache size" and value.split()[0].isdigit():
            sizes.append(int(value.split()[0]) * 1024)
        elif key.strip() == "physical id":
            sockets.add(value.strip())
    if sizes:
        return max(sizes) * max(1, len(sockets)), f"/proc/cpuinfo cache size x {max(1, len(sockets))} socket(s)"
    return None, "no L3 size in /sys or /proc/cpuinfo"


def socket_of(cpu: int, sys_cpu: Path = SYS_CPU) -> str:
    return topology.read_text(sys_cpu / f"cpu{cpu}" / "topology" / "physical_package_id") or "0"


def Prepare(params: dict) -> dict:
    view = benchlib.node_view()
    whole = benchlib.plan_cpus("per-core", view.nodes, view.siblings, view.cpus, view.mems)
    per_node = {node: benchlib.plan_cpus("per-core", {node: cpus}, view.siblings, set(cpus))
                for node, cpus in view.usable.items()}
    llc, llc_source = llc_bytes()
    if params.get("array_mib") not in (None, "auto"):
        array_bytes = int(params["array_mib"]) * 1024 * 1024
    elif llc:
        array_bytes = LLC_MULTIPLE * llc
    else:
        raise benchlib.RunnerError(f"cannot size the arrays to {LLC_MULTIPLE}x the LLC ({llc_source}); "
                                   "set parameters.array_mib in the job")
    return {"whole": whole, "per_node": per_node, "array_bytes": array_bytes, "llc": llc, "llc_source": llc_source}


def _rates(spans_per_worker: list[dict], elements: int) -> dict[str, list[float]]:
    """GB/s per repeat of each kernel: all workers' bytes over first start -> last end."""
    rates = {}
    for name, per_element in KERNELS:
        repeats = len(spans_per_worker[0][name])
        rates[name] = []
        for index in range(repeats):
            begin = min(w[name][index][0] for w in spans_per_worker)
            end = max(w[name][index][1] for w in spans_per_worker)
            if end <= begin:
                raise benchlib.RunnerError(f"{name}: zero elapsed time; raise array_mib")
            rates[name].append(per_element * elements * len(spans_per_worker) / (end - begin) / 1e9)
    return rates


def _measure(plan: benchlib.CpuPlan, array_bytes: int, params: dict) -> tuple[dict[str, list[float]], int]:
    elements = max(BLOCK, array_bytes // 8 // len(plan.cpusets))
    args = (elements, int(params.get("warmup", 1)), int(params.get("repeats", 5)))
    spans = benchlib.run_instances(_stream_worker, args, plan.cpusets, [1] * len(plan.cpusets))
    return _rates(spans, elements), elements


def Run(params: dict, state: dict) -> list:
    whole, elements = _measure(state["whole"], state["array_bytes"], params)
    nodes = {}
    for node, plan in state["per_node"].items():
        nodes[node] = whole if len(state["per_node"]) == 1 else _measure(plan, state["array_bytes"], params)[0]
    return _ParseStreamResults(whole, nodes, elements, params, state)


def _ParseStreamResults(whole: dict[str, list[float]], nodes: dict[int, dict[str, list[float]]], elements: int,
                        params: dict, state: dict) -> list:
    """Best rate per kernel (STREAM's statistic), the triad against the DIMM limit, the weakest NUMA node."""
    plan = state["whole"]
    meta = {"array_mib_total": round(state["array_bytes"] / 2**20, 1), "elements_per_worker": elements,
            "workers": len(plan.cpusets), "llc_bytes": state["llc"], "llc_source": state["llc_source"],
            "stream_rule_met": bool(state["llc"]) and state["array_bytes"] >= LLC_MULTIPLE * state["llc"],
            "statistic": "best of repeats (STREAM)", "bytes_counted": "STREAM: copy/scale 16 B, add/triad 24 B",
            **plan.metadata}
    samples: list = [benchlib.Sample(f"{name}_gbps", max(whole[name]), "GB/s", {**meta, **measures.spread(whole[name])})
                     for name, _ in KERNELS]
    triad = max(whole["triad"])
    limit = params.get("memory_limit") or {}
    per_socket = limit.get("per_socket_gbps")
    sockets = sorted({socket_of(cpus[0]) for cpus in plan.cpusets})
    if per_socket and all(s in per_socket for s in sockets):
        used = sum(per_socket[s] for s in sockets)
        samples.append(benchlib.Sample("triad_pct_of_theoretical", 100.0 * triad / used, "%", {
            **meta, "theoretical_gbps": used, "sockets_used": sockets, "limit_formula": limit.get("formula"),
            "scope": "the sockets this process ran on (a lab host's claimed sockets are not all real)"}))
    else:
        samples.append(benchlib.Unavailable("triad_pct_of_theoretical", limit.get("formula") or (
            f"no DIMM limit for socket(s) {', '.join(sockets)} from the controller")))
    best = {node: max(rates["triad"]) for node, rates in nodes.items()}
    worst = min(best, key=best.get)
    samples.append(benchlib.Sample("triad_gbps_worst_numa_node", best[worst], "GB/s", {
        **meta, "node": worst, "per_node_triad_gbps": {str(n): round(v, 2) for n, v in best.items()},
        "per_node_cpusets": {str(n): p.metadata["cpusets"] for n, p in state["per_node"].items()}}))
    return samples


def Cleanup(state) -> None:
    """Nothing to remove: the arrays live in the worker processes."""


if __name__ == "__main__":
    sys.exit(benchlib.main(sys.modules[__name__]))
