"""Vendor-named DIMM slots end to end: Dell, HPE and Supermicro lab hosts over real SSH.

Each host is a half-built server whose SMBIOS names its slots the way its vendor does (hardware/
dell-r740-2s-partial.yaml, hpe-dl380-gen10-2s-partial.yaml, supermicro-x12dpu-2s-partial.yaml). The real
dmidecode inside the host must show those names, the live probe and a snapshot of the host must give the
same facts, and the audit must name the empty channels by the vendor's own slot names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.facts_expect import expect_mismatches
from tests.lab_ssh import ssh
from xeonfleet.lab.hardware import load_hardware

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HARDWARE = ["dell-r740-2s-partial", "hpe-dl380-gen10-2s-partial", "supermicro-x12dpu-2s-partial"]
DELL, HPE, SUPERMICRO = (f"lab-0{i}" for i in range(1, 4))
# What each half-built host's guide says to fill: the first (white) slot of each empty Dell channel, both
# slots of HPE's empty pair (HPE does not say which is first), Supermicro's first slots of G and H.
FILL = {DELL: "fill A5, A6, B5, B6", HPE: "fill PROC 1 DIMM 11, PROC 1 DIMM 12", SUPERMICRO: "fill P1-DIMMG1, P1-DIMMH1"}


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory(HARDWARE)


def run(lab, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XEONFLEET_LAB_DIR": str(lab.lab_dir)}
    return subprocess.run([str(BIN / "xeonfleet"), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def live_facts(lab) -> dict:
    result = run(lab, "facts", "inventories/lab.py", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def audit(lab) -> dict:
    result = run(lab, "audit", "inventories/lab.py", "--format", "json")
    assert result.returncode == 1, result.stderr  # the half-built hosts fail
    return {host: {f["rule"]: f for f in node["findings"]} for host, node in json.loads(result.stdout)["nodes"].items()}


def test_dmidecode_in_each_host_shows_the_vendors_slot_names(lab):
    for host in lab.hosts:
        text = ssh(lab, host.name, "dmidecode -t 1 -t 17")
        hw = load_hardware(host.hardware)
        locators = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("\tLocator: ")]
        assert locators == [slot.locator for slot in hw.dimm_slots()], host.name
        assert f"Manufacturer: {hw.system.manufacturer}" in text and f"Product Name: {hw.system.product}" in text


def test_live_facts_place_every_slot_where_the_guide_says(lab, live_facts):
    for host in lab.hosts:
        hw = load_hardware(host.hardware)
        facts = live_facts[host.name]
        assert expect_mismatches(facts, hw.expect) == [], host.name
        truth = [(s.locator, s.socket, s.channel) for s in hw.dimm_slots()]
        assert [(d["locator"], d["socket"], d["channel"]) for d in facts["memory"]["dimms"]] == truth


def test_snapshot_gives_the_same_facts_offline(lab, live_facts, tmp_path):
    for host in lab.hosts:
        archive = tmp_path / f"{host.name}.tar.gz"
        result = run(lab, "snapshot", host.name, "-i", "inventories/lab.py", "-o", str(archive))
        assert result.returncode == 0, result.stderr
        root = tmp_path / host.name
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
        offline = run(lab, "facts", "--sysroot", str(root), "--json")
        assert offline.returncode == 0, offline.stderr
        assert json.loads(offline.stdout) == live_facts[host.name], host.name


def test_audit_names_the_empty_channels_by_the_vendors_slot_names(audit):
    for host, fill in FILL.items():
        channels = audit[host]["memory.channels"]
        assert channels["status"] == "fail" and channels["evidence"].endswith(fill), channels
        assert channels["remedy"].startswith("hardware: install one identical DIMM")
    assert audit[DELL]["memory.channels"]["evidence"] == "socket 0: 4/6, socket 1: 4/6; fill A5, A6, B5, B6"
    assert audit[HPE]["memory.channels"]["evidence"].startswith("socket 0: 5/6, socket 1: 6/6;")


def test_audit_judges_balance_dpc_and_matching_per_vendor(audit):
    assert audit[DELL]["memory.socket_balance"]["status"] == "pass"  # both sockets equally half-built
    for host, fill in ((HPE, "fill PROC 1 DIMM 11, PROC 1 DIMM 12"), (SUPERMICRO, "fill P1-DIMMG1, P1-DIMMH1")):
        balance = audit[host]["memory.socket_balance"]
        assert balance["status"] == "fail" and f"socket 0: {fill} to match socket 1" in balance["evidence"]
    for host in FILL:
        assert audit[host]["memory.dimms_per_channel"]["status"] == "pass"  # HPE all 2DPC, the others all 1DPC
        assert audit[host]["memory.matched"]["status"] == "pass"
    assert audit[HPE]["memory.dimms_per_channel"]["evidence"] == "2 DIMM(s) per channel on all 11 populated channels"
