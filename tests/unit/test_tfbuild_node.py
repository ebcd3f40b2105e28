"""The node-side scripts run for real: tf_build.py builds tests/tf_workspace with Bazel from a
local git repo, tf_rollout.py installs into a real venv and restores it when a wheel is bad.
Skipped when bazel-bootstrap is not installed (scripts/bootstrap.sh installs it)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xeonfleet.node import tf_build as node_build, tf_rollout as node_rollout
from xeonfleet.tfbuild import plan

REPO = Path(__file__).resolve().parents[2]
WORKSPACE = REPO / "tests" / "tf_workspace"
NODE = REPO / "xeonfleet" / "node"

needs_bazel = pytest.mark.skipif(not shutil.which("bazel-4") and not shutil.which("bazel"),
                                 reason="no bazel (apt-get install bazel-bootstrap)")


def _git(cwd, *args):
    subprocess.run(["git", "-c", "user.email=t@e", "-c", "user.name=t", *args], cwd=cwd,
                   check=True, capture_output=True)


def _spec(tmp: Path, repo: str, commit: str, config: str = "mkl_threadpool") -> Path:
    settings = plan.BuildSettings(repo, "main", build_dir=str(tmp / "build"),
                                  log_path=str(tmp / "log" / "tf_build.log"), bazel_config=config)
    key = plan.cache_key(commit, settings, "x86-64-v3")
    spec = {"source_repo": repo, "source_ref": "main", "commit": commit,
            "source_dir": settings.source_dir, "log_path": settings.log_path,
            "configure_env": plan.configure_env(settings, "x86-64-v3"),
            "bazel_args": plan.bazel_args(settings, "x86-64-v3", plan.Sizing(2, 2048)),
            "targets": plan.PIP_TARGETS, "wheel_dir": settings.wheel_dir(key), "cache_key": key,
            "flags": plan.build_flags(settings, "x86-64-v3"), "march": "x86-64-v3"}
    path = tmp / f"spec-{config}.json"
    path.write_text(json.dumps(spec))
    return path


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tfsrc")
    src = tmp / "ws"
    shutil.copytree(WORKSPACE, src, ignore=shutil.ignore_patterns("bazel-*", ".tf_configure*"))
    _git(src, "init", "-q", "-b", "main")
    _git(src, "add", "-A")
    _git(src, "commit", "-qm", "ws")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=src, capture_output=True,
                            text=True).stdout.strip()
    return f"file://{src}", commit


def run_script(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(NODE / script), *args], capture_output=True,
                          text=True, timeout=300)


@needs_bazel
def test_build_then_rollout_then_rollback(source, tmp_path):
    repo, commit = source
    good = run_script("tf_build.py", str(_spec(tmp_path, repo, commit)))
    assert good.returncode == 0, good.stderr
    meta = json.loads(good.stdout)
    assert meta["source_commit"] == commit and meta["bazel_version"] == "4.2.3"
    wheel = Path(json.loads(_spec(tmp_path, repo, commit).read_text())["wheel_dir"]) / meta["wheel"]
    # A plain build (no --config=mkl_threadpool): a real wheel that must not pass verification.
    plain = run_script("tf_build.py", str(_spec(tmp_path, repo, commit, config="opt")))
    assert plain.returncode == 0, plain.stderr
    plain_meta = json.loads(plain.stdout)
    plain_wheel = Path(json.loads(_spec(tmp_path, repo, commit, "opt").read_text())["wheel_dir"]) \
        / plain_meta["wheel"]

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    ok = run_script("tf_rollout.py", str(venv), str(wheel), meta["sha256"])
    assert json.loads(ok.stdout) == {"status": "installed", "version": "2.15.1", "onednn": True,
                                     "eigen_threadpool": True}
    again = run_script("tf_rollout.py", str(venv), str(wheel), meta["sha256"])
    assert json.loads(again.stdout)["status"] == "up to date"

    bad = run_script("tf_rollout.py", str(venv), str(plain_wheel), plain_meta["sha256"])
    assert bad.returncode == 1
    assert "oneDNN is off" in bad.stdout and "previous install restored" in bad.stdout
    after = run_script("tf_rollout.py", str(venv), str(wheel), meta["sha256"])
    assert json.loads(after.stdout)["status"] == "up to date"  # the good install survived


@needs_bazel
def test_unknown_commit_is_a_clear_error(source, tmp_path):
    repo, _ = source
    out = run_script("tf_build.py", str(_spec(tmp_path, repo, "f" * 40)))
    assert out.returncode == 1
    assert f"main ({'f' * 40}) is not in {repo}; check tf_source_ref" in out.stderr


def test_bazel_mismatch_names_both_versions(monkeypatch, tmp_path):
    fake = tmp_path / "bazel"
    fake.write_text("#!/bin/sh\necho 'bazel 6.5.0'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(node_build.BuildError, match=r"source pins 7.4.1 .* is 6.5.0"):
        node_build.find_bazel("7.4.1")
    assert node_build.find_bazel("6.5.0") == (str(fake), "6.5.0")


def test_missing_venv_exit_3(tmp_path):
    out = run_script("tf_rollout.py", str(tmp_path / "nope"), str(tmp_path / "x.whl"), "0")
    assert out.returncode == 3 and "no target env at" in out.stdout


def test_phase_durations():
    assert node_build.phase_durations({"a": 1.0, "b": 3.5}, 4.0) == {"a": 2.5, "b": 0.5}
    assert node_rollout.MARKER.startswith(".xeonfleet")
