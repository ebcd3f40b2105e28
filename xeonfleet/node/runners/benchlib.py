"""Node-side harness shared by every runner script (PerfKitBenchmarker style, standard library only).

A runner module defines BENCHMARK_NAME, REQUIRES (importable module names), Prepare(params) -> state,
Run(params, state) -> [Sample], Cleanup(state), and ends with `benchlib.main(sys.modules[__name__])`.
The harness owns what every job needs the same way: argument parsing, the skip when a stack is missing,
the CPU plan (pinning), process fan-out, and writing ONE result JSON even when the job fails, so the
controller always gets a file that says ok / skipped / failed and why.

Pinning is planned from the node's topology (/sys) and then restricted to the CPUs and memory nodes this
process may really use (its affinity, its cgroup's cpuset, Mems_allowed), read by topology.py exactly as
the `xeonfleet-run` launcher reads them. On real hardware they agree; in a container, or on a lab host
whose topology is a generated Xeon while processes run on the VM's few real cores, the plan shrinks to
what is usable and the samples say so (`cpus_clamped: true`).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
# A node holds every file of the wing in this one directory (xeonfleet/bench/remote.py uploads them); in the
# repo (tests, local runs) the runners sit one level below the rest of the wing, in xeonfleet/node/runners.
sys.path[:0] = [str(HERE)] if (HERE / "siblings.py").exists() else [str(HERE), str(HERE.parent)]
import counters  # noqa: E402  (next to this file, on the node and in the repo)
from siblings import sibling  # noqa: E402  (benchlib is always imported flat, by a runner script or a test)

instances = sibling("instances")
topology = sibling("topology")

RESULT_VERSION = 1
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class RunnerError(Exception):
    """The workload produced something unusable or was given bad parameters; one line, names the fix."""


class SkipBenchmark(Exception):
    """The job cannot run on this node (stack missing, ISA lacking): reported as skipped, not failed."""


@dataclass
class Sample:
    """One measured value; metadata holds every input that affects it."""

    metric: str
    value: float
    unit: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        if not isinstance(self.value, (int, float)) or self.value != self.value:
            raise RunnerError(f"metric {self.metric}: value {self.value!r} is not a number")
        return {"metric": self.metric, "value": float(self.value), "unit": self.unit, "metadata": self.metadata}


@dataclass
class Unavailable:
    """A metric this node cannot give (no peak, no DIMM facts, no counters): null with the reason,
    stored beside the samples so a report says why instead of showing a hole."""

    metric: str
    reason: str


# ---- topology and pinning -------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeView:
    """The node's topology as sysfs reports it and what this process may use of it (None: no limit known)."""

    nodes: dict[int, list[int]]
    siblings: dict[int, tuple[int, ...]]
    cpus: set[int] | None
    mems: set[int] | None

    @property
    def usable(self) -> dict[int, list[int]]:
        """The NUMA nodes and CPUs this process may run on and allocate from (TopologyError if none)."""
        return topology.usable_topology(self.nodes, self.cpus, self.mems)[0]


def node_view(root: str = "/") -> NodeView:
    """This node's topology and limits, read under `root` (`/`, or a sysroot in tests)."""
    nodes, siblings = topology.read_topology(root)
    return NodeView(nodes, siblings, *topology.allowed_cpus_and_mems(root))


@dataclass(frozen=True)
class CpuPlan:
    """The instances a job runs as, plus the metadata that explains how they were chosen."""

    cpusets: list[tuple[int, ...]]
    metadata: dict[str, Any]


def plan_cpus(
    pinning: Any,
    nodes: dict[int, list[int]],
    siblings: dict[int, tuple[int, ...]],
    allowed: set[int] | None,
    mems: set[int] | None = None,
) -> CpuPlan:
    """Turn a job's pinning (single | per-numa-node | per-core | {instances, cores_per_instance}) into
    CPU sets, using only CPUs in `allowed` on NUMA nodes in `mems` (None: no limit). A request larger than
    what is usable shrinks to fit and says so in the metadata instead of failing: on a lab host the
    topology is bigger than the machine."""
    reported_cores = len(instances.core_groups([c for cpus in nodes.values() for c in cpus], siblings))
    unodes, _ = topology.usable_topology(nodes, allowed, mems)
    node_cores = {node: len(instances.core_groups(cpus, siblings)) for node, cpus in unodes.items()}
    usable_cores = sum(node_cores.values())
    largest = max(node_cores.values())
    if pinning == "single":
        plan = [tuple(cpu for node in unodes for cpu in _cores_first_threads(unodes[node], siblings))]
    elif pinning == "per-numa-node":
        plan = [tuple(_cores_first_threads(cpus, siblings)) for cpus in unodes.values()]
    elif pinning == "per-core":
        plan = [i.cpus for i in instances.plan_instances(unodes, siblings, 1)]
    elif isinstance(pinning, dict):
        per = min(int(pinning["cores_per_instance"]), largest)
        wanted = pinning.get("instances")
        fit = instances.plan_instances(unodes, siblings, per)
        plan = [i.cpus for i in fit[: int(wanted)]] if wanted else [i.cpus for i in fit]
    else:
        raise RunnerError(f"pinning {pinning!r} is not single, per-numa-node, per-core or {{instances, cores_per_instance}}")
    metadata = {
        "pinning": pinning if isinstance(pinning, str) else dict(pinning),
        "instances": len(plan),
        "cpus_per_instance": len(plan[0]),
        "cpusets": [instances.format_cpulist(c) for c in plan],
        "reported_physical_cores": reported_cores,
        "usable_physical_cores": usable_cores,
        "reported_numa_nodes": sum(1 for cpus in nodes.values() if cpus),
        "usable_numa_nodes": len(unodes),
        "cpus_clamped": usable_cores < reported_cores,
    }
    return CpuPlan(plan, metadata)


def _cores_first_threads(cpus: list[int], siblings: dict[int, tuple[int, ...]]) -> list[int]:
    """One logical CPU per physical core: the guide pins OpenMP to physical cores, not hyper-threads."""
    return [core[0] for core in instances.core_groups(cpus, siblings)]


def node_plan(pinning: Any, root: str = "/") -> CpuPlan:
    """plan_cpus for this node: its /sys topology, limited to what this process may use (node_view)."""
    view = node_view(root)
    return plan_cpus(pinning, view.nodes, view.siblings, view.cpus, view.mems)


# ---- running instances ----------------------------------------------------------------------------


def _instance_main(target: Callable, args: tuple, cpus: tuple[int, ...] | None, barrier: Any, queue: Any) -> None:
    try:
        if cpus is not None:
            os.sched_setaffinity(0, cpus)
        queue.put(("ok", target(barrier, *args)))
    except BaseException as exc:  # reported to the parent, which raises it with the instance's trace
        barrier.abort()
        queue.put(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


def run_instances(
    target: Callable, args: tuple, cpusets: list[tuple[int, ...] | None], threads: list[int], timeout: float = 3600.0
) -> list[Any]:
    """Run `target(barrier, *args)` once per CPU set, concurrently, each in a fresh process pinned to its
    set with the thread-count variables set before any numeric library loads (hence `spawn`).
    `target` calls `barrier.wait()` after its setup so all instances measure at the same time.
    A cpuset of None leaves that instance unpinned."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(cpusets))
    queue = ctx.Queue()
    procs = []
    saved = {var: os.environ.get(var) for var in THREAD_VARS}
    try:
        for cpus, count in zip(cpusets, threads):
            for var in THREAD_VARS:
                os.environ[var] = str(count)
            proc = ctx.Process(target=_instance_main, args=(target, args, cpus, barrier, queue))
            proc.start()
            procs.append(proc)
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    results = []
    try:
        for _ in procs:
            status, payload = queue.get(timeout=timeout)
            if status == "error":
                raise RunnerError(f"an instance failed: {payload}")
            results.append(payload)
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
    return results


def timed_repeats(func: Callable[[], Any], warmup: int, repeats: int) -> list[float]:
    """Seconds per call of `func` after `warmup` untimed calls."""
    if repeats < 1:
        raise RunnerError(f"repeats must be at least 1 (got {repeats})")
    for _ in range(warmup):
        func()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return times


def module_versions(names: list[str]) -> dict[str, str]:
    """Installed distribution versions of the stacks a job imports, read from package metadata without
    importing them (the parent stays light; a new numpy explains a jump in the trend)."""
    owners = importlib.metadata.packages_distributions()
    versions = {}
    for name in names:
        for dist in owners.get(name, []):
            try:
                versions[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
    return versions


# ---- the harness ----------------------------------------------------------------------------------


def _missing_modules(names: list[str]) -> list[str]:
    return [name for name in names if importlib.util.find_spec(name) is None]


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        json.dump(doc, handle, indent=1, sort_keys=True)
    os.replace(handle.name, path)


def execute(module: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Prepare / Run / Cleanup one runner module and return the result document (never raises)."""
    doc: dict[str, Any] = {
        "version": RESULT_VERSION,
        "benchmark": module.BENCHMARK_NAME,
        "job": params.get("job", module.BENCHMARK_NAME),
        "params": params,
        "python": sys.executable,
        "python_version": platform.python_version(),
        "started": time.time(),
        "samples": [],
        "versions": {},
    }
    missing = _missing_modules(list(module.REQUIRES))
    if missing:
        stack = params.get("stack", "its")
        doc.update(status="skipped", reason=(
            f"{', '.join(missing)} not importable by {sys.executable}: install the {stack} stack "
            "(deploys/frameworks.py) or point host data xeonfleet_bench_env at an env that has it"))
    else:
        state = None
        try:
            state = module.Prepare(params)
            samples = module.Run(params, state)
            measured = [s for s in samples if isinstance(s, Sample)]
            if not measured:
                raise RunnerError(f"{module.BENCHMARK_NAME} produced no samples")
            doc["samples"] = [sample.to_json() for sample in measured]
            doc["unavailable"] = {s.metric: s.reason for s in samples if isinstance(s, Unavailable)}
            doc["status"] = "ok"
        except SkipBenchmark as exc:
            doc.update(status="skipped", reason=str(exc))
        except Exception as exc:  # a failing job must still hand back a file saying why
            doc.update(status="failed", error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc())
        finally:
            try:
                module.Cleanup(state)
            except Exception as exc:
                doc.setdefault("cleanup_error", f"{type(exc).__name__}: {exc}")
        doc["versions"] = module_versions(list(module.REQUIRES) + list(getattr(module, "OPTIONAL", ())))
    doc["finished"] = time.time()
    return doc


def add_readings(doc: dict[str, Any], readings: list[dict[str, Any]]) -> None:
    """Counter readings (counters.py) into an ok result: values as samples, the rest as unavailable."""
    if doc.get("status") != "ok":
        return
    doc["samples"] += [r for r in readings if "value" in r]
    doc.setdefault("unavailable", {}).update({r["metric"]: r["reason"] for r in readings if "reason" in r})


def main(module: Any, argv: list[str] | None = None) -> int:
    """Command line of every runner: `RUNNER.py --params JSON --out FILE`; exit 0 once FILE is written.
    With perf on the node the runner first re-runs itself under `perf stat` (counters.py)."""
    parser = argparse.ArgumentParser(description=module.__doc__)
    parser.add_argument("--params", default="{}", help="job parameters as a JSON object")
    parser.add_argument("--out", required=True, type=Path, help="where to write the result JSON")
    arguments = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(arguments)
    try:
        params = json.loads(args.params)
    except ValueError as exc:
        parser.error(f"--params is not JSON ({exc}); pass a JSON object")
    if not isinstance(params, dict):
        parser.error("--params must be a JSON object")
    perf = counters.perf_wanted()
    if perf and (text := counters.run_under_perf(perf, [sys.executable, module.__file__, *arguments], args.out)):
        doc = json.loads(args.out.read_text())
        add_readings(doc, counters.perf_readings(counters.parse_perf_csv(text)))
        _write_json(args.out, doc)
        return 0
    if os.environ.get(counters.OFF_VAR) == "off":
        _write_json(args.out, execute(module, params))
        return 0
    with counters.OsWatch(sorted(os.sched_getaffinity(0))) as watch:
        doc = execute(module, params)
    if not os.environ.get(counters.UNDER_PERF_VAR):
        watch.readings.append({"metric": counters.PREFIX + "ipc", "reason": "perf (Debian linux-perf) is not "
                               "installed on the node, or it failed to start: no cycle or instruction counts"})
    add_readings(doc, watch.readings)
    _write_json(args.out, doc)
    return 0
