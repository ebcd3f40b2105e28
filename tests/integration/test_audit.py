"""`xeonfleet audit` and deploys/audit.py on a real lab fleet: verdicts, formats, bad inputs, drift.

One lab of five hosts is shared by the module. Tests that change a host say so; the one that stops
a host runs last.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab_ssh import ssh
from tests.prom_format import exposition_problems

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HARDWARE = ["icx-8380-2s", "icx-8380-2s-mistuned", "cloud-vm", "epyc-7763-2s", "icx-8380-2s"]
COMPLIANT, MISTUNED, CLOUD, EPYC, SPARE = (f"lab-0{i}" for i in range(1, 6))
RUNTIME_ENV = {f"runtime.env.{var}" for var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "KMP_AFFINITY",
                                                "KMP_BLOCKTIME", "KMP_SETTINGS", "TF_NUM_INTEROP_THREADS")}
# What icx-8380-2s-mistuned.yaml deliberately gets wrong, plus its DIMM layout differing from its ICX peers.
MISTUNED_FAILS = {"numa.snc", "memory.channels", "power.governor", "power.cstates", "power.turbo", "power.epp",
                  "power.epb", "numa.balancing", "os.sysctl.vm.swappiness", "os.sysctl.kernel.nmi_watchdog",
                  "fleet.memory.layout", "power.prefetcher.l2_streamer", "power.prefetcher.l2_adjacent",
                  "power.c1e", "power.c1_demotion", "power.uncore_max", "devices.nic_link"}
# What the tune deploy writes to a node; no hardware profile holds it, so the test writes it by ssh.
TUNED_OS = {"OMP_NUM_THREADS": "80", "TF_NUM_INTRAOP_THREADS": "80",
            "KMP_AFFINITY": "granularity=fine,verbose,compact,1,0", "KMP_BLOCKTIME": "1", "KMP_SETTINGS": "1",
            "TF_NUM_INTEROP_THREADS": "1"}


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory(HARDWARE)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("store") / "audit.db"


def run(lab, *args: str, db: Path | None = None, program: str = "xeonfleet") -> subprocess.CompletedProcess:
    env = {**os.environ, "XEONFLEET_LAB_DIR": str(lab.lab_dir)}
    if db is not None:
        env["XEONFLEET_DB"] = str(db)
    return subprocess.run([str(BIN / program), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def audit_json(lab, db) -> dict:
    """One JSON audit of the fleet after the compliant host got the OS state the tune deploy sets."""
    env_file = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in TUNED_OS.items())
    ssh(lab, COMPLIANT, f"printf %s {shlex.quote(env_file)} > /etc/profile.d/xeonfleet-ai.sh && "
                        "echo always > /sys/kernel/mm/transparent_hugepage/enabled")
    result = run(lab, "audit", "inventories/lab.py", "--format", "json", db=db)
    assert result.returncode == 1, result.stderr
    return json.loads(result.stdout)


def findings(report: dict, host: str) -> dict[str, dict]:
    return {f["rule"]: f for f in report["nodes"][host]["findings"]}


def test_compliant_host_passes_everything(audit_json):
    statuses = {rule: f["status"] for rule, f in findings(audit_json, COMPLIANT).items()}
    assert statuses.pop("numa.cxl_default_policy") == "n/a"  # an Ice Lake box has no CXL memory
    assert {r: s for r, s in statuses.items() if s != "pass"} == {}
    assert {"bios.hyperthreading", "numa.snc", "memory.channels", "power.cstates", "fleet.os.kernel"} <= set(statuses)


def test_mistuned_host_fails_exactly_the_mistuned_rules(audit_json):
    mine = findings(audit_json, MISTUNED)
    failed = {rule for rule, f in mine.items() if f["status"] == "fail"}
    assert failed == MISTUNED_FAILS | RUNTIME_ENV
    assert mine["numa.snc"]["remedy"].startswith("BIOS: Uncore Configuration > SNC")
    assert mine["memory.channels"]["remedy"].startswith("hardware: install one identical DIMM")
    assert "CPU0_DIMM_G1" in mine["memory.channels"]["evidence"]
    assert mine["power.governor"]["evidence"] == "powersave"
    assert mine["power.cstates"]["evidence"] == "enabled deeper than C1: C1E, C6"
    for rule in ("power.governor", "power.cstates", "power.turbo", "power.epp", "numa.balancing"):
        assert mine[rule]["remedy"] == f"pyinfra INVENTORY deploys/ai_node.py (sets {rule})"


def test_cloud_vm_guest_has_no_fail_its_owner_cannot_fix(audit_json):
    mine = findings(audit_json, CLOUD)
    hardware = {rule: f for rule, f in mine.items() if f["category"] in ("bios", "memory", "power")}
    assert [r for r, f in hardware.items() if f["status"] == "fail"] == []
    # A guest (cpuinfo flag "hypervisor"): BIOS and DIMMs belong to the hypervisor host, said once per node.
    assert mine["cpu.hypervisor"]["status"] == "n/a" and "guest" in mine["cpu.hypervisor"]["evidence"]
    for rule in ("memory.channels", "memory.matched", "memory.rated_speed", "bios.hyperthreading",
                 "bios.hwp_native", "power.driver"):
        assert mine[rule]["status"] == "n/a" and "set by the hypervisor host" in mine[rule]["evidence"], rule
    for rule in ("power.governor", "power.turbo"):
        assert mine[rule]["status"] == "n/a" and "no cpufreq" in mine[rule]["evidence"]
    # What the guest's owner can fix stays a FAIL (the cloud-vm profile ships THP always vs madvise ...).
    assert any(f["status"] == "fail" for f in mine.values() if f["category"] in ("os", "runtime"))


def test_epyc_is_not_an_intel_xeon_and_intel_rules_are_na(audit_json):
    mine = findings(audit_json, EPYC)
    assert mine["cpu.intel_xeon"]["status"] == "fail"
    assert "not an Intel Xeon" in mine["cpu.intel_xeon"]["evidence"]
    for rule in ("numa.snc", "power.driver", "bios.hwp_native", "cpu.fma_units", "power.epb"):
        assert mine[rule]["status"] == "n/a", rule


def test_every_format_renders(lab, tmp_path, db):
    outputs = {}
    for fmt in ("table", "junit", "html", "prom"):
        out = tmp_path / f"audit.{fmt}"
        result = run(lab, "audit", "inventories/lab.py", "--format", fmt, "-o", str(out), db=db)
        assert result.returncode == 1, result.stderr
        outputs[fmt] = out.read_text()
    assert "FAIL  power.governor" in outputs["table"] and "\x1b[" not in outputs["table"]
    assert "Fleet: 5 node(s) audited" in outputs["table"]
    junit = ET.fromstring(outputs["junit"])
    assert {s.get("name") for s in junit.findall("testsuite")} == {COMPLIANT, MISTUNED, CLOUD, EPYC, SPARE}
    assert junit.find(f".//testsuite[@name='{MISTUNED}']/testcase[@name='numa.snc']/failure") is not None
    assert "http://" not in outputs["html"] and "https://" not in outputs["html"]
    assert outputs["html"].count("<svg") >= 4 and f'id="node-{MISTUNED}"' in outputs["html"]
    assert exposition_problems(outputs["prom"]) == []
    assert (f'xeonfleet_rule_status{{category="power",host="{MISTUNED}",rule="power.governor",status="fail"}} 1.0'
            in outputs["prom"])


def test_profile_from_group_data_and_cli_override(lab, tmp_path, db):
    hosts = {name: data for name, data in lab.inventory_hosts()}
    inventory = tmp_path / "grouped.py"
    inventory.write_text(
        "import json\n"
        f"_hosts = json.loads({json.dumps(json.dumps(hosts))})\n"
        f"trainers = ([({COMPLIANT!r}, _hosts[{COMPLIANT!r}])], {{'xeonfleet_profile': 'training'}})\n"
        f"servers = [({EPYC!r}, {{**_hosts[{EPYC!r}], 'xeonfleet_profile': 'inference-online'}})]\n")
    chosen = json.loads(run(lab, "audit", str(inventory), "--format", "json", db=db).stdout)
    assert {h: n["profile"] for h, n in chosen["nodes"].items()} == {COMPLIANT: "training", EPYC: "inference-online"}
    forced = json.loads(run(lab, "audit", str(inventory), "--format", "json", "--profile", "inference-offline",
                            db=db).stdout)
    assert {n["profile"] for n in forced["nodes"].values()} == {"inference-offline"}


@pytest.fixture
def tripwire() -> Iterator[socket.socket]:
    """A listening socket posing as a host: a broken input must be rejected before anyone connects."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    yield listener
    listener.close()


def _untouched(listener: socket.socket) -> bool:
    try:
        listener.accept()[0].close()
    except BlockingIOError:
        return True
    return False


BROKEN_PROFILES = {
    "bad-yaml": ("bios:\n  hyperthreading: [true\n", r"bad-yaml.yaml:\d+: invalid YAML"),
    "unknown-key": ("include: xeon-ai-base\npower:\n  turbo_boost: true\n", r"unknown-key.yaml:3: unknown key `power.turbo_boost`"),
    "wrong-type": ("include: xeon-ai-base\npower:\n  turbo: 'yes'\n", r"wrong-type.yaml:3: `power.turbo` must be true or false"),
    "cycle-a": ("include: cycle-b\n", r"include cycle"),
    "missing-include": ("include: no-such-parent\n", r"missing-include.yaml:1: included profile `no-such-parent` not found"),
}


@pytest.mark.parametrize("name", sorted(BROKEN_PROFILES))
def test_broken_profile_fails_before_contacting_hosts(lab, tmp_path, tripwire, name):
    (tmp_path / "cycle-b.yaml").write_text("include: cycle-a\n")
    text, message = BROKEN_PROFILES[name]
    profile = tmp_path / f"{name}.yaml"
    profile.write_text(text)
    inventory = tmp_path / "tripwire.py"
    inventory.write_text(f"hosts = [('trap', {{'ssh_hostname': '127.0.0.1', 'ssh_port': {tripwire.getsockname()[1]}}})]\n")
    result = run(lab, "audit", str(inventory), "--profile", str(profile))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert _untouched(tripwire)


def test_unknown_profile_empty_and_missing_inventory(lab, tmp_path):
    unknown = run(lab, "audit", "inventories/lab.py", "--profile", "no-such-profile")
    assert unknown.returncode == 2 and "no such profile (known: " in unknown.stderr
    empty = tmp_path / "empty.py"
    empty.write_text("hosts = []\n")
    for args, message in (([str(empty)], "has no hosts"), ([str(tmp_path / "absent.py")], "not found"), ([], "give either")):
        result = run(lab, "audit", *args)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_offline_sysroot_audit(lab, db):
    result = run(lab, "audit", "--sysroot", str(REPO / "tests/unit/fixtures/cloud-vm"), "--format", "json", db=db)
    report = json.loads(result.stdout)
    assert result.returncode == 1 and len(report["nodes"]) == 1
    (node,) = report["nodes"].values()
    # The fixture is a guest (flag "hypervisor"): its DIMMs are the hypervisor host's business.
    assert {f["status"] for f in node["findings"] if f["category"] == "memory"} == {"n/a"}


def test_pyinfra_deploy_prints_the_same_findings(lab, db):
    result = run(lab, "-y", "inventories/lab.py", "deploys/audit.py", "--limit", MISTUNED, program="pyinfra")
    assert result.returncode == 0, result.stderr
    deploy_fails = {line.split()[1] for line in (result.stdout + result.stderr).splitlines()
                    if line.strip().startswith("FAIL ")}
    assert deploy_fails == (MISTUNED_FAILS | RUNTIME_ENV) - {"fleet.memory.layout"}


def test_since_last_reports_a_governor_change(lab, tmp_path):
    history = tmp_path / "history.db"
    first = run(lab, "audit", "inventories/lab.py", "--format", "json", "--since", "last", db=history)
    assert all(d["previous_run"] is None for d in json.loads(first.stdout)["drift"])
    ssh(lab, SPARE, "for f in /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor; do echo powersave > $f; done")
    second = run(lab, "audit", "inventories/lab.py", "--since", "last", db=history)
    assert second.returncode == 1
    drift = second.stdout[second.stdout.index("Changes since the previous audit:"):]
    assert f"{SPARE}: 1 change(s)" in drift
    assert "power.governor: PASS -> FAIL  [performance] -> [powersave]" in drift
    assert f"{COMPLIANT}: no change" in drift


def test_unreachable_host_is_reported_while_others_are_audited(lab, db):
    lab.stop(SPARE)
    result = run(lab, "audit", "inventories/lab.py", "--format", "json", db=db)
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert sorted(report["nodes"]) == [COMPLIANT, MISTUNED, CLOUD, EPYC]
    assert report["unreachable"][SPARE].startswith("unreachable")
    assert f"{SPARE}: unreachable" in result.stderr
