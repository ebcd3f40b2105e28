"""KMeans with stock scikit-learn vs scikit-learn-intelex (the Intel Distribution for Python path).

Same data, same initial centres, fixed iteration count (tol=0), so both do identical work and the
speed-up is the library's alone; the inertia gap is reported so a 'faster but wrong' result shows."""

from __future__ import annotations

import statistics
import sys

import benchlib

BENCHMARK_NAME = "kmeans-sklearnex"
REQUIRES = ("numpy", "sklearn", "sklearnex")


def _kmeans_instance(barrier, samples: int, features: int, clusters: int, iterations: int,
                     warmup: int, repeats: int) -> dict:
    import numpy as np
    from sklearn.cluster import KMeans as StockKMeans
    from sklearnex.cluster import KMeans as IntelKMeans

    rng = np.random.default_rng(0)
    centres = rng.normal(scale=10.0, size=(clusters, features))
    data = (centres[rng.integers(0, clusters, samples)] + rng.normal(size=(samples, features))).astype(np.float64)
    init = data[:clusters].copy()
    barrier.wait()
    out = {}
    for name, cls in (("sklearn", StockKMeans), ("sklearnex", IntelKMeans)):
        models = []

        def fit(cls=cls, models=models):
            models.append(cls(n_clusters=clusters, init=init, n_init=1, max_iter=iterations, tol=0.0).fit(data))

        out[name] = {"times": benchlib.timed_repeats(fit, warmup, repeats), "inertia": float(models[-1].inertia_)}
    return out


def Prepare(params: dict) -> benchlib.CpuPlan:
    return benchlib.node_plan(params.get("pinning", "single"))


def Run(params: dict, plan: benchlib.CpuPlan) -> list[benchlib.Sample]:
    args = tuple(int(params[key]) for key in ("samples", "features", "clusters", "iterations", "warmup", "repeats"))
    results = benchlib.run_instances(_kmeans_instance, args, plan.cpusets, [len(c) for c in plan.cpusets])
    return _ParseKMeansResults(results[0], params, plan)


def _ParseKMeansResults(result: dict, params: dict, plan: benchlib.CpuPlan) -> list[benchlib.Sample]:
    """Fit times of both libraries -> seconds per fit and the speed-up."""
    meta = {key: params[key] for key in ("samples", "features", "clusters", "iterations", "warmup", "repeats")}
    meta.update(plan.metadata)
    seconds = {}
    for name in ("sklearn", "sklearnex"):
        if name not in result or not result[name]["times"]:
            raise benchlib.RunnerError(f"KMeans: no timings for {name} in {sorted(result)}")
        seconds[name] = statistics.median(result[name]["times"])
    stock, intel = result["sklearn"]["inertia"], result["sklearnex"]["inertia"]
    meta["inertia_rel_diff"] = abs(stock - intel) / stock if stock else 0.0
    return [
        benchlib.Sample("fit_seconds_sklearn", seconds["sklearn"], "s", meta),
        benchlib.Sample("fit_seconds_sklearnex", seconds["sklearnex"], "s", meta),
        benchlib.Sample("sklearnex_speedup", seconds["sklearn"] / seconds["sklearnex"], "x", meta),
    ]


def Cleanup(plan) -> None:
    """Nothing to remove: the data lives in the instance process."""


if __name__ == "__main__":
    sys.exit(benchlib.main(sys.modules[__name__]))
