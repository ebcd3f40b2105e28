"""The Intel tuning guide's claim: for small batches, several instances of a few cores beat one instance of all cores
(per-instance scaling flattens past 8-16 cores), while large batches scale within one instance.

The workload is a small-batch MLP forward pass in numpy (batch x width @ width x width, three layers),
timed for a fixed duration; the samples give inferences/s of one big instance, of N instances of C
cores (the same plan as `xeonfleet-run --instances N --cores-per-instance C`), and the gain. With
`sweep` (cores per instance to try, e.g. [1, 2, 4, 8, 16]) every size that fits runs as many instances
as the node holds, and `best_cores_per_instance` names the size with the highest total throughput:
the number to put in a serving profile for this node."""

from __future__ import annotations

import sys
import time

import benchlib
import measures

BENCHMARK_NAME = "multi-instance"
REQUIRES = ("numpy",)


def _mlp_instance(barrier, batch: int, width: int, seconds: float) -> dict:
    import numpy as np

    rng = np.random.default_rng(0)
    layers = [rng.standard_normal((width, width), dtype=np.float32) / width**0.5 for _ in range(3)]
    x = rng.standard_normal((batch, width), dtype=np.float32)

    def forward():
        h = x
        for w in layers:
            h = np.maximum(h @ w, 0.0)
        return h

    forward()
    barrier.wait()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        forward()
        done += batch
    return {"inferences": done, "seconds": time.perf_counter() - start}


def multi_pinning(pinning: dict, usable_cores: int) -> dict:
    """The job's {cores_per_instance, instances} for the multi-instance side, with cores halved when
    they would leave a single instance (a node smaller than the request, e.g. a lab host, still gets
    a comparison; the samples' cpusets show what ran)."""
    if not isinstance(pinning, dict) or "cores_per_instance" not in pinning:
        raise benchlib.RunnerError(f"multi-instance needs pinning {{cores_per_instance: C}}, got {pinning!r}")
    per = int(pinning["cores_per_instance"])
    if per >= usable_cores:
        per = max(1, usable_cores // 2)
    return {"cores_per_instance": per, "instances": pinning.get("instances")}


def Prepare(params: dict) -> dict:
    big = benchlib.node_plan("single")
    usable = big.metadata["usable_physical_cores"]
    sweep = {int(c): benchlib.node_plan({"cores_per_instance": int(c)})
             for c in params.get("sweep") or [] if int(c) <= usable}
    return {"big": big, "multi": benchlib.node_plan(multi_pinning(params.get("pinning"), usable)), "sweep": sweep}


def _throughput(plan: benchlib.CpuPlan, args: tuple) -> list[dict]:
    return benchlib.run_instances(_mlp_instance, args, plan.cpusets, [len(c) for c in plan.cpusets])


def Run(params: dict, state: dict) -> list:
    args = (int(params["batch"]), int(params["width"]), float(params["seconds"]))
    results = {name: _throughput(state[name], args) for name in ("big", "multi")}
    swept = {per: sum(r["inferences"] / r["seconds"] for r in _throughput(plan, args))
             for per, plan in state["sweep"].items()}
    return _ParseInstanceResults(results, params, state) + [_best_size(swept, state)]


def _best_size(swept: dict[int, float], state: dict):
    """The cores-per-instance with the highest total throughput, every size's figure in metadata."""
    if not swept:
        return benchlib.Unavailable("best_cores_per_instance", "no `sweep` sizes fit this node's usable cores")
    best = max(swept, key=swept.get)
    return benchlib.Sample("best_cores_per_instance", best, "cores", {
        "throughput_by_cores_per_instance": {str(c): round(v, 1) for c, v in sorted(swept.items())},
        "instances_by_cores_per_instance": {str(c): len(p.cpusets) for c, p in sorted(state["sweep"].items())},
        **state["big"].metadata})


def _ParseInstanceResults(results: dict[str, list[dict]], params: dict, state: dict) -> list[benchlib.Sample]:
    """Inference counts of both layouts -> throughputs and the multi-instance gain."""
    rates = {}
    for name, runs in results.items():
        if not runs or any(r["inferences"] <= 0 for r in runs):
            raise benchlib.RunnerError(f"{name} instance layout: no inferences completed; raise `seconds`")
        rates[name] = sum(r["inferences"] / r["seconds"] for r in runs)
    base = {key: params[key] for key in ("batch", "width", "seconds")}
    big_meta = {**base, **state["big"].metadata}
    multi_meta = {**base, **state["multi"].metadata}
    gain_meta = {**base, "big": state["big"].metadata["cpusets"], "multi": state["multi"].metadata["cpusets"]}
    return [benchlib.Sample("throughput_one_instance", rates["big"], "inferences/s", big_meta),
            benchlib.Sample("throughput_multi_instance", rates["multi"], "inferences/s", multi_meta),
            benchlib.Sample("multi_instance_gain", measures.gain_pct(rates["multi"], rates["big"]), "%", gain_meta)]


def Cleanup(state) -> None:
    """Nothing to remove: weights live in the instance processes."""


if __name__ == "__main__":
    sys.exit(benchlib.main(sys.modules[__name__]))
