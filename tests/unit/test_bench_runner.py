"""The node-side harness: CPU plans clamped to real CPUs, result documents, the shell wrapper."""

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from xeonfleet.bench import remote
from xeonfleet.bench.ingest import ResultError, read_result
from tests.node_sysroots import icx_snc2_sysroot, restricted_copy
from xeonfleet.bench.jobs import RUNNERS_DIR, load_jobs
from xeonfleet.resources import packaged

sys.path.insert(0, str(RUNNERS_DIR))
import benchlib  # noqa: E402

# A 2-socket, 4-core-per-socket, HT node: node 0 = cpus 0-3 + 8-11, node 1 = 4-7 + 12-15.
NODES = {0: [0, 1, 2, 3, 8, 9, 10, 11], 1: [4, 5, 6, 7, 12, 13, 14, 15]}
SIBLINGS = {c: (c % 8, c % 8 + 8) for c in range(16)}
ALL = set(range(16))
LAUNCHER = packaged("node/launcher.py")


def test_single_uses_one_thread_per_physical_core():
    plan = benchlib.plan_cpus("single", NODES, SIBLINGS, ALL)
    assert plan.cpusets == [(0, 1, 2, 3, 4, 5, 6, 7)]
    assert plan.metadata["cpus_clamped"] is False


def test_per_numa_node_and_instances():
    assert benchlib.plan_cpus("per-numa-node", NODES, SIBLINGS, ALL).cpusets == [(0, 1, 2, 3), (4, 5, 6, 7)]
    plan = benchlib.plan_cpus({"cores_per_instance": 2, "instances": 3}, NODES, SIBLINGS, ALL)
    assert plan.cpusets == [(0, 1), (2, 3), (4, 5)]
    assert len(benchlib.plan_cpus("per-core", NODES, SIBLINGS, ALL).cpusets) == 8


def test_lab_host_plan_shrinks_to_the_cpus_that_exist_and_says_so():
    # A lab host reports this topology but its processes may only run on real CPUs 0 and 1.
    plan = benchlib.plan_cpus("per-numa-node", NODES, SIBLINGS, {0, 1})
    assert plan.cpusets == [(0, 1)]
    meta = plan.metadata
    assert meta["cpus_clamped"] and meta["reported_physical_cores"] == 8 and meta["usable_physical_cores"] == 2
    assert meta["reported_numa_nodes"] == 2 and meta["usable_numa_nodes"] == 1
    # More cores per instance than exist shrinks to what a node has instead of failing.
    assert benchlib.plan_cpus({"cores_per_instance": 8}, NODES, SIBLINGS, {0, 1}).cpusets == [(0, 1)]


@pytest.fixture(scope="module")
def icx_sysroot(tmp_path_factory):
    return icx_snc2_sysroot(tmp_path_factory.mktemp("icx-snc2"))


def test_runners_plan_within_the_cgroup_cpuset_and_mems_allowed_as_the_launcher_does(icx_sysroot, tmp_path):
    # sysfs claims 160 CPUs on 4 SNC2 nodes of 20 cores (node 0: 0-19, node 1: 20-39, HT siblings +80).
    taskset = restricted_copy(icx_sysroot, tmp_path / "taskset", "0-9,20-29", "0,1")
    assert benchlib.node_plan("per-numa-node", taskset).cpusets == [tuple(range(10)), tuple(range(20, 30))]
    # A container's cpuset allows only 0-5 of that affinity (and 60-70, which the affinity excludes).
    container = restricted_copy(icx_sysroot, tmp_path / "container", "0-9,20-29", "0,1", cgroup_cpus="0-5,60-70")
    plan = benchlib.node_plan("per-numa-node", container)
    assert plan.cpusets == [(0, 1, 2, 3, 4, 5)]
    meta = plan.metadata
    assert meta["cpus_clamped"] and meta["reported_physical_cores"] == 80 and meta["usable_physical_cores"] == 6
    assert meta["reported_numa_nodes"] == 4 and meta["usable_numa_nodes"] == 1
    launcher = subprocess.run([sys.executable, str(LAUNCHER), "--sysroot", container, "--instances", "auto",
                               "--dry-run", "--", "app"], capture_output=True, text=True, check=True)
    assert "numactl -C 0-5 -m 0 app" in launcher.stdout  # the launcher's plan: the same CPUs
    # Memory nodes outside Mems_allowed are not planned on either.
    node2 = restricted_copy(icx_sysroot, tmp_path / "mems", "0-159", "2")
    assert benchlib.node_plan("per-numa-node", node2).cpusets == [tuple(range(40, 60))]
    assert list(benchlib.node_view(node2).usable) == [2]


def test_a_runner_that_may_use_no_listed_cpu_fails_with_the_launchers_line(icx_sysroot, tmp_path):
    root = restricted_copy(icx_sysroot, tmp_path, "200-201", "0")
    with pytest.raises(benchlib.topology.TopologyError, match="none of the 160 CPUs in this host's topology"):
        benchlib.node_plan("single", root)


def test_bad_pinning_is_a_runner_error():
    with pytest.raises(benchlib.RunnerError, match="pinning 'sideways'"):
        benchlib.plan_cpus("sideways", NODES, SIBLINGS, ALL)


def _module(run, requires=()):
    return types.SimpleNamespace(BENCHMARK_NAME="t", REQUIRES=requires, Prepare=lambda p: None, Run=run,
                                 Cleanup=lambda s: None)


def test_execute_reports_ok_skipped_and_failed():
    ok = benchlib.execute(_module(lambda p, s: [benchlib.Sample("m", 1.5, "x", {"a": 1})]), {})
    assert ok["status"] == "ok" and ok["samples"] == [{"metric": "m", "value": 1.5, "unit": "x", "metadata": {"a": 1}}]
    skipped = benchlib.execute(_module(None, requires=("no_such_module_xf",)), {"stack": "faiss"})
    assert skipped["status"] == "skipped" and "install the faiss stack" in skipped["reason"]
    failed = benchlib.execute(_module(lambda p, s: [benchlib.Sample("m", float("nan"), "x")]), {})
    assert failed["status"] == "failed" and "is not a number" in failed["error"]
    empty = benchlib.execute(_module(lambda p, s: []), {})
    assert empty["status"] == "failed" and "no samples" in empty["error"]


def test_runner_script_writes_a_skip_document_without_its_stack(tmp_path):
    # The system python has no torch: the ResNet job is skipped with the reason, not failed.
    out = tmp_path / "r.json"
    subprocess.run([sys.executable, str(RUNNERS_DIR / "resnet50_ipex.py"), "--params", '{"stack": "pytorch"}',
                    "--out", str(out)], check=True, cwd=RUNNERS_DIR)
    doc = read_result(out)
    assert doc["status"] == "skipped" and "torch" in doc["reason"]


def test_matmul_isa_on_this_cpu_skips_fp16_without_its_flags_and_says_why():
    # The real Prepare on the real /proc/cpuinfo (the build machines are AMD EPYC guests without AVX-512).
    import matmul_isa

    with open("/proc/cpuinfo") as handle:
        flags = next((line for line in handle if line.startswith("flags")), "flags :").split(":", 1)[1].split()
    if {"amx_fp16", "avx512_fp16"} & set(flags):
        pytest.skip("this CPU has native FP16 (amx_fp16 or avx512_fp16): nothing to skip")
    state = matmul_isa.Prepare({"n": 1024, "precisions": ["fp32", "fp16"]})
    assert state["precisions"] == ["fp32"]
    assert state["skipped"] == {"fp16": "no amx_fp16 or avx512_fp16 in /proc/cpuinfo flags: FP16 would be emulated"}


def _run_matmul(bench_env: Path, tmp_path: Path, **params) -> dict:
    """The real matmul-isa runner in the bench env (torch 2.13 CPU wheel), FP32 only, counters off."""
    out = tmp_path / "matmul.json"
    params = {"n": 256, "warmup": 1, "repeats": 3, "precisions": ["fp32"], **params}
    subprocess.run([str(bench_env / "bin" / "python"), str(RUNNERS_DIR / "matmul_isa.py"), "--params",
                    json.dumps(params), "--out", str(out)], check=True, cwd=RUNNERS_DIR,
                   env={**os.environ, "XEONFLEET_COUNTERS": "off"})
    return read_result(out)


def test_matmul_isa_times_the_layer_and_the_raw_gemm_and_heads_with_the_better(bench_env, tmp_path):
    doc = _run_matmul(bench_env, tmp_path)
    assert doc["status"] == "ok", doc.get("error")
    by = {s["metric"]: s for s in doc["samples"]}
    layer, gemm, head = by["rate_fp32_layer"], by["rate_fp32_gemm"], by["rate_fp32"]
    assert head["value"] == max(layer["value"], gemm["value"])
    assert head["metadata"]["best_path"] == ("layer" if layer["value"] >= gemm["value"] else "gemm")
    # What ran, named from the libraries' own verbose lines: oneDNN's kernel and ISA for the prepacked layer,
    # MKL's SGEMM (and the code path MKL chose for this CPU, in its words) for torch.mm on contiguous FP32.
    assert layer["metadata"]["library"] == "oneDNN" and layer["metadata"]["dispatched_isa"].startswith(("avx", "sse"))
    assert (gemm["metadata"]["library"], gemm["metadata"]["kernel"]) == ("MKL", "SGEMM")
    assert gemm["metadata"]["mkl_cpu_path"] and gemm["metadata"]["op"] == "torch.mm, contiguous"


def test_matmul_isa_path_over_its_time_budget_is_null_and_no_path_at_all_fails(bench_env, tmp_path):
    doc = _run_matmul(bench_env, tmp_path, path_budget_s=0)
    assert doc["status"] == "failed"
    assert "fp32: neither path ran: layer: too slow to time: one call of mkldnn Linear" in doc["error"]
    assert "calls at n 256, over the path budget of 0 s (parameters.path_budget_s)" in doc["error"]


def _run_wrapper(tmp_path: Path, monkeypatch, runner_text: str, throttle_pct: int | None = None) -> dict:
    runners = tmp_path / "runners"
    runners.mkdir(exist_ok=True)
    (runners / "gemm_fp32.py").write_text(runner_text)
    for lib in remote.NODE_LIBS:  # uploaded beside the runners, as the deploy does
        shutil.copy(lib, runners / lib.name)
    monkeypatch.setattr(remote, "REMOTE_DIR", str(tmp_path))
    out = str(tmp_path / "results" / "gemm.json")
    command = remote.runner_command(load_jobs()["gemm-fp32"], {"n": 1}, "/nonexistent-env", out,
                                    throttle_pct=throttle_pct)
    subprocess.run(["sh", "-c", command], check=True)
    return read_result(Path(out))


def test_wrapper_writes_a_failed_document_when_the_runner_dies(tmp_path, monkeypatch):
    doc = _run_wrapper(tmp_path, monkeypatch, "import sys; sys.exit(9)\n")
    assert doc["status"] == "failed" and "runner exited with status 9" in doc["error"]


def test_wrapper_passes_params_and_falls_back_to_python3(tmp_path, monkeypatch):
    script = ("import json, sys; a = sys.argv; json.dump({'status': 'ok', 'samples': [], "
              "'params': json.loads(a[a.index('--params') + 1])}, open(a[a.index('--out') + 1], 'w'))\n")
    doc = _run_wrapper(tmp_path, monkeypatch, script)
    assert doc["params"] == {"n": 1}


SPIN = ("import json, sys, time\nstart = time.perf_counter(); cpu = time.process_time()\n"
        "while time.perf_counter() - start < 1.0: pass\n"
        "json.dump({'status': 'ok', 'samples': [], 'cpu_share': (time.process_time() - cpu) / 1.0}, "
        "open(sys.argv[sys.argv.index('--out') + 1], 'w'))\n")


def test_throttle_runs_the_runner_only_part_of_the_time(tmp_path, monkeypatch):
    # Share of the CPU time the runner got over one second of wall time, relative to an unthrottled run:
    # a ratio, so the load of the machine cancels out.
    free = _run_wrapper(tmp_path, monkeypatch, SPIN)["cpu_share"]
    throttled = _run_wrapper(tmp_path, monkeypatch, SPIN, throttle_pct=10)["cpu_share"]  # 10 % of this machine's CPUs
    assert throttled < 0.5 * free
    with pytest.raises(ValueError, match="xeonfleet_bench_throttle_pct must be 1..99"):
        remote.throttle_command(100)


def test_malformed_result_files_are_named(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"status": "ok", "samples": [{"metric": "m", "value": "fast"}]}))
    with pytest.raises(ResultError, match="bad.json: malformed sample"):
        read_result(bad)
    bad.write_text("{")
    with pytest.raises(ResultError, match="bad.json: unreadable"):
        read_result(bad)


def test_throttle_script_checks_its_arguments_and_ends_with_its_group():
    script = [sys.executable, str(next(lib for lib in remote.NODE_LIBS if lib.name == remote.THROTTLE))]
    bad = subprocess.run([*script, "1", "100"], capture_output=True, text=True, timeout=10)
    assert bad.returncode == 2 and "PCT must be 1..99 (got 100)" in bad.stderr
    assert subprocess.run([*script, "x"], capture_output=True, text=True, timeout=10).returncode == 2
    # A group whose leader has ended (or never was): nothing to throttle, it returns at once.
    done = subprocess.Popen(["true"])
    done.wait()
    assert subprocess.run([*script, str(done.pid), "50"], timeout=10).returncode == 0
