"""The msr and cpuid driver knobs: when they apply, how they compare, the commands that load them and the
undo log that unloads only what the deploy loaded."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from xeonfleet.knobs.status import FAIL, NA, PASS, UNKNOWN
from xeonfleet.knobs import cpu_drivers, knobs_for
from xeonfleet.profiles import load_profile
from xeonfleet.node import undo_log as node_state

BARE_METAL: dict[str, Any] = {"cpu": {"vendor": "GenuineIntel", "hypervisor": None},
                              "os": {"cpu_drivers": {"msr": True, "cpuid": False}}}


def verdicts(facts: dict[str, Any]) -> dict[str, tuple[str, str]]:
    profile = load_profile("xeon-ai-base")
    return {k.id: (v.status, v.evidence) for k in knobs_for(profile) if k.id.startswith("os.cpu_driver.")
            for v in [k.compare(facts, profile)]}


def test_the_base_profile_asks_for_both_drivers_and_a_missing_one_fails() -> None:
    assert verdicts(BARE_METAL) == {"os.cpu_driver.msr": (PASS, "on"), "os.cpu_driver.cpuid": (FAIL, "off")}


def test_msr_is_na_in_a_guest_and_both_are_na_off_intel() -> None:
    guest = copy.deepcopy(BARE_METAL)
    guest["cpu"]["hypervisor"] = "kvm"
    result = verdicts(guest)
    assert result["os.cpu_driver.msr"][0] == NA and "the host's" in result["os.cpu_driver.msr"][1]
    assert result["os.cpu_driver.cpuid"][0] == FAIL  # a guest's CPUID still names a masked generation
    amd = copy.deepcopy(BARE_METAL)
    amd["cpu"]["vendor"] = "AuthenticAMD"
    assert {status for status, _ in verdicts(amd).values()} == {NA}


def test_facts_without_the_driver_block_are_unknown() -> None:
    facts = {"cpu": {"vendor": "GenuineIntel", "hypervisor": None}, "os": {}}
    assert {status for status, _ in verdicts(facts).values()} == {UNKNOWN}


def test_load_command_loads_now_and_at_boot_once() -> None:
    command = cpu_drivers.load_command("cpuid")
    assert command.startswith("modprobe cpuid && ")
    assert "grep -qx cpuid /etc/modules-load.d/xeonfleet.conf" in command  # a second run adds no second line


@pytest.mark.parametrize(("present", "recorded"), [(False, ["msr"]), (True, [])])
def test_the_undo_log_records_only_a_driver_the_deploy_loads(monkeypatch: pytest.MonkeyPatch, present: bool,
                                                            recorded: list[str]) -> None:
    monkeypatch.setattr(node_state.os.path, "exists", lambda path: present and path == "/dev/cpu/0/msr")
    state: dict[str, Any] = {}
    node_state.save_module(state, "msr")
    node_state.save_module(state, "msr")
    assert state["modules"] == recorded
