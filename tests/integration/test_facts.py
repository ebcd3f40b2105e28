"""`xeonfleet facts`, `xeonfleet snapshot` and a pyinfra deploy using facts/, on real lab hosts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.facts_expect import expect_mismatches
from xeonfleet.lab.hardware import load_hardware

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PROFILES = ["icx-8380-2s-mistuned", "spr-8480-2s", "cloud-vm"]


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory(PROFILES)


def run(lab, program: str, *args: str) -> subprocess.CompletedProcess:
    """A real process from the repo root, pointed at the test lab."""
    env = {**os.environ, "XEONFLEET_LAB_DIR": str(lab.lab_dir)}
    return subprocess.run([str(BIN / program), *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def live_facts(lab) -> dict:
    result = run(lab, "xeonfleet", "facts", "inventories/lab.py", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_facts_match_each_hosts_profile(lab, live_facts):
    assert sorted(live_facts) == sorted(host.name for host in lab.hosts)
    for host in lab.hosts:
        problems = expect_mismatches(live_facts[host.name], load_hardware(host.hardware).expect)
        assert problems == [], f"{host.name} ({host.hardware})"


def test_fleet_table_has_a_row_per_host(lab):
    result = run(lab, "xeonfleet", "facts", "inventories/lab.py")
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    assert rows[0].split()[:3] == ["host", "model", "microarch"]
    by_host = {row.split()[0]: row for row in rows[1:]}
    for host in lab.hosts:
        microarch = load_hardware(host.hardware).expect["cpu.microarch"]
        assert microarch in by_host[host.name]


def test_one_host_at_a_time_gathers_the_same_facts(lab, live_facts):
    """--parallel 1: the hosts queue for the one slot and each answers as when all ran at once; 0 is refused."""
    result = run(lab, "xeonfleet", "facts", "inventories/lab.py", "--json", "--parallel", "1")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout).keys() == live_facts.keys()
    for host, facts in json.loads(result.stdout).items():
        assert facts["cpu"] == live_facts[host]["cpu"] and facts["numa"] == live_facts[host]["numa"], host
    refused = run(lab, "xeonfleet", "facts", "inventories/lab.py", "--parallel", "0")
    assert refused.returncode == 2 and "--parallel" in refused.stderr and "Traceback" not in refused.stderr


def test_snapshot_gives_the_same_facts_offline(lab, live_facts, tmp_path):
    host = lab.hosts[0]
    archive = tmp_path / "snap.tar.gz"
    result = run(lab, "xeonfleet", "snapshot", host.name, "-i", "inventories/lab.py", "-o", str(archive))
    assert result.returncode == 0, result.stderr
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "root", filter="data")
    offline = run(lab, "xeonfleet", "facts", "--sysroot", str(tmp_path / "root"), "--json")
    assert offline.returncode == 0, offline.stderr
    assert json.loads(offline.stdout) == live_facts[host.name]


def test_pyinfra_deploy_reads_the_repo_facts(lab, live_facts):
    result = run(lab, "pyinfra", "-y", "inventories/lab.py", "tests/deploys/facts_check.py")
    assert result.returncode == 0, result.stdout + result.stderr
    for host in lab.hosts:
        seen = json.loads((host.upper_dir / "etc/xeonfleet-facts-check.json").read_text())
        facts = live_facts[host.name]
        assert seen["topology"]["physical_cores"] == facts["cpu"]["physical_cores"]
        assert seen["isa"]["microarch"] == load_hardware(host.hardware).expect["cpu.microarch"]
        assert seen["numa"] == facts["numa"] and seen["memory"] == facts["memory"]
        assert seen["governor"] == facts["power"]["governor"]
        assert seen["cstates"] == facts["power"]["cstates"]
        assert (seen["turbo"], seen["epp"]) == (facts["power"]["turbo_enabled"], facts["power"]["epp"])
        assert seen["thp"]["enabled"] == facts["os"]["thp"]
        assert seen["sysctls"] == facts["os"]["sysctl"]


def test_unreachable_host_is_reported_and_the_others_gathered(lab):
    down = lab.hosts[-1].name
    lab.stop(down)
    try:
        result = run(lab, "xeonfleet", "facts", "inventories/lab.py", "--json")
    finally:
        lab.start(down)
    assert result.returncode == 2
    assert sorted(json.loads(result.stdout)) == sorted(h.name for h in lab.hosts if h.name != down)
    assert [line for line in result.stderr.splitlines() if line.startswith(f"{down}: unreachable")]
