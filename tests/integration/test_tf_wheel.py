"""deploys/tf_wheel.py end to end: the real pyinfra CLI over SSH to lab hosts, real Bazel
(bazel-bootstrap 4.2.3) building tests/tf_workspace from a bare git repo on the build host,
real pip installs into target venvs.

Fleet: spr-8480-2s (most cores x memory: the builder), icx-8380-2s and clx-6248-2s (targets
with a venv). The tests run in file order: first build, cached re-run, then the bad inputs.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKSPACE = REPO / "tests" / "tf_workspace"
PYINFRA = str(Path(sys.executable).with_name("pyinfra"))
VENV = "/opt/xeonfleet/envs/ai"
BARE = "/srv/tf.git"
BUILDER, ICX, CLX = "spr-8480-2s", "icx-8380-2s", "clx-6248-2s"

pytestmark = pytest.mark.lab

INVENTORY = """
import json, os
from xeonfleet.lab.fleet import Lab

_common = json.loads({common!r})
_hosts = dict(Lab({lab_dir!r}).inventory_hosts())
_by_hw = {{data["hardware"]: name for name, data in _hosts.items()}}
_envs = {{_by_hw["icx-8380-2s"]: {venv!r}, _by_hw["clx-6248-2s"]: {venv!r}}}
if os.environ.get("XF_TF_MISSING_ENV"):
    _envs[_by_hw["clx-6248-2s"]] = "/opt/xeonfleet/envs/missing"
lab_hosts = [
    (name, {{**data, **_common, **({{"tf_target_env": _envs[name]}} if name in _envs else {{}})}})
    for name, data in _hosts.items()
]
"""


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                   cwd=cwd, check=True, capture_output=True)


def _source_repo(tmp: Path) -> Path:
    """tests/tf_workspace as a git repo with `main` and a `broken` branch whose genrule fails."""
    src = tmp / "tf_src"
    shutil.copytree(WORKSPACE, src, ignore=shutil.ignore_patterns("bazel-*", ".tf_configure*"))
    _git(src, "init", "-q", "-b", "main")
    _git(src, "add", "-A")
    _git(src, "commit", "-qm", "tf workspace")
    _git(src, "checkout", "-qb", "broken")
    build = src / "tensorflow/tools/pip_package/BUILD"
    build.write_text(build.read_text().replace(
        'cmd = """\n',
        'cmd = """\necho "error: simulated compiler failure in mkl_conv_ops.cc" >&2; exit 1\n', 1))
    _git(src, "commit", "-qam", "a patch that breaks the build")
    _git(src, "checkout", "-q", "main")
    return src


@pytest.fixture(scope="module")
def fleet(lab_factory, tmp_path_factory):
    lab = lab_factory([BUILDER, ICX, CLX])
    tmp = tmp_path_factory.mktemp("tf_wheel")
    names = {data["hardware"]: name for name, data in lab.inventory_hosts()}
    src = _source_repo(tmp)
    assert lab.exec(names[BUILDER], ["git", "clone", "-q", "--bare", str(src), BARE]).returncode == 0
    for hw in (ICX, CLX):
        assert lab.exec(names[hw], ["python3", "-m", "venv", VENV]).returncode == 0
    store = tmp / "store"
    common = {
        "tf_source_repo": f"file://{BARE}",
        "tf_source_ref": "main",
        "tf_wheel_store": str(store),
        "tf_build_packages": ["git", "build-essential", "python3-dev", "default-jdk-headless",
                              "bazel-bootstrap"],
        "tf_min_free_disk_gb": 1,
        "tf_ram_per_job_gb": 1,
    }
    inventory = tmp / "inventory.py"
    inventory.write_text(INVENTORY.format(common=json.dumps(common), lab_dir=str(lab.lab_dir),
                                          venv=VENV))
    return {"lab": lab, "names": names, "inventory": inventory, "store": store}


def deploy(fleet, *data: str, env: dict[str, str] | None = None) -> tuple[int, str, float]:
    argv = [PYINFRA, "-y", "-v", str(fleet["inventory"]), "deploys/tf_wheel.py"]
    for item in data:
        argv += ["--data", item]
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started


def tf_in(fleet, hardware: str) -> dict:
    probe = ("import json, tensorflow as tf; from tensorflow.python.util import _pywrap_util_port"
             " as p; print(json.dumps({'version': tf.__version__, 'mkl': p.IsMklEnabled(),"
             " **tf.sysconfig.get_build_info()}))")
    out = fleet["lab"].exec(fleet["names"][hardware], [f"{VENV}/bin/python", "-c", probe])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def metadata(fleet) -> dict:
    (entry,) = list(fleet["store"].glob("*/metadata.json"))
    return json.loads(entry.read_text())


def test_first_build_rolls_out_to_every_target(fleet):
    rc, out, seconds = deploy(fleet)
    print(f"first build + roll-out: {seconds:.1f} s")
    assert rc == 0, out
    meta = metadata(fleet)
    assert meta["bazel_version"] == "4.2.3"
    assert meta["target_microarch"] == "cascadelake"  # lowest common of icx + clx
    assert "--config=mkl_threadpool" in meta["command"] and "--copt=-O3" in meta["command"]
    assert meta["configure_env"]["CC_OPT_FLAGS"] == "-march=cascadelake"
    assert meta["builder"]  # built on the lab host, not the controller
    wheel = fleet["store"] / meta["cache_key"] / meta["wheel"]
    assert wheel.name.startswith("tensorflow-2.15.1-cp3")
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == meta["sha256"]
    for hw in (ICX, CLX):
        seen = tf_in(fleet, hw)
        assert seen["version"] == "2.15.1" and seen["mkl"] is True
        assert seen["eigen_threadpool"] is True and seen["openmp"] is False
        assert seen["cc_opt_flags"] == "-march=cascadelake"
    assert "building TensorFlow main" in out


def test_rerun_is_up_to_date_and_changes_nothing(fleet):
    before = metadata(fleet)
    rc, out, seconds = deploy(fleet)
    print(f"cached re-run: {seconds:.1f} s")
    assert rc == 0, out
    assert "is up to date" in out and "already installed" in out
    assert metadata(fleet)["built_at"] == before["built_at"]


def test_unknown_ref_fails_clearly_and_rolls_out_nothing(fleet):
    rc, out, _ = deploy(fleet, "tf_source_ref=no-such-branch")
    assert rc != 0
    assert "unknown ref 'no-such-branch'" in out and "fix tf_source_ref" in out
    assert "nothing rolled out" in out
    assert tf_in(fleet, ICX)["version"] == "2.15.1"


def test_not_enough_ram_for_the_jobs(fleet):
    rc, out, _ = deploy(fleet, "tf_source_ref=broken", "tf_build_jobs=100000")
    assert rc != 0
    assert "not enough RAM for tf_build_jobs=100000" in out and "lower tf_build_jobs" in out


def test_not_enough_disk(fleet):
    rc, out, _ = deploy(fleet, "tf_source_ref=broken", "tf_min_free_disk_gb=100000")
    assert rc != 0
    assert "not enough disk for the build" in out and "tf_min_free_disk_gb=100000" in out


def test_build_failure_shows_log_tail_and_rolls_out_nothing(fleet):
    installed = fleet["lab"].exec(fleet["names"][ICX], ["cat", f"{VENV}/.xeonfleet-tf-wheel.json"])
    rc, out, _ = deploy(fleet, "tf_source_ref=broken")
    assert rc != 0
    assert "simulated compiler failure in mkl_conv_ops.cc" in out  # from the fetched log tail
    assert "nothing rolled out" in out
    after = fleet["lab"].exec(fleet["names"][ICX], ["cat", f"{VENV}/.xeonfleet-tf-wheel.json"])
    assert after.stdout == installed.stdout
    assert tf_in(fleet, ICX)["version"] == "2.15.1"


def test_node_without_target_env_fails_alone(fleet):
    rc, out, _ = deploy(fleet, env={"XF_TF_MISSING_ENV": "1"})
    assert rc != 0
    assert "no target env at /opt/xeonfleet/envs/missing" in out
    assert "already installed" in out  # the icx target is still handled
