"""deploys/frameworks.py for real on a lab host: real pip installs from a real wheelhouse, real
smoke tests on the node, over real SSH. The wheelhouse is cached under ~/.cache/xeonfleet so
repeated runs (and CI on the same machine) download from the index once.

The lab host's /proc/cpuinfo comes from its hardware profile, but its kernels run on this machine's
CPU: the host is the richest lab profile whose AI flags this CPU really has (Sapphire Rapids on an
AMX machine, Ice Lake on AVX-512 without AMX...), so the ISA checks judge what can really run.
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

from xeonfleet.facts.frameworks import FrameworkEnvs, parse_env_records
from xeonfleet.node import isa_names
from xeonfleet.node.env_checks import TF_ONEDNN_DEFAULT_FLAGS, cpu_flags
from xeonfleet.stacks import required_stacks_rule_input, validate_frameworks_spec
from xeonfleet.frameworks.wheelhouse import cached_wheelhouse, wheel_files
from xeonfleet.lab.hardware import load_hardware

REPO = Path(__file__).resolve().parents[2]
PYINFRA = str(Path(sys.executable).with_name("pyinfra"))
LIGHT_SPEC = {"envs": [{"name": "ai", "backend": "venv", "python": "3.11",
                        "stacks": {"intel-python": "2026.*", "openvino": "2026.*"}}]}

pytestmark = pytest.mark.lab
THIS_CPU = cpu_flags()
AI_FLAGS = {flag for table in isa_names.WANTED_FOR_FLAGS.values() for flag, _ in table}
AMX = {"amx_tile", "amx_bf16", "amx_int8"} <= THIS_CPU


def ai_flags(hardware: str) -> set[str]:
    return set(load_hardware(hardware).cpu.flags.split()) & AI_FLAGS


def hardware_like_this_cpu() -> str:
    """The richest lab profile whose AI flags this machine's CPU has (kernels run on the real CPU)."""
    for name in ("spr-8480-2s", "icx-8380-2s", "epyc-7763-2s"):
        if ai_flags(name) <= THIS_CPU:
            return name
    pytest.skip(f"no lab hardware profile's AI flags fit this CPU ({' '.join(sorted(THIS_CPU & AI_FLAGS))})")


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory([hardware_like_this_cpu()], hosts=1)


def audit(lab, tmp_path: Path, data: dict) -> dict[str, dict]:
    """xeonfleet audit on the lab host -> {rule: finding}."""
    result = subprocess.run([str(Path(sys.executable).with_name("xeonfleet")), "audit",
                             str(write_inventory(lab, tmp_path, data)), "--format", "json"],
                            cwd=REPO, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "XEONFLEET_DB": str(tmp_path / "audit.db")})
    return {f["rule"]: f for f in json.loads(result.stdout)["nodes"]["lab-01"]["findings"]}


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
    assert record["isa"] and record["isa"].startswith(("avx", "sse"))  # the kernels really ran
    # One OpenVINO kernel per precision the lab host's flags allow, named from the runtime graph.
    precisions = record["stacks"]["openvino"]["precisions"]
    assert set(precisions) == set(isa_names.precisions_for(ai_flags(hardware_like_this_cpu()))), precisions
    assert precisions["fp32"]["kernel"].startswith(("brgconv_", "jit_")) and precisions["fp32"]["src_type"] == "f32"
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
    findings = audit(lab, tmp_path, data)
    statuses = {rule: findings[rule]["status"] for rule in ("frameworks.stacks", "frameworks.isa", "frameworks.support")}
    assert statuses == {"frameworks.stacks": "pass", "frameworks.isa": "pass", "frameworks.support": "pass"}, findings
    assert "env ai: openvino fp32 ran avx" in findings["frameworks.isa"]["evidence"]


@pytest.mark.skipif(not AMX, reason="needs AMX (amx_tile, amx_bf16, amx_int8 in /proc/cpuinfo flags)")
def test_amx_bf16_capped_by_a_variable_fails_naming_it_and_passes_once_it_is_gone(lab, tmp_path, light_wheelhouse):
    """On an AMX node OpenVINO's BF16 and INT8 convs run AMX kernels; ONEDNN_MAX_CPU_ISA in the
    node's runtime env makes them fall back to AVX-512, the audit names the stack, precision,
    variable and file, and removing it + deploys/frameworks.py (which re-runs the checks because
    that file changed, without reinstalling) turns the verdict back to pass."""
    data = {"xeonfleet_profile": "xeon-ai-stack", "wheelhouse": str(light_wheelhouse)}
    assert run_deploy(lab, tmp_path, data).returncode == 0
    (record,) = [r for r in env_records(lab) if r["name"] == "ai"]
    ran = {p: record["stacks"]["openvino"]["precisions"][p] for p in ("bf16", "int8")}
    assert {p: (r["isa"], r["src_type"]) for p, r in ran.items()} == {
        "bf16": ("avx512_core_amx", "bf16"), "int8": ("avx512_core_amx", "u8")}, ran
    assert "amx" in ran["bf16"]["kernel"] and "amx" in ran["int8"]["kernel"]

    profile_env = "/etc/profile.d/xeonfleet-ai.sh"
    venv_inode = host_sh(lab, "stat -c %i /opt/xeonfleet/envs/ai/pyvenv.cfg").stdout
    host_sh(lab, f"echo 'export ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16' >> {profile_env}")
    rechecked = run_deploy(lab, tmp_path, data)
    assert rechecked.returncode == 0, rechecked.stdout[-3000:]
    assert f"re-run its checks, {profile_env} changed since its checks ran" in rechecked.stdout + rechecked.stderr
    assert host_sh(lab, "stat -c %i /opt/xeonfleet/envs/ai/pyvenv.cfg").stdout == venv_inode  # not reinstalled
    isa = audit(lab, tmp_path, data)["frameworks.isa"]
    assert isa["status"] == "fail", isa
    assert (f"env ai: openvino bf16 ran avx512* (brgconv_avx512_bf16") in isa["evidence"]
    assert f"CPU allows avx512_core_amx: remove ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 from {profile_env}" in isa["evidence"]

    host_sh(lab, f"sed -i '/ONEDNN_MAX_CPU_ISA/d' {profile_env}")
    assert run_deploy(lab, tmp_path, data).returncode == 0
    assert audit(lab, tmp_path, data)["frameworks.isa"]["status"] == "pass"


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
    # INC's PT2E INT8 after torch.compile (inductor needs g++ and Python.h: scripts/bootstrap.sh).
    "torch-inc": {"pytorch": {"variant": "plain", "version": "2.13"}, "inc": {"variant": "pt", "version": "3"}},
    "tf-stock": {"tensorflow": {"variant": "stock", "version": "2.21"}},
    "torch-ipex": {"pytorch": {"variant": "ipex", "version": "2.8"}},
    "tf-intel": {"tensorflow": {"variant": "intel", "version": "2.14"}},
}


def _heavy_spec(name: str) -> dict:
    return {"envs": [{"name": name, "backend": "venv", "python": "3.11", "stacks": HEAVY_ENVS[name]}]}


def _check_precisions(stack: str, result: dict) -> None:
    """Every precision the lab host's flags allow ran a oneDNN kernel at least as good as they say
    (or is skipped for its stated reason: TensorFlow INT8, INC's FP32/BF16)."""
    flags = ai_flags(hardware_like_this_cpu())
    precisions = result["precisions"]
    assert set(precisions) == set(isa_names.precisions_for(flags)), precisions
    for precision, ran in precisions.items():
        if "skipped" in ran:
            assert (stack, precision) in {("tensorflow", "int8"), ("inc", "fp32"), ("inc", "bf16")}, ran
            continue
        assert isa_names.meets(ran["isa"], isa_names.wanted_isa(precision, flags)), (precision, ran)
        assert ran["gflops"] > 0 and ran["isa_source"] == "onednn verbose"


def _check_heavy_record(name: str, record: dict) -> None:
    assert record["ok"] is True, json.dumps(record)[:2000]
    for stack in HEAVY_ENVS[name]:
        result = record["stacks"][stack]
        if result.get("onednn_enabled") is False:  # TensorFlow's own default here (checked below): no oneDNN ran
            continue
        # oneDNN really ran kernels and its verbose output was parsed into ISAs, per precision too (INC runs
        # only INT8: on a CPU without VNNI it has no precision to run).
        if any("skipped" not in ran for ran in result["precisions"].values()):
            assert result["max_isa"] and result["dispatched"], json.dumps(result)
        _check_precisions(stack, result)
    if "pytorch" in HEAVY_ENVS[name]:
        result = record["stacks"]["pytorch"]
        assert result["mkldnn"] is True and result["output_shape"] == [8, 4]
        if name == "torch-ipex":
            assert record["versions"]["torch"].startswith("2.8.")
            assert record["versions"]["intel-extension-for-pytorch"].startswith("2.8.")
            assert result["ipex"].startswith("2.8.")  # ipex.optimize ran the model
        else:
            assert record["versions"]["torch"].startswith("2.13.") and result["ipex"] is None
    if "inc" in HEAVY_ENVS[name]:
        assert record["versions"]["neural-compressor-pt"].startswith("3.")
    if "tensorflow" in HEAVY_ENVS[name]:
        result = record["stacks"]["tensorflow"]
        # tensorflow-cpu turns oneDNN on from the real CPU's flags (intel-tensorflow always has it on).
        assert result["onednn_enabled"] is (name == "tf-intel" or bool(THIS_CPU & TF_ONEDNN_DEFAULT_FLAGS)), result
        assert result["onednn_enabled"] or result["onednn_note"].startswith("off, TensorFlow's default on this CPU")
        package = "intel-tensorflow" if name == "tf-intel" else "tensorflow-cpu"
        assert record["versions"][package].startswith(HEAVY_ENVS[name]["tensorflow"]["version"] + ".")


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
                   "precisions": {stack: {p: {k: r.get(k) for k in ("isa", "kernel", "gflops", "skipped")}
                                          for p, r in result["precisions"].items()}
                                  for stack, result in record["stacks"].items()},
                   "wheelhouse_fetch_s": round(fetched_s, 1), "deploy_s": round(deploy_s, 1),
                   "env_mib": int(size), "wheels_mib": round(sum(w.stat().st_size for w in wheel_files(wheels)) / 2**20)}
        print("XEONFLEET_HEAVY " + json.dumps(figures, sort_keys=True))
    finally:
        host_sh(lab, f"rm -rf /opt/xeonfleet/envs/{name} /opt/xeonfleet/wheelhouse")
