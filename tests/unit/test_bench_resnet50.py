"""The ResNet-50 runner for real: run the way deploys/benchmark.py runs it (remote.runner_command, the
env's python, a result file), on tiny sizes, in a torch venv.

The venv (`pip install torch==2.13.0 numpy neural-compressor-pt`: the CPU wheel, and INC for INT8) is
built once per machine under /var/cache/xeonfleet-test/torch-env and reused, like the bench env of
tests/integration/test_benchmark.py.
Without root (cannot write the cache) and outside CI the test is skipped; in CI a failed build fails it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xeonfleet.bench import remote
from xeonfleet.bench.ingest import read_result
from xeonfleet.bench.jobs import RUNNERS_DIR, load_jobs

REPO = Path(__file__).resolve().parents[2]

TORCH_ENV = Path("/var/cache/xeonfleet-test/torch-env")
# 2.13.0: the CPU wheel (a plain `torch` pulls a CUDA build); neural-compressor-pt: INT8 through PT2E.
PACKAGES = ("torch==2.13.0", "numpy", "neural-compressor-pt==3.*")
READY = "import torch, numpy, neural_compressor.torch.quantization"
TINY = {"batch": 4, "image_size": 64, "seconds": 1, "latency_repeats": 3, "warmup": 1, "pinning": "single"}


def _cpu_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


@pytest.fixture(scope="module")
def torch_env() -> Path:
    python = TORCH_ENV / "bin" / "python"
    if python.exists() and subprocess.run([str(python), "-c", READY], capture_output=True).returncode == 0:
        return TORCH_ENV
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip(f"no torch venv at {TORCH_ENV} and not root to build it")
    if not python.exists():
        subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(TORCH_ENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True, timeout=1200)
    return TORCH_ENV


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: Path, extra: dict) -> dict:
    """runner_command against a node-like dir: runners + planner copied into REMOTE_DIR/runners."""
    runners = tmp_path / "runners"
    runners.mkdir()
    for path in remote.runner_files():
        shutil.copy(path, runners / path.name)
    monkeypatch.setattr(remote, "REMOTE_DIR", str(tmp_path))
    job = load_jobs()["resnet50-ipex"]
    out = str(tmp_path / "results" / "resnet50-ipex.json")
    subprocess.run(["sh", "-c", remote.runner_command(job, {**job.params(), **TINY, **extra}, str(env), out)],
                   check=True, timeout=300)
    return read_result(Path(out))


def _job_samples(doc: dict) -> dict:
    """The job's own samples, without the counter readings every runner adds (counters.*)."""
    assert any(s["metric"].startswith("counters.") for s in doc["samples"])
    return {s["metric"]: s for s in doc["samples"] if not s["metric"].startswith("counters.")}


def test_resnet50_measures_fp32_and_bf16_where_the_isa_has_it(torch_env, tmp_path, monkeypatch):
    doc = _run(tmp_path, monkeypatch, torch_env, {"precisions": ["fp32", "bf16"]})
    assert doc["status"] == "ok", doc.get("error") or doc.get("reason")
    samples = _job_samples(doc)
    bf16 = bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})
    expected = {"throughput_fp32", "latency_fp32"} | ({"throughput_bf16", "latency_bf16", "speedup_bf16"} if bf16 else set())
    assert set(samples) == expected
    assert all(s["value"] > 0 for s in samples.values())
    meta = samples["throughput_fp32"]["metadata"]
    assert meta["weights"] == "random" and meta["image_size"] == 64 and meta["batch"] == 4
    assert meta["optimizer"] == "torch.jit"
    assert ("bf16" in meta["skipped_precisions"]) is not bf16
    assert meta["dispatched_isa"] and meta["kernel"]  # oneDNN ran the convolutions and said which kernel
    if bf16:
        assert samples["speedup_bf16"]["value"] == pytest.approx(
            samples["throughput_bf16"]["value"] / samples["throughput_fp32"]["value"])
    else:
        assert "speedup_bf16" in doc["unavailable"]
    assert doc["versions"]["torch"].startswith("2.13.0")


@pytest.mark.heavy  # inductor compiles ResNet-50 twice (batch and single image): ~90 s of CPU, nothing to share
def test_resnet50_int8_without_ipex_goes_through_inc_pt2e(torch_env, tmp_path, monkeypatch):
    """torch 2.13 has no IPEX: INT8 is INC's PT2E flow, compiled by inductor (g++ from the bootstrap)."""
    doc = _run(tmp_path, monkeypatch, torch_env, {"precisions": ["int8"]})
    assert doc["status"] == "ok", doc.get("error") or doc.get("reason")
    samples = _job_samples(doc)
    assert set(samples) == {"throughput_int8", "latency_int8"} and all(s["value"] > 0 for s in samples.values())
    assert samples["throughput_int8"]["metadata"]["int8_quantizer"] == "inc-pt2e"
    assert doc["versions"]["neural_compressor_pt"].startswith("3.") and "torchao" in doc["versions"]


@pytest.mark.parametrize("installed, compiler, headers, reason", [
    ((), "/usr/bin/g++", True, "neither intel_extension_for_pytorch nor neural-compressor-pt importable"),
    (("neural_compressor", "torchao"), None, True, "torch.compile, whose inductor needs a C++ compiler: install g++"),
    (("neural_compressor", "torchao"), "/usr/bin/g++", False, "/nonexistent/Python.h: install python3-dev"),
])
def test_int8_without_a_quantizer_is_skipped_with_the_reason(monkeypatch, installed, compiler, headers, reason):
    monkeypatch.syspath_prepend(str(RUNNERS_DIR))
    import resnet50_ipex

    monkeypatch.setattr(resnet50_ipex, "_installed", lambda module: module in installed)
    monkeypatch.setattr(resnet50_ipex.shutil, "which", lambda name: compiler)
    monkeypatch.setattr(resnet50_ipex, "PYTHON_H", resnet50_ipex.PYTHON_H if headers else "/nonexistent/Python.h")
    with pytest.raises(resnet50_ipex.benchlib.SkipBenchmark, match=f"int8: .*{re.escape(reason)}"):
        resnet50_ipex.Prepare({"precisions": ["int8"]})


def test_hand_built_resnet50_has_the_torchvision_layout(torch_env):
    """Without torchvision the runner builds ResNet-50 itself: 25 557 032 parameters, as torchvision's."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import resnet50_ipex as r; "
            "m = r.build_resnet50(); print(sum(p.numel() for p in m.parameters()), r._installed('torchvision'))")
    out = subprocess.run([str(torch_env / "bin" / "python"), "-c", code, str(RUNNERS_DIR)],
                         capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.stdout.split() == ["25557032", "False"]
