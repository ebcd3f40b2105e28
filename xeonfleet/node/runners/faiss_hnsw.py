"""faiss HNSW search, FP32 vectors vs SQ8 (8-bit scalar-quantised, the INT8 path), one process per
physical core as the seed's vector-search recipe runs it.

Vectors are generated (seeded), so nothing is downloaded; ground truth comes from an exact flat
index. Reports QPS summed over the instances, recall@k of each index, and the SQ8/FP32 QPS ratio."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import benchlib

BENCHMARK_NAME = "faiss-hnsw"
REQUIRES = ("numpy", "faiss")
INDEXES = ("fp32", "sq8")


def generated_vectors(params: dict):
    """(database, queries): seeded uniform float32 vectors of the job's sizes; perf/claim_baselines.py's exact
    flat search runs on these same vectors."""
    import numpy as np

    d, nb, nq = (int(params[key]) for key in ("dim", "database", "queries"))
    rng = np.random.default_rng(int(params.get("seed", 0)))
    return rng.random((nb, d), dtype=np.float32), rng.random((nq, d), dtype=np.float32)


def _build(params: dict, workdir: Path) -> dict[str, float]:
    """Write data, both indexes and their recall@k to workdir; return the recalls."""
    import faiss
    import numpy as np

    d, k = int(params["dim"]), int(params["k"])
    base, queries = generated_vectors(params)
    np.save(workdir / "queries.npy", queries)
    exact = faiss.IndexFlatL2(d)
    exact.add(base)
    _, truth = exact.search(queries, k)
    recalls = {}
    for name in INDEXES:
        if name == "fp32":
            index = faiss.IndexHNSWFlat(d, int(params["m"]))
        else:
            index = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, int(params["m"]))
            index.train(base)
        index.hnsw.efConstruction = int(params["ef_construction"])
        index.add(base)
        index.hnsw.efSearch = int(params["ef_search"])
        _, found = index.search(queries, k)
        recalls[name] = _recall_at_k(found, truth, k)
        faiss.write_index(index, str(workdir / f"{name}.index"))
    return recalls


def _recall_at_k(found, truth, k: int) -> float:
    """Share of the true k nearest neighbours that the index returned among its k."""
    hits = sum(len(set(f[:k]) & set(t[:k])) for f, t in zip(found.tolist(), truth.tolist()))
    return hits / float(len(truth) * k)


def _search_instance(barrier, workdir: str, name: str, k: int, ef_search: int, seconds: float) -> dict:
    import faiss
    import numpy as np

    faiss.omp_set_num_threads(1)  # one process per core: each searches single-threaded
    index = faiss.read_index(f"{workdir}/{name}.index")
    index.hnsw.efSearch = ef_search
    queries = np.load(f"{workdir}/queries.npy")
    index.search(queries[:10], k)  # warm-up: page the index in
    barrier.wait()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        index.search(queries, k)
        done += len(queries)
    return {"queries": done, "seconds": time.perf_counter() - start}


def Prepare(params: dict) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="xeonfleet-faiss-"))
    state = {"workdir": workdir, "plan": benchlib.node_plan(params.get("pinning", "per-core"))}
    state["recalls"] = _build(params, workdir)
    return state


def Run(params: dict, state: dict) -> list[benchlib.Sample]:
    plan = state["plan"]
    threads = [1] * len(plan.cpusets)
    qps = {}
    for name in INDEXES:
        args = (str(state["workdir"]), name, int(params["k"]), int(params["ef_search"]), float(params["seconds"]))
        qps[name] = benchlib.run_instances(_search_instance, args, plan.cpusets, threads)
    return _ParseSearchResults(qps, state["recalls"], params, plan)


def _ParseSearchResults(per_index: dict[str, list[dict]], recalls: dict[str, float], params: dict,
                        plan: benchlib.CpuPlan) -> list[benchlib.Sample]:
    """Per-instance query counts and times -> QPS, recall and ratio samples."""
    meta = {key: params[key] for key in ("dim", "database", "queries", "k", "m", "ef_construction",
                                         "ef_search", "seconds")}
    meta.update(plan.metadata)
    samples = []
    qps = {}
    for name in INDEXES:
        runs = per_index.get(name) or []
        if not runs or any(r["seconds"] <= 0 or r["queries"] <= 0 for r in runs):
            raise benchlib.RunnerError(f"faiss {name}: no completed searches in {runs!r}; raise `seconds`")
        qps[name] = sum(r["queries"] / r["seconds"] for r in runs)
        samples.append(benchlib.Sample(f"qps_{name}", qps[name], "queries/s", {**meta, "index": name}))
        samples.append(benchlib.Sample(f"recall_at_{params['k']}_{name}", recalls[name], "ratio", {**meta, "index": name}))
    samples.append(benchlib.Sample("sq8_fp32_qps_ratio", qps["sq8"] / qps["fp32"], "x", meta))
    return samples


def Cleanup(state: dict | None) -> None:
    if state:
        shutil.rmtree(state["workdir"], ignore_errors=True)


if __name__ == "__main__":
    sys.exit(benchlib.main(sys.modules[__name__]))
