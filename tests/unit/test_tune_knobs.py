"""The new knob areas on real facts (probe + parsers over sysroots from the lab hardware profiles):
MSR bits per microarch, uncore limits, the PCIe link rules, and the probe reading what the knobs need."""

from __future__ import annotations

import copy
import re
import shlex
from functools import lru_cache
from pathlib import Path

import pytest

from xeonfleet.knobs.status import FAIL, NA, PASS, UNKNOWN
from xeonfleet.knobs import knobs_for, msr, uncore
from xeonfleet.lab.hardware import load_hardware
from xeonfleet.lab.sysroot import build_sysroot
from xeonfleet.parsers.node import node_facts_from_lines
from xeonfleet.audit.pcie import check_nic_links
from xeonfleet.facts.probe import PROBE_PATH, run_probe_local
from xeonfleet.profiles import load_profile
from xeonfleet.audit.rules import evaluate_node
from xeonfleet.tune.plan import plan_host

BASE = load_profile("xeon-ai-base")


@lru_cache(maxsize=None)
def _facts_cached(hardware: str, root: str) -> dict:
    build_sysroot(load_hardware(hardware), Path(root), "unit")
    return node_facts_from_lines(run_probe_local(root))


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory):
    def get(hardware: str) -> dict:
        return copy.deepcopy(_facts_cached(hardware, str(tmp_path_factory.getbasetemp() / f"knobs-{hardware}")))

    return get


def verdicts(host_facts: dict, profile=BASE) -> dict[str, tuple[str, str]]:
    return {f.rule: (f.status, f.evidence) for f in evaluate_node("h", host_facts, profile)}


def test_probe_reads_the_msrs_the_bit_table_uses() -> None:
    (line,) = re.findall(r'^MSRS="([^"]*)"', PROBE_PATH.read_text(), re.M)
    assert sorted(int(a, 16) for a in line.split()) == list(msr.ADDRESSES)


def test_mistuned_msrs_and_uncore_fail_and_the_plan_sets_them(facts) -> None:
    host = facts("icx-8380-2s-mistuned")
    assert host["power"]["msr"] == {"0x1a4": 0x3, "0x1fc": 0x2904005F, "0xe2": 0x14000403}
    result = verdicts(host)
    assert result["power.prefetcher.l2_streamer"] == (FAIL, "off") and result["power.c1e"] == (FAIL, "on")
    assert result["power.prefetcher.dcu_ip"] == (PASS, "on")
    assert result["power.uncore_max"] == (FAIL, "1800000, 1800000")
    plan = plan_host("h", BASE, host, {})
    steps = {s.knob.id: s for s in plan.steps if not s.in_place}
    assert {"power.prefetcher.l2_streamer", "power.c1e", "power.c1_demotion", "power.uncore_max"} <= set(steps)
    c1e = steps["power.c1e"]
    assert c1e.knob.setter.command(c1e.wanted, host).endswith("set-msr-bit 0x1fc 1 0")
    assert c1e.knob.record_command(c1e.wanted, host).endswith("save-msr power.c1e 0x1fc")
    assert steps["power.uncore_max"].wanted == [2400000, 2400000]  # max = each die's initial_max


def test_unknown_microarch_reads_unknown_and_is_never_written(facts) -> None:
    host = facts("icx-8380-2s-mistuned")
    host["cpu"]["microarch"], host["cpu"]["microarch_source"] = None, "flags"
    result = verdicts(host)
    assert result["power.c1e"][0] == UNKNOWN and "no MSR bit table for microarch unknown" in result["power.c1e"][1]
    plan = plan_host("h", BASE, host, {})
    assert "power.c1e" in plan.unknown and not any(s.knob.id.startswith(("power.c1", "power.prefetcher"))
                                                   for s in plan.steps)


def test_msr_knobs_are_na_under_a_hypervisor_on_amd_and_when_locked(facts) -> None:
    guest = facts("icx-8380-2s")
    guest["cpu"]["hypervisor"] = "kvm"
    assert verdicts(guest)["power.c1e"] == (NA, "under a hypervisor (kvm) MSRs are the host's")
    assert verdicts(facts("epyc-7763-2s"))["power.prefetcher.dcu_ip"][0] == NA
    locked = facts("icx-8380-2s-mistuned")
    locked["power"]["msr"]["0xe2"] |= 1 << msr.CST_CONFIG_LOCK_BIT
    status, evidence = verdicts(locked)["power.c1_demotion"]
    assert status == NA and "locked by the BIOS" in evidence
    assert verdicts(locked)["power.c1e"][0] == FAIL  # 0x1fc is not behind that lock


def test_a_prefetcher_the_microarch_lacks_is_na(facts, tmp_path: Path) -> None:
    custom = tmp_path / "amp.yaml"
    custom.write_text("include: xeon-ai-base\npower:\n  prefetchers: {l2_amp: false}\n")
    profile = load_profile(str(custom))
    assert verdicts(facts("icx-8380-2s"), profile)["power.prefetcher.l2_amp"][0] == NA
    assert verdicts(facts("spr-8480-2s"), profile)["power.prefetcher.l2_amp"] == (FAIL, "on")


def test_uncore_limits_resolve_per_die() -> None:
    die = {"initial_min_khz": 800000, "initial_max_khz": 2400000}
    assert [uncore.resolve("min", asked, die) for asked in ("max", "default", 1600000)] == [2400000, 800000, 1600000]


def test_uncore_on_the_msr_drivers_layout_sets_and_records_each_package_die(facts) -> None:
    host = facts("icx-8380-2s-mistuned")
    (step,) = [s for s in plan_host("h", BASE, host, {"xeonfleet_skip": ["os.tool"]}).steps
               if s.knob.id == "power.uncore_max"]
    files = [f"/sys/devices/system/cpu/intel_uncore_frequency/package_0{p}_die_00/max_freq_khz" for p in (0, 1)]
    assert shlex.split(step.knob.record_command(step.wanted, host))[4:] == files
    assert [f"for f in {path}; do" in step.knob.setter.command(step.wanted, host) for path in files] == [True, True]


def test_uncore_limit_outside_the_firmware_range_is_refused(facts, tmp_path: Path) -> None:
    custom = tmp_path / "uncore.yaml"
    custom.write_text("include: xeon-ai-base\npower:\n  uncore_max: 3000000\n")
    plan = plan_host("h", load_profile(str(custom)), facts("icx-8380-2s"), {"xeonfleet_skip": ["os.tool"]})
    assert plan.errors == ["power.uncore_max 3000000 kHz is outside package_00_die_00's firmware range "
                           "800000-2400000 kHz; use max, default or a value in that range"]


def test_nic_trained_below_its_maximum_fails_naming_it_and_its_node(facts) -> None:
    status, evidence = verdicts(facts("icx-8380-2s-mistuned"))["devices.nic_link"]
    assert status == FAIL and evidence.startswith("ens1f0 16.0 GT/s x8 of 16.0 GT/s x16, NUMA node 0")
    assert verdicts(facts("spr-8480-2s"))["devices.nic_link"][0] == PASS
    assert check_nic_links({"nics": [{"name": "ens5", "operstate": "up", "pcie": None}]}, True)[0] == UNKNOWN


def test_every_new_knob_is_recorded_before_it_is_set(facts) -> None:
    host = facts("spr-8480-2s")
    for knob in knobs_for(BASE):
        if knob.id.startswith(("power.prefetcher", "power.c1", "power.uncore")):
            record = knob.record_command(knob.wanted(BASE, host), host)
            assert record.startswith("python3 /usr/local/lib/xeonfleet/state.py save-"), knob.id
            assert knob.setter.boot, f"{knob.id}: firmware resets it at boot, so the boot script must re-apply it"


def test_pyinfra_facts_of_the_new_knobs_read_their_probe_part(tmp_path_factory: pytest.TempPathFactory) -> None:
    """facts.power.Msrs / Uncore and facts.devices.PcieLinks run the probe limited to their part."""
    from xeonfleet.facts.devices import PcieLinks
    from xeonfleet.facts.power import Msrs, Uncore

    root = tmp_path_factory.getbasetemp() / "knobs-facts-mistuned"
    build_sysroot(load_hardware("icx-8380-2s-mistuned"), root, "unit")
    assert Msrs().process(run_probe_local(root, Msrs.parts)) == {"0x1a4": 0x3, "0x1fc": 0x2904005F, "0xe2": 0x14000403}
    assert [die["max_khz"] for die in Uncore().process(run_probe_local(root, Uncore.parts))] == [1800000, 1800000]
    links = PcieLinks().process(run_probe_local(root, PcieLinks.parts))
    assert links["ens1f0"]["width"] == 8 and links["nvme0n1"]["numa_node"] == 1 and "sda" not in links
