"""deploys/frameworks.py for real on a lab host: real pip installs from a real wheelhouse, real
smoke tests on the node, over real SSH. The wheelhouse is cached under ~/.cache/xeonfleet so
repeated runs (and CI on the same machine) download from the index once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from facts.frameworks import FrameworkEnvs, parse_env_records
from xeonfleet.frameworks.stacks import required_stacks_rule_input, validate_frameworks_spec
from xeonfleet.frameworks.wheelhouse import cached_wheelhouse, wheel_files

REPO = Path(__file__).resolve().parents[2]
PYINFRA = str(Path(sys.executable).with_name("pyinfra"))
LIGHT_SPEC = {"envs": [{"name": "ai", "backend": "venv", "python": "3.11",
                        "stacks": {"intel-python": "2026.*", "openvino": "2026.*"}}]}

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory(["icx-8380-2s"], hosts=1)


@pytest.fixture(scope="module")
def light_wheelhouse() -> Path:
    return cached_wheelhouse(validate_frameworks_spec(LIGHT_SPEC, "test"))


def write_inventory(lab, tmp_path: Path, data: dict) -> Path:
    """A pyinfra inventory file: the lab's hosts, each with `data` added to its host data."""
    inventory = tmp_path / f"inventory_{len(list(tmp_path.glob('inventory_*')))}.py"
    hosts = [(name, dict(host_data, **data)) for name, host_data in lab.inventory_hosts()]
    inventory.write_text(f"hosts = {hosts!r}\n")
    return inventory


def run_deploy(lab, tmp_path: Path, data: dict, deploy: str = "deploys/frameworks.py") -> subprocess.CompletedProcess:
    """pyinfra INVENTORY DEPLOY, the inventory being the lab's hosts plus `data`."""
    return subprocess.run([PYINFRA, "-y", str(write_inventory(lab, tmp_path, data)), deploy], cwd=REPO,
                          capture_output=True, text=True, timeout=1800)


def env_records(lab, root: str = "/opt/xeonfleet/envs") -> list[dict]:
    """The FrameworkEnvs fact's own command, run on the host, parsed by its own parser."""
    out = lab.exec("lab-01", ["sh", "-c", FrameworkEnvs().command(root=root)])
    return parse_env_records(out.stdout.splitlines())


def host_sh(lab, script: str) -> subprocess.CompletedProcess:
    return lab.exec("lab-01", ["sh", "-c", script])


def test_light_stacks_install_smoke_test_and_rerun_is_a_noop(lab, tmp_path, light_wheelhouse):
    first = run_deploy(lab, tmp_path, {"frameworks": LIGHT_SPEC, "wheelhouse": str(light_wheelhouse)})
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]

    records = env_records(lab)
    (record,) = [r for r in records if r["name"] == "ai"]
    assert record["ok"] is True and record["backend"] == "venv"
    assert record["versions"]["openvino"].startswith("2026.")
    assert record["versions"]["scikit-learn-intelex"].startswith("2026.")
    assert "CPU" in record["stacks"]["openvino"]["devices"]
    assert record["stacks"]["intel-python"]["patched_module"].startswith("sklearnex")
    assert record["isa"] and record["isa"].startswith(("avx", "sse"))  # oneDNN really dispatched kernels
    envs = validate_frameworks_spec(LIGHT_SPEC, "test")
    assert required_stacks_rule_input(records, envs)["status"] == "pass"

    activate = host_sh(lab, ". /opt/xeonfleet/envs/ai/activate.sh && python -c 'import openvino, sklearnex' "
                            "&& echo $XEONFLEET_ENV")
    assert activate.stdout.strip() == "ai", activate.stderr

    before = host_sh(lab, "stat -c %Y /opt/xeonfleet/envs/ai/xeonfleet-env.json").stdout
    second = run_deploy(lab, tmp_path, {"frameworks": LIGHT_SPEC, "wheelhouse": str(light_wheelhouse)})
    assert second.returncode == 0, second.stderr[-2000:]
    assert "Starting operation" not in second.stdout  # nothing uploaded, nothing installed
    assert host_sh(lab, "stat -c %Y /opt/xeonfleet/envs/ai/xeonfleet-env.json").stdout == before


def test_ai_node_builds_the_profile_stacks_and_the_audit_passes_them(lab, tmp_path, light_wheelhouse):
    """xeon-ai-stack asks for the light stacks: ai_node.py builds them after tuning, and the audit's
    frameworks rules read the env's record."""
    assert host_sh(lab, "rm -rf /opt/xeonfleet/envs/ai").returncode == 0
    data = {"xeonfleet_profile": "xeon-ai-stack", "wheelhouse": str(light_wheelhouse)}
    tuned = run_deploy(lab, tmp_path, data, "deploys/ai_node.py")
    assert tuned.returncode == 0, tuned.stdout[-3000:] + tuned.stderr[-2000:]
    assert "Framework env ai (venv: intel-python, openvino)" in tuned.stdout + tuned.stderr
    assert [r["ok"] for r in env_records(lab) if r["name"] == "ai"] == [True]
    audit = subprocess.run([str(Path(sys.executable).with_name("xeonfleet")), "audit",
                            str(write_inventory(lab, tmp_path, data)), "--format", "json"],
                           cwd=REPO, capture_output=True, text=True, timeout=300,
                           env={**os.environ, "XEONFLEET_DB": str(tmp_path / "audit.db")})
    findings = {f["rule"]: f["status"] for f in json.loads(audit.stdout)["nodes"]["lab-01"]["findings"]}
    assert findings["frameworks.stacks"] == "pass" and findings["frameworks.isa"] == "pass", audit.stdout[-2000:]


def test_faiss_and_inc_stacks_install_and_pass_their_own_smoke_tests(lab, tmp_path):
    """The two small stacks the light spec leaves out: faiss must find each vector's own nearest
    neighbour through HNSW, INC must import, and both must import together in either order."""
    spec = {"envs": [{"name": "vec", "backend": "venv", "python": "3.11", "stacks": {"faiss": "1.15", "inc": "3"}}]}
    wheelhouse = cached_wheelhouse(validate_frameworks_spec(spec, "test"))
    result = run_deploy(lab, tmp_path, {"frameworks": spec, "wheelhouse": str(wheelhouse)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    (record,) = [r for r in env_records(lab) if r["name"] == "vec"]
    assert record["ok"] is True and record["coimport_ok"] is True, record.get("error")
    assert record["versions"]["faiss-cpu"].startswith("1.15.") and record["versions"]["neural-compressor"].startswith("3.")
    assert record["stacks"]["faiss"]["ok"] is True and record["stacks"]["inc"]["module"] == "neural_compressor"


def test_half_installed_env_is_detected_and_rebuilt(lab, tmp_path, light_wheelhouse):
    spec = {"envs": [dict(LIGHT_SPEC["envs"][0], name="crashed", stacks={"openvino": "2026.*"})]}
    # What a crash mid-install leaves: a venv with some packages and no record.
    host_sh(lab, "mkdir -p /opt/xeonfleet/envs/crashed/bin && touch /opt/xeonfleet/envs/crashed/leftover")
    (stale,) = [r for r in env_records(lab) if r["name"] == "crashed"]
    assert stale["ok"] is False and "half-installed" in stale["error"]
    envs = validate_frameworks_spec(spec, "test")
    assert required_stacks_rule_input([stale], envs)["status"] == "fail"

    result = run_deploy(lab, tmp_path, {"frameworks": spec, "wheelhouse": str(light_wheelhouse)})
    assert result.returncode == 0, result.stdout[-3000:]
    (rebuilt,) = [r for r in env_records(lab) if r["name"] == "crashed"]
    assert rebuilt["ok"] is True
    assert host_sh(lab, "test -e /opt/xeonfleet/envs/crashed/leftover").returncode == 1


def test_missing_wheel_is_named_in_one_line(lab, tmp_path, light_wheelhouse):
    partial = tmp_path / "partial"
    partial.mkdir()
    for wheel in light_wheelhouse.glob("*.whl"):
        if not wheel.name.startswith("openvino-"):
            shutil.copy(wheel, partial)
    spec = {"envs": [dict(LIGHT_SPEC["envs"][0], name="nowheel")]}
    result = run_deploy(lab, tmp_path, {"frameworks": spec, "wheelhouse": str(partial)})
    assert result.returncode != 0
    assert "wheel missing from wheelhouse /opt/xeonfleet/wheelhouse: openvino==2026.*" in result.stdout + result.stderr
    (record,) = [r for r in env_records(lab) if r["name"] == "nowheel"]
    assert record["ok"] is False  # left half-installed: the next run rebuilds it


def test_no_disk_space_in_prefix_is_one_clear_line(lab, tmp_path, light_wheelhouse):
    host_sh(lab, "mkdir -p /mnt/tiny && mount -t tmpfs -o size=20m tmpfs /mnt/tiny")
    data = {"frameworks": LIGHT_SPEC, "wheelhouse": str(light_wheelhouse), "frameworks_root": "/mnt/tiny/envs"}
    result = run_deploy(lab, tmp_path, data)
    assert result.returncode != 0
    assert "xeonfleet: not enough disk space for /mnt/tiny/envs/ai" in result.stdout + result.stderr
    assert host_sh(lab, "ls /mnt/tiny/envs").stdout == ""


def test_conda_backend_without_micromamba_or_conda_fails_clearly(lab, tmp_path):
    spec = {"envs": [{"name": "cenv", "backend": "conda", "python": "3.11", "stacks": {"openvino": "2026.*"}}]}
    result = run_deploy(lab, tmp_path, {"frameworks": spec})
    assert result.returncode != 0
    assert "env cenv wants the conda backend with micromamba or conda, but lab-01 has none" in (
        result.stdout + result.stderr
    )


def test_impossible_combination_fails_before_any_host_is_touched(lab, tmp_path):
    spec = {"envs": [{"name": "bad", "python": "3.12", "stacks": {"tensorflow": {"variant": "intel"}}}]}
    result = run_deploy(lab, tmp_path, {"frameworks": spec})
    assert result.returncode != 0
    assert "tensorflow intel 2.14 needs Python >=3.9,<3.12, env 'bad' asks 3.12" in result.stdout + result.stderr
    assert "Starting operation" not in result.stdout
    assert not [r for r in env_records(lab) if r["name"] == "bad"]


# One env per heavy stack, so each gets its own install time and size (docs/frameworks.md).
# "current torch without IPEX" is torch 2.13, whose CPU wheel lies on our build machines' disk;
# torch 2.8 from PyPI is a CUDA build (~3.8 GB of wheels with its nvidia-* dependencies).
HEAVY_ENVS = {
    "torch-current": {"pytorch": {"variant": "plain", "version": "2.13"}},
    "tf-stock": {"tensorflow": {"variant": "stock", "version": "2.21"}},
    "torch-ipex": {"pytorch": {"variant": "ipex", "version": "2.8"}},
    "tf-intel": {"tensorflow": {"variant": "intel", "version": "2.14"}},
}


def _heavy_spec(name: str) -> dict:
    return {"envs": [{"name": name, "backend": "venv", "python": "3.11", "stacks": HEAVY_ENVS[name]}]}


def _check_heavy_record(name: str, record: dict) -> None:
    assert record["ok"] is True, json.dumps(record)[:2000]
    (stack,) = HEAVY_ENVS[name]
    result = record["stacks"][stack]
    # oneDNN really ran kernels and its verbose output was parsed into ISAs.
    assert result["max_isa"] and result["dispatched"], json.dumps(result)
    if stack == "pytorch":
        assert result["mkldnn"] is True and result["output_shape"] == [8, 4]
        if name == "torch-ipex":
            assert record["versions"]["torch"].startswith("2.8.")
            assert record["versions"]["intel-extension-for-pytorch"].startswith("2.8.")
            assert result["ipex"].startswith("2.8.")  # ipex.optimize ran the model
        else:
            assert record["versions"]["torch"].startswith("2.13.") and result["ipex"] is None
    else:
        assert result["onednn_enabled"] is True
        package = "intel-tensorflow" if name == "tf-intel" else "tensorflow-cpu"
        assert record["versions"][package].startswith(HEAVY_ENVS[name][stack]["version"] + ".")


@pytest.mark.heavy
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("name", list(HEAVY_ENVS))
def test_heavy_stack_installs_and_smoke_tests(lab, tmp_path, name):
    """Each heavy stack from a cached wheelhouse (downloaded once per machine), deployed, smoke
    tested, measured (the XEONFLEET_HEAVY line; run with -s to see it), then removed from the lab
    host to give its disk back. About 9 min in all with warm wheelhouses; see docs/frameworks.md."""
    spec = _heavy_spec(name)
    envs = validate_frameworks_spec(spec, "test")
    started = time.perf_counter()
    wheels = cached_wheelhouse(envs)
    fetched_s = time.perf_counter() - started
    started = time.perf_counter()
    result = run_deploy(lab, tmp_path, {"frameworks": spec, "wheelhouse": str(wheels)})
    deploy_s = time.perf_counter() - started
    try:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        (record,) = [r for r in env_records(lab) if r["name"] == name]
        _check_heavy_record(name, record)
        size = host_sh(lab, f"du -sm /opt/xeonfleet/envs/{name}").stdout.split()[0]
        figures = {"env": name, "versions": record["versions"], "isa": record["isa"],
                   "wheelhouse_fetch_s": round(fetched_s, 1), "deploy_s": round(deploy_s, 1),
                   "env_mib": int(size), "wheels_mib": round(sum(w.stat().st_size for w in wheel_files(wheels)) / 2**20)}
        print("XEONFLEET_HEAVY " + json.dumps(figures, sort_keys=True))
    finally:
        host_sh(lab, f"rm -rf /opt/xeonfleet/envs/{name} /opt/xeonfleet/wheelhouse")
