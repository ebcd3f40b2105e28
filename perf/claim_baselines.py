"""The simplest strong baseline of each claim job, as a user would time it: no pinning, no harness, one process.

Run by the bench env's python (numpy, torch, faiss) for perf/xeon_claims.py, which compares each job with its
baseline at the same sizes and threads, in the same env and the same run:

    python perf/claim_baselines.py torch-matmul '{"n": 4096, "precisions": ["fp32"], "warmup": 2, "repeats": 5}'

prints one JSON object. Standard library at import time; each baseline imports its stack.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

RUNNERS = Path(__file__).resolve().parents[1] / "xeonfleet" / "node" / "runners"
sys.path.insert(0, str(RUNNERS))

from benchlib import timed_repeats  # noqa: E402  (the jobs' own timing loop: baselines time alike)
TRIAD_SCALAR = 3.0
STREAM_TRIAD_BYTES = 24  # per element, as STREAM counts a triad (and as mem-bandwidth does)


def _rates(work: float, times: list[float]) -> dict[str, float]:
    """The best repeat's rate and the mean rate over the repeats, in G-units/s of `work` per call."""
    return {"best": work / min(times) / 1e9, "mean": work * len(times) / sum(times) / 1e9}


def torch_matmul(params: dict) -> dict:
    """torch.matmul on two N x N tensors per precision (INT8: torch._int_mm, torch's plain INT8 GEMM, since
    torch.matmul has no INT8 kernel on CPU), torch's own thread count."""
    import torch

    n = int(params["n"])
    out: dict[str, Any] = {"threads": torch.get_num_threads(), "torch": torch.__version__}
    with torch.no_grad():
        for precision in params["precisions"]:
            if precision == "int8":
                a, b = (torch.randint(-128, 128, (n, n), dtype=torch.int8) for _ in range(2))
                op, call = "torch._int_mm", lambda a=a, b=b: torch._int_mm(a, b)
            else:
                dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
                a, b = (torch.randn(n, n, dtype=dtype) for _ in range(2))
                op, call = "torch.matmul", lambda a=a, b=b: torch.matmul(a, b)
            out[precision] = {"op": op, **_rates(2.0 * n**3, timed_repeats(call, int(params["warmup"]),
                                                                     int(params["repeats"])))}
    return out


def numpy_dot(params: dict) -> dict:
    """np.dot of two N x N arrays of the dtype; the threads are the caller's (OMP/OPENBLAS/MKL_NUM_THREADS)."""
    import numpy as np

    n = int(params["n"])
    a, b = (np.random.default_rng(seed).random((n, n)).astype(params["dtype"]) for seed in (0, 1))
    return {"op": "np.dot", **_rates(2.0 * n**3, timed_repeats(lambda: np.dot(a, b), int(params["warmup"]),
                                                         int(params["repeats"])))}


def numpy_triad(params: dict) -> dict:
    """A plain `a = b + s*c` over arrays of `elements` float64 each, one process; GB/s counted as STREAM counts
    a triad (24 B per element: the temporaries numpy allocates are traffic it does not count)."""
    import numpy as np

    elements = int(params["elements"])
    b, c = np.full(elements, 2.0), np.zeros(elements)

    def triad() -> None:
        a = b + TRIAD_SCALAR * c  # noqa: F841  (the plain expression is the baseline)

    return {"op": "a = b + s*c", **_rates(STREAM_TRIAD_BYTES * elements, timed_repeats(triad, 1, int(params["repeats"])))}


def faiss_flat(params: dict) -> dict:
    """Exact search (IndexFlatL2) of the faiss-hnsw job's queries over its database (the same generated
    vectors), all queries per call, faiss's own threads, for the job's `seconds`: queries per second."""
    import faiss

    import faiss_hnsw  # the job's vector generator: the same data, not a copy of it

    base, queries = faiss_hnsw.generated_vectors(params)
    index = faiss.IndexFlatL2(base.shape[1])
    index.add(base)
    k = int(params["k"])
    index.search(queries[:10], k)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < float(params["seconds"]):
        index.search(queries, k)
        done += len(queries)
    return {"op": "IndexFlatL2.search", "qps": done / (time.perf_counter() - start),
            "threads": faiss.omp_get_max_threads()}


BASELINES = {"torch-matmul": torch_matmul, "numpy-dot": numpy_dot, "numpy-triad": numpy_triad,
             "faiss-flat": faiss_flat}

if __name__ == "__main__":
    print(json.dumps(BASELINES[sys.argv[1]](json.loads(sys.argv[2]))))
