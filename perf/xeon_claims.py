"""The tuning guide's claims on the machine this runs on: the benchmark runners, run directly (no SSH),
with the limits xeonfleet derives from this machine's own facts, each beside its simplest strong baseline.

    python perf/xeon_claims.py --python /opt/xf-bench-venv/bin/python [--light] [--jobs a,b]

The python must have numpy, torch (the CPU wheel) and faiss-cpu. For each job it prints the samples that
carry a claim, each %-of-limit with the formula it was measured against, then the job against the plain
way a user would time the same work in the same env, right after it (perf/claim_baselines.py): matmul-isa
per precision against torch.matmul, gemm-fp32 against np.dot at the same size and threads, mem-bandwidth's
triad against a plain numpy `a = b + s*c` on arrays of the same size, faiss-hnsw against an exact
IndexFlatL2 search of the same vectors. Each ratio is job / baseline, with the 10 % target: within, below
(the job under-measures), or faster by design (and why). The load average is printed before and after
(the build machines are shared: a busy neighbour lowers every figure). A limit the facts cannot give (no
SMBIOS in a VM: no DIMM limit) is printed as null with the reason.
Exit 1 with a one-line reason when a job does not finish `ok` or a ratio is below the target.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from xeonfleet.bench.bandwidth import memory_limit
from xeonfleet.bench.jobs import RUNNERS_DIR, load_jobs
from xeonfleet.bench.numbers import human
from xeonfleet.bench.peak import node_peaks
from xeonfleet.connect.gather import gather_sysroot

REPO = Path(__file__).resolve().parents[1]  # the runners import their siblings through xeonfleet.node

JOBS = ("gemm-fp32", "mem-bandwidth", "matmul-isa", "numa-local", "multi-instance", "faiss-hnsw")
BASELINES = Path(__file__).resolve().with_name("claim_baselines.py")
TARGET = 0.10  # a job within 10 % of its baseline measures what the stack reaches
SHOWN_METADATA = ("dispatched_isa", "peak_formula", "limit_formula", "spread_pct", "stream_rule_met",
                  "throughput_by_cores_per_instance", "per_pair_ratio", "source", "cpusets")


# One SGEMM thread on one core, timed by wall clock and by the CPU time it got: on a shared VM the
# second says what the core does while it runs (the kernel's efficiency), the first what a neighbour left.
ONE_CORE_GEMM = """
import json, time, numpy as np
n = 4096
a, b = (np.random.default_rng(0).random((n, n), dtype=np.float32) for _ in range(2))
a @ b
cpu, wall = time.process_time(), time.perf_counter()
for _ in range(3):
    a @ b
print(json.dumps({"per_cpu_s": 3 * 2 * n**3 / (time.process_time() - cpu) / 1e9,
                  "per_wall_s": 3 * 2 * n**3 / (time.perf_counter() - wall) / 1e9}))
"""


def one_core_gemm(python: str, cpu: int) -> dict[str, float]:
    """GFLOP/s of one SGEMM thread pinned to `cpu`, per CPU-second and per wall-second."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run(["taskset", "-c", str(cpu), python, "-c", ONE_CORE_GEMM], env=env, check=True,
                          capture_output=True, text=True, timeout=600)
    return json.loads(done.stdout)


def run_job(python: str, name: str, light: bool, limits: dict) -> dict:
    """One runner as deploys/benchmark.py runs it, minus SSH: its result document."""
    job = load_jobs()[name]
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / f"{name}.json"
        params = {**job.params(light), **limits}
        subprocess.run([python, job.runner, "--params", json.dumps(params), "--out", str(out)], cwd=RUNNERS_DIR,
                       env={**os.environ, "PYTHONPATH": str(REPO)}, check=True, timeout=job.timeout_s)
        return json.loads(out.read_text())


@dataclass(frozen=True)
class Comparison:
    """One job figure beside its baseline's (None: null, `note` says why), and why the job is by design
    faster when it is (`design`; None: it must come within the target)."""

    label: str
    job: float | None
    baseline: float | None
    unit: str
    note: str
    design: str | None = None
    same_work: bool = True  # False: the baseline does other work (exact vs approximate search); no target

    @property
    def ratio(self) -> float | None:
        return self.job / self.baseline if self.job and self.baseline else None

    @property
    def below(self) -> bool:
        return self.same_work and self.ratio is not None and self.ratio < 1 - TARGET

    def line(self) -> str:
        shown = ["null" if value is None else human(value) for value in (self.job, self.baseline)]
        figures = f"job {shown[0]} vs baseline {shown[1]} {self.unit} ({self.note})"
        if self.ratio is None:
            return f"{self.label}: {figures}: no ratio"
        if not self.same_work:
            verdict = f"different by design: {self.design}" + (
                "; slower than the exact search at this size" if self.ratio < 1 else "")
        elif self.below:
            verdict = f"BELOW the {TARGET:.0%} target: the job under-measures by {1 - self.ratio:.0%}"
        elif self.ratio <= 1 + TARGET:
            verdict = f"within {TARGET:.0%}"
        else:
            verdict = f"faster by design: {self.design}" if self.design else f"faster by {self.ratio - 1:.0%}"
        return f"{self.label}: {figures}: ratio {self.ratio:.2f}, {verdict}"


def run_baseline(python: str, kind: str, params: dict, threads: int | None = None) -> dict:
    """One baseline of perf/claim_baselines.py in the bench env; `threads` sets the BLAS/OpenMP thread count."""
    env = dict(os.environ)
    if threads:
        env.update({var: str(threads) for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    done = subprocess.run([python, str(BASELINES), kind, json.dumps(params)], env=env, check=True,
                          capture_output=True, text=True, timeout=1800)
    return json.loads(done.stdout)


def matmul_vs_torch(python: str, doc: dict, by: dict) -> list[Comparison]:
    """Each precision's headline (the better path) against a plain torch.matmul at the same n."""
    params = doc["params"]
    measured = [p for p in params["precisions"] if f"rate_{p}" in by]
    # The baseline runs the gemm path's op; where the job found it too slow to time, so is the baseline.
    timed = [p for p in measured if f"rate_{p}_gemm" in by]
    base = run_baseline(python, "torch-matmul", {**params, "precisions": timed})
    out = []
    for precision in measured:
        sample, plain = by[f"rate_{precision}"], base.get(precision, {})
        meta = sample["metadata"]
        note = (f"best path {meta['best_path']}: {meta['op']}, {meta['library'] or 'torch'} {meta['kernel']}, "
                f"{meta['threads']} threads pinned; baseline "
                + (f"{plain['op']}, {base['threads']} threads unpinned" if plain else
                   f"null: the job's {doc['unavailable'].get(f'rate_{precision}_gemm')}"))
        design = (f"the prepacked oneDNN layer beats a plain {plain['op']} here"
                  if plain and meta["best_path"] == "layer" else None)
        out.append(Comparison(f"matmul-isa {precision}", sample["value"], plain.get("best"), sample["unit"], note,
                              design))
    return out


def gemm_vs_numpy(python: str, doc: dict, by: dict) -> list[Comparison]:
    """gemm-fp32 (numpy a @ b, sustained mean rate) against np.dot at the same n, dtype and threads."""
    meta = by["gflops"]["metadata"]
    threads = meta["cpus_per_instance"]
    base = run_baseline(python, "numpy-dot", {**doc["params"], "warmup": meta["warmup"]}, threads)
    return [Comparison("gemm-fp32", by["gflops"]["value"], base["mean"], "GFLOP/s",
                       f"mean rate over repeats on both, n {meta['n']}, {threads} threads; {base['op']} best "
                       f"{human(base['best'])}")]


def triad_vs_numpy(python: str, doc: dict, by: dict) -> list[Comparison]:
    """mem-bandwidth's triad (best of repeats) against a plain numpy triad over arrays of the same size."""
    meta = by["triad_gbps"]["metadata"]
    elements = meta["elements_per_worker"] * meta["workers"]
    base = run_baseline(python, "numpy-triad", {"elements": elements, "repeats": doc["params"].get("repeats", 5)})
    design = (f"{meta['workers']} pinned workers, one per physical core, each on its share of the arrays, the "
              "triad in L2-sized blocks through one scratch array: the plain expression allocates two temporaries "
              "(traffic and page faults STREAM does not count) on one core")
    return [Comparison("mem-bandwidth triad", by["triad_gbps"]["value"], base["best"], "GB/s",
                       f"best of repeats, {elements:,} float64 per array, 24 B per element", design)]


def hnsw_vs_flat(python: str, doc: dict, by: dict) -> list[Comparison]:
    """faiss-hnsw's QPS (FP32 and SQ8 graphs) against an exact IndexFlatL2 search of the same vectors."""
    params = doc["params"]
    base = run_baseline(python, "faiss-flat", params)
    k = params["k"]
    out = []
    for index in ("fp32", "sq8"):
        recall = by[f"recall_at_{k}_{index}"]["value"]
        design = (f"HNSW is approximate: a query visits about ef_search {params['ef_search']} x M {params['m']} "
                  f"graph nodes, not all {params['database']:,} vectors (recall@{k} {recall:.3f} against the exact "
                  "search), one single-threaded search process per core")
        out.append(Comparison(f"faiss-hnsw {index}", by[f"qps_{index}"]["value"], base["qps"], "queries/s",
                              f"{params['database']:,} x {params['dim']}-d, {params['queries']:,} queries, "
                              f"flat on {base['threads']} faiss threads", design, same_work=False))
    return out


CHECKS = {"matmul-isa": matmul_vs_torch, "gemm-fp32": gemm_vs_numpy, "mem-bandwidth": triad_vs_numpy,
          "faiss-hnsw": hnsw_vs_flat}


def load_average() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def best_of(rounds: list[list[Comparison]]) -> list[Comparison]:
    """Each comparison of the round where the job did best (its note: the path that won then), with the best
    baseline figure over the rounds (the comparisons of every round come in the same order)."""
    def best(values: list[float | None]) -> float | None:
        return max((v for v in values if v is not None), default=None)

    return [replace(max(same, key=lambda c: c.job or 0.0), baseline=best([c.baseline for c in same]))
            for same in zip(*rounds)]


def _print_job(name: str, doc: dict) -> None:
    """A job's status, its samples with the metadata that carries the claim, its nulls with their reasons."""
    print(f"{name}: {doc['status']} {doc.get('reason') or doc.get('error') or ''}".rstrip())
    for sample in doc["samples"]:
        meta = {k: sample["metadata"][k] for k in SHOWN_METADATA if k in sample["metadata"]}
        print(f"  {sample['metric']}: {human(sample['value'])} {sample['unit']}  {json.dumps(meta)}")
    for metric, reason in (doc.get("unavailable") or {}).items():
        print(f"  {metric}: null ({reason})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="python with numpy, torch and faiss-cpu")
    parser.add_argument("--light", action="store_true", help="the jobs' light sizes")
    parser.add_argument("--jobs", default=",".join(JOBS), help=f"comma-separated, default {','.join(JOBS)}")
    parser.add_argument("--rounds", type=int, default=1, help="job then baseline, this many times; the ratio "
                        "is of the best of each (a shared machine's neighbours come and go between the two)")
    args = parser.parse_args()
    facts = gather_sysroot("/")
    cpu = facts["cpu"]
    limits = {"peaks": {p: peak.to_params() for p, peak in node_peaks(facts).items()},
              "memory_limit": memory_limit(facts).to_params()}
    print(f"machine: {cpu['model_name']} ({cpu['microarch']} from {cpu.get('microarch_source')}), "
          f"{cpu['physical_cores']} cores, base {cpu['base_ghz']} GHz from {cpu.get('base_ghz_source')}, "
          f"hypervisor {cpu.get('hypervisor')}; load average before {load_average()}")
    for precision, peak in limits["peaks"].items():
        print(f"  peak {precision}: {peak['formula']}")
    print(f"  memory limit: {limits['memory_limit']['formula']}")
    per_core = limits["peaks"]["fp32"]["per_core_gops"]
    if per_core:
        one = one_core_gemm(args.python, min(os.sched_getaffinity(0)))
        print(f"one-core SGEMM: {human(one['per_cpu_s'])} GFLOP per CPU-second = "
              f"{100 * one['per_cpu_s'] / per_core:.0f} % of one core's {human(per_core)} GFLOP/s peak; "
              f"{human(one['per_wall_s'])} per wall-second ({100 * one['per_wall_s'] / per_core:.0f} %)")
    failed, below = [], []
    for name in args.jobs.split(","):
        rounds = []
        for _ in range(args.rounds if name in CHECKS else 1):
            doc = run_job(args.python, name, args.light, limits)
            _print_job(name, doc)
            if doc["status"] != "ok":
                failed.append(name)
                break
            if name in CHECKS:
                print(f"  against the baseline (load average {load_average()}):")
                rounds.append(CHECKS[name](args.python, doc, {s["metric"]: s for s in doc["samples"]}))
                print("".join(f"    {comparison.line()}\n" for comparison in rounds[-1]), end="")
        final = best_of(rounds)
        if len(rounds) > 1:
            print(f"  best of {len(rounds)} rounds, job and baseline each (the note of the job's best round):")
            print("".join(f"    {comparison.line()}\n" for comparison in final), end="")
        below += [comparison.label for comparison in final if comparison.below]
    print(f"load average after {load_average()}")
    if failed or below:
        print(f"xeon_claims: did not finish ok: {', '.join(failed) or 'none'}; below the {TARGET:.0%} target: "
              f"{', '.join(below) or 'none'} (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
