"""FP32 GEMM with numpy (its BLAS: OpenBLAS, or oneMKL in Intel's numpy) as a share of the node's peak.

The controller passes the node's theoretical peaks from facts (xeonfleet/bench/peak.py); this script
measures GFLOP/s of C = A @ B on square N x N matrices and reports it against the FP32 peak and against
the peak of the cores it really used (they differ on a lab host, see benchlib). No peak in the facts
(an unknown clock or FMA count): the pct samples are listed as unavailable with the reason."""

from __future__ import annotations

import sys

import benchlib
import measures

BENCHMARK_NAME = "gemm-fp32"
REQUIRES = ("numpy",)


def _gemm_instance(barrier, n: int, dtype: str, warmup: int, repeats: int) -> list[float]:
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float64).astype(dtype)
    b = rng.random((n, n), dtype=np.float64).astype(dtype)
    barrier.wait()
    return benchlib.timed_repeats(lambda: a @ b, warmup, repeats)


def Prepare(params: dict) -> benchlib.CpuPlan:
    return benchlib.node_plan(params.get("pinning", "single"))


def Run(params: dict, plan: benchlib.CpuPlan) -> list[benchlib.Sample]:
    n = int(params.get("n", 2048))
    dtype = params.get("dtype", "float32")
    warmup, repeats = int(params.get("warmup", 1)), int(params.get("repeats", 5))
    threads = [len(cpus) for cpus in plan.cpusets]
    per_instance = benchlib.run_instances(_gemm_instance, (n, dtype, warmup, repeats), plan.cpusets, threads)
    return _ParseGemmResults(per_instance, n, params, plan)


def _ParseGemmResults(per_instance: list[list[float]], n: int, params: dict, plan: benchlib.CpuPlan) -> list[benchlib.Sample]:
    """Seconds per GEMM of every instance -> GFLOP/s and % of peak samples."""
    if not per_instance or any(not times or min(times) <= 0 for times in per_instance):
        raise benchlib.RunnerError(f"GEMM timings are empty or non-positive: {per_instance!r}")
    flop = 2.0 * n**3
    # Sustained rate over all repeats (not the best one): a node that is slow part of the time
    # (throttling, a noisy neighbour) must show it.
    gflops = sum(flop * len(times) / sum(times) / 1e9 for times in per_instance)
    per_repeat = [sum(flop / times[r] for times in per_instance) / 1e9 for r in range(min(map(len, per_instance)))]
    meta = {"n": n, "dtype": params.get("dtype", "float32"), "warmup": params.get("warmup", 1),
            "statistic": "mean rate over repeats", **plan.metadata, **measures.spread(per_repeat)}
    samples = [benchlib.Sample("gflops", gflops, "GFLOP/s", meta)]
    samples += measures.pct_of_peak_samples(gflops, params, "fp32", plan, meta)
    return samples


def Cleanup(plan) -> None:
    """Nothing on disk to remove: the matrices live in the instance processes."""


if __name__ == "__main__":
    sys.exit(benchlib.main(sys.modules[__name__]))
