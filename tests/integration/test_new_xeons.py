"""The parts platform teams buy now, booted as lab hosts and audited over SSH: Emerald Rapids, Granite
Rapids-SP (6700P, 8 channels), Granite Rapids-AP (6900P, 12 channels of MRDIMM, SNC3), Sierra Forest-SP
(E-cores) and a Sapphire Rapids with a CXL memory node. A fully populated board passes memory.channels,
and no rule FAILs where the part's own spec says the node is right.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HARDWARE = ["emr-8592-2s", "gnr-6767p-2s", "srf-6780e-2s", "gnr-6980p-2s-snc3", "spr-8480-2s-cxl"]
EMR, GNR_SP, SRF, GNR_AP, SPR_CXL = (f"lab-0{i}" for i in range(1, 6))
# The OS and runtime state the tune deploy writes: no hardware profile holds it, so these FAIL on a
# freshly booted lab host of any generation; everything else is the hardware's own.
TUNED_BY_THE_DEPLOY = {"os.thp", "runtime.env.OMP_NUM_THREADS", "runtime.env.TF_NUM_INTRAOP_THREADS",
                       "runtime.env.KMP_AFFINITY", "runtime.env.KMP_BLOCKTIME", "runtime.env.KMP_SETTINGS",
                       "runtime.env.TF_NUM_INTEROP_THREADS"}
# Sierra Forest has no AVX-512 or AMX: the AI profile's ISA asks are true FAILs (the remedy is another
# CPU), not a misreading.
SRF_HAS_NO_AVX512 = {"cpu.isa", "cpu.fma_units"}


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory(HARDWARE)


def audit(lab, *args: str) -> dict:
    env = {**os.environ, "XEONFLEET_LAB_DIR": str(lab.lab_dir)}
    result = subprocess.run([str(BIN / "xeonfleet"), "audit", "inventories/lab.py", "--format", "json", *args],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def report(lab) -> dict:
    return audit(lab)


def findings(report: dict, host: str) -> dict[str, dict]:
    return {f["rule"]: f for f in report["nodes"][host]["findings"]}


@pytest.mark.parametrize(("host", "channels"), [(EMR, 8), (GNR_SP, 8), (SRF, 8), (GNR_AP, 12), (SPR_CXL, 8)])
def test_a_fully_populated_board_passes_memory_channels(report: dict, host: str, channels: int) -> None:
    mine = findings(report, host)
    assert mine["memory.channels"]["status"] == "pass", mine["memory.channels"]
    assert mine["memory.channels"]["evidence"] == f"socket 0: {channels}/{channels}, socket 1: {channels}/{channels}"
    assert mine["memory.rated_speed"]["status"] in ("pass", "unknown"), mine["memory.rated_speed"]


@pytest.mark.parametrize(("host", "allowed"), [(EMR, set()), (GNR_SP, set()), (SRF, SRF_HAS_NO_AVX512),
                                               (GNR_AP, {"numa.snc"}), (SPR_CXL, set())])
def test_no_fail_the_parts_spec_contradicts(report: dict, host: str, allowed: set[str]) -> None:
    # fleet.* rules compare the peers of one group, and this group mixes five generations on purpose.
    failed = {rule for rule, f in findings(report, host).items() if f["status"] == "fail" and not rule.startswith("fleet.")}
    assert failed - TUNED_BY_THE_DEPLOY == allowed


def test_sierra_forest_reads_as_e_cores_without_smt(report: dict) -> None:
    mine = findings(report, SRF)
    assert mine["bios.hyperthreading"]["status"] == "n/a"
    assert "no SMT" in mine["bios.hyperthreading"]["evidence"]
    assert mine["power.cstates"]["status"] == "pass"  # C6S and C6SP are deeper than C1 and off


def test_granite_rapids_c6p_counts_as_a_deep_state(report: dict) -> None:
    assert findings(report, GNR_SP)["power.cstates"]["status"] == "pass"


def test_granite_rapids_ap_snc3_fails_the_guides_off_but_passes_the_xeon6_profile(lab, report: dict) -> None:
    base = findings(report, GNR_AP)["numa.snc"]
    assert base["status"] == "fail" and base["evidence"] == "on (3 NUMA nodes per socket, SNC3)"
    xeon6 = findings(audit(lab, "--profile", "xeon6-ai"), GNR_AP)
    assert xeon6["numa.snc"]["status"] == "pass" and xeon6["numa.snc"]["expected"] == "off or SNC2 or SNC3"
    assert {rule for rule, f in xeon6.items() if f["status"] == "fail"} <= TUNED_BY_THE_DEPLOY


def test_mrdimm_8800_on_the_6900p_is_its_platform_speed(report: dict) -> None:
    speed = findings(report, GNR_AP)["memory.rated_speed"]
    assert speed["status"] == "pass" and "platform maximum 8800 MT/s" in speed["evidence"], speed


def test_the_cxl_node_is_off_the_default_allocation_path(report: dict) -> None:
    cxl = findings(report, SPR_CXL)["numa.cxl_default_policy"]
    assert cxl["status"] == "pass", cxl
    assert findings(report, EMR)["numa.cxl_default_policy"]["status"] == "n/a"


def test_amx_fp16_seen_through_cpuid_where_the_kernel_does_not_print_it(lab) -> None:
    env = {**os.environ, "XEONFLEET_LAB_DIR": str(lab.lab_dir)}
    result = subprocess.run([str(BIN / "xeonfleet"), "facts", "inventories/lab.py", "--json"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300, check=True)
    cpu = json.loads(result.stdout)[GNR_SP]["cpu"]
    assert "amx_fp16" not in cpu["flags"]
    assert (cpu["isa"]["amx_fp16"], cpu["isa_source"]["amx_fp16"], cpu["avx10"]) == (
        True, "cpuid", {"version": 1, "vector_bits": 512})
