"""xeonfleet installed from its wheel, run from a directory that is not the clone.

The wheel is built once per session from a copy of the working tree (offline: --no-build-isolation with
this venv's setuptools), then installed with --no-deps into a fresh venv whose only other packages are
this venv's (a .pth to a farm of links to .venv's site-packages, minus the editable xeonfleet), so what
runs is the wheel's code and data and nothing of the clone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
# This venv's own xeonfleet (the editable install of the clone) must stay invisible to the wheel's venv.
EDITABLE = ("__editable__", "xeonfleet", "__pycache__")


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of the working tree as it is (tracked and new files), built from a copy: setuptools'
    in-tree build/ dir would otherwise appear in the clone other users work in."""
    root = tmp_path_factory.mktemp("wheel")
    files = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, check=True)
    for name in filter(None, files.stdout.split("\0")):
        if (REPO / name).is_file():
            (root / "src" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / "src" / name)
    built = _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                  "--disable-pip-version-check", "-w", str(root / "dist"), str(root / "src")])
    assert built.returncode == 0, built.stdout + built.stderr
    return next((root / "dist").glob("xeonfleet-*.whl"))


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a fresh venv holding the wheel, its dependencies reachable from this venv."""
    root = tmp_path_factory.mktemp("wheel-venv")
    venv, farm = root / "venv", root / "deps"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    farm.mkdir()
    for entry in SITE_PACKAGES.iterdir():
        if not entry.name.startswith(EDITABLE) and entry.suffix != ".pth":
            (farm / entry.name).symlink_to(entry)
    python = venv / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True)
    (Path(site.stdout.strip()) / "xeonfleet-deps.pth").write_text(f"{farm}\n")
    done = _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                 "--disable-pip-version-check", str(wheel)])
    assert done.returncode == 0, done.stdout + done.stderr
    return venv / "bin"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory that is not the clone, with a user's own profile and hardware profile in it."""
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "site.yaml").write_text("include: xeon-ai-base\nos:\n  thp: never\n")
    (tmp_path / "hardware").mkdir()
    (tmp_path / "hardware" / "site-vm.yaml").write_text("include: cloud-vm\ndescription: our VM flavour\n")
    return tmp_path


def _xeonfleet(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The installed console script with none of the clone's settings; its default store lands in cwd."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("XEONFLEET_", "PYTHON"))}
    return _run([str(installed / "xeonfleet"), *args], cwd=cwd, env={**env, "XDG_DATA_HOME": str(cwd / "data")})


def test_the_wheel_ships_the_package_and_its_data_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"xeonfleet", "xeonfleet-0.1.0.dist-info"}, "a stray top-level"
    for data in ("data/profiles/xeon-ai-base.yaml", "data/hardware/icx-8380-2s.yaml", "templates/xeonfleet-tune.sh.j2",
                 "data/benchmarks/gemm-fp32.yaml", "node/runners/gemm_fp32.py", "node/probe.sh", "lab/host_init.sh",
                 "frameworks/compat.yaml", "audit/formats/audit.html.j2", "facts/cpu.py", "tune/entry.py"):
        assert f"xeonfleet/{data}" in names, data


def test_installed_package_imports_its_facts_and_deploys_from_its_own_files(installed: Path, elsewhere: Path) -> None:
    code = ("import xeonfleet, importlib.util; from xeonfleet.facts.cpu import CpuTopology; "
            "from xeonfleet.tune.deploy import tune_ai_node; from xeonfleet.tune.entry import ai_node; "
            "print(xeonfleet.__file__); "
            "print(importlib.util.find_spec('facts'))")
    out = _run([str(installed / "python"), "-c", code], cwd=elsewhere)
    assert out.returncode == 0, out.stderr
    package, facts = out.stdout.split()
    assert Path(package).is_relative_to(installed.parent) and facts == "None"


def test_facts_and_audit_of_this_machine_from_any_directory(installed: Path, elsewhere: Path) -> None:
    facts = _xeonfleet(installed, elsewhere, "facts", "--sysroot", "/", "--format", "json")
    assert facts.returncode == 0, facts.stderr
    assert '"physical_cores"' in facts.stdout
    # The user's profile in ./profiles includes the packaged xeon-ai-base; 1 = some rule fails, 2 = a problem.
    audit = _xeonfleet(installed, elsewhere, "audit", "--sysroot", "/", "--profile", "site")
    assert audit.returncode in (0, 1), audit.stdout + audit.stderr
    assert "os.thp" in audit.stdout and "1 node(s) audited" in audit.stdout
    unknown = _xeonfleet(installed, elsewhere, "audit", "--sysroot", "/", "--profile", "nope")
    assert unknown.returncode == 2 and "site" in unknown.stderr and "xeon-ai-base" in unknown.stderr, unknown.stderr


@pytest.mark.lab
def test_lab_up_and_down_with_a_users_hardware_profile(installed: Path, elsewhere: Path, lab_port_base) -> None:
    lab_dir = elsewhere / "lab"
    port = str(lab_port_base(2))
    up = _xeonfleet(installed, elsewhere, "lab", "up", "--hosts", "2", "--hardware", "site-vm",
                    "--hardware", "icx-8380-2s", "--port-base", port, "--lab-dir", str(lab_dir))
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "2/2 hosts up" in up.stderr
        status = _xeonfleet(installed, elsewhere, "lab", "status", "--lab-dir", str(lab_dir))
        rows = [line.split() for line in status.stdout.splitlines()[1:]]
        assert [(row[1], row[-1]) for row in rows] == [("site-vm", "up"), ("icx-8380-2s", "up")], status.stdout
    finally:
        down = _xeonfleet(installed, elsewhere, "lab", "down", "--lab-dir", str(lab_dir))
    assert down.returncode == 0 and "2 hosts stopped" in down.stdout, down.stdout + down.stderr


@pytest.mark.lab
def test_a_light_bench_run_from_the_wheel_keeps_its_results_in_the_users_data_dir(
        installed: Path, elsewhere: Path, bench_env: Path, lab_port_base) -> None:
    lab_dir = elsewhere / "lab"
    up = _xeonfleet(installed, elsewhere, "lab", "up", "--hosts", "1", "--hardware", "icx-8380-2s",
                    "--port-base", str(lab_port_base(1)), "--lab-dir", str(lab_dir))
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        (elsewhere / "fleet.py").write_text(
            "from xeonfleet.lab.fleet import Lab\n"
            f"lab_hosts = [(name, {{**data, 'xeonfleet_bench_env': {str(bench_env)!r}}})\n"
            f"             for name, data in Lab({str(lab_dir)!r}).inventory_hosts()]\n")
        run = _xeonfleet(installed, elsewhere, "bench", "run", "fleet.py", "--jobs", "light")
        assert run.returncode == 0, run.stdout + run.stderr  # a first run: complete, no baseline to regress from
    finally:
        _xeonfleet(installed, elsewhere, "lab", "down", "--lab-dir", str(lab_dir))
    data = elsewhere / "data" / "xeonfleet"
    assert sorted(path.name for path in data.glob("bench/raw/*/lab-01/*.json")) == [
        "faiss-hnsw.json", "gemm-fp32.json", "matmul-isa.json", "mem-bandwidth.json", "multi-instance.json",
        "numa-local.json"]
    assert (data / "results.db").is_file()
    # What the controller writes about the fleet is its owner's alone.
    for path in [data / "results.db", *data.glob("bench/raw/*/pyinfra.log"), *data.glob("bench/raw/*/lab-01/*.json")]:
        assert path.stat().st_mode & 0o777 == 0o600, path
