"""The tuning guide's claims on the machine this runs on: the benchmark runners, run directly (no SSH),
with the limits xeonfleet derives from this machine's own facts.

    python perf/xeon_claims.py --python /opt/xf-bench-venv/bin/python [--light] [--jobs a,b]

The python must have numpy and torch (the CPU wheel). For each job it prints the samples that carry a
claim, each %-of-limit with the formula it was measured against, and the machine's load average
before and after (the build machines are shared: a busy neighbour lowers every figure). A limit the
facts cannot give (no SMBIOS in a VM: no DIMM limit) is printed as null with the reason.
Exit 1 with a one-line reason when a job does not finish `ok`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from xeonfleet.bench.bandwidth import memory_limit
from xeonfleet.bench.jobs import RUNNERS_DIR, load_jobs
from xeonfleet.bench.numbers import human
from xeonfleet.bench.peak import node_peaks
from xeonfleet.connect.gather import gather_sysroot

REPO = Path(__file__).resolve().parents[1]  # the runners import their siblings through xeonfleet.node

JOBS = ("gemm-fp32", "mem-bandwidth", "matmul-isa", "numa-local", "multi-instance")
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="python with numpy and torch")
    parser.add_argument("--light", action="store_true", help="the jobs' light sizes")
    parser.add_argument("--jobs", default=",".join(JOBS), help=f"comma-separated, default {','.join(JOBS)}")
    args = parser.parse_args()
    facts = gather_sysroot("/")
    cpu = facts["cpu"]
    limits = {"peaks": {p: peak.to_params() for p, peak in node_peaks(facts).items()},
              "memory_limit": memory_limit(facts).to_params()}
    print(f"machine: {cpu['model_name']} ({cpu['microarch']} from {cpu.get('microarch_source')}), "
          f"{cpu['physical_cores']} cores, base {cpu['base_ghz']} GHz from {cpu.get('base_ghz_source')}, "
          f"hypervisor {cpu.get('hypervisor')}; load before {os.getloadavg()[0]:.2f}")
    for precision, peak in limits["peaks"].items():
        print(f"  peak {precision}: {peak['formula']}")
    print(f"  memory limit: {limits['memory_limit']['formula']}")
    per_core = limits["peaks"]["fp32"]["per_core_gops"]
    if per_core:
        one = one_core_gemm(args.python, min(os.sched_getaffinity(0)))
        print(f"one-core SGEMM: {human(one['per_cpu_s'])} GFLOP per CPU-second = "
              f"{100 * one['per_cpu_s'] / per_core:.0f} % of one core's {human(per_core)} GFLOP/s peak; "
              f"{human(one['per_wall_s'])} per wall-second ({100 * one['per_wall_s'] / per_core:.0f} %)")
    failed = []
    for name in args.jobs.split(","):
        doc = run_job(args.python, name, args.light, limits)
        print(f"{name}: {doc['status']} {doc.get('reason') or doc.get('error') or ''}".rstrip())
        for sample in doc["samples"]:
            meta = {k: sample["metadata"][k] for k in SHOWN_METADATA if k in sample["metadata"]}
            print(f"  {sample['metric']}: {human(sample['value'])} {sample['unit']}  {json.dumps(meta)}")
        for metric, reason in (doc.get("unavailable") or {}).items():
            print(f"  {metric}: null ({reason})")
        if doc["status"] != "ok":
            failed.append(name)
    print(f"load after {os.getloadavg()[0]:.2f}")
    if failed:
        print(f"xeon_claims: {', '.join(failed)} did not finish ok (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
