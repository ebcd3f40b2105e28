"""The C-state knob and the kernel cmdline advice on Granite Rapids' and Sierra Forest's intel_idle tables.

Facts come from the real probe over the shipped lab profiles gnr-6767p-2s and srf-6780e-2s, whose idle
states are the kernel's tables (drivers/idle/intel_idle.c gnr_cstates, srf_cstates), as tuned per the
guide (every state deeper than C1 disabled); `enabled()` turns them back on as a fresh install has them.
"""

from __future__ import annotations

import copy
import shlex
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest

from xeonfleet.knobs.status import FAIL, NA, PASS
from xeonfleet.audit.rules import evaluate_node
from xeonfleet.knobs.kernel_cmdline import cmdline_advice
from xeonfleet.lab.hardware import load_hardware
from xeonfleet.lab.sysroot import build_sysroot
from xeonfleet.parsers.node import node_facts_from_lines
from xeonfleet.facts.probe import run_probe_local
from xeonfleet.profiles import load_profile
from xeonfleet.tune.deploy import boot_steps
from xeonfleet.tune.plan import plan_host

# (name, exit latency in us) of intel_idle.c gnr_cstates and srf_cstates, after the POLL state.
KERNEL_TABLES = {
    "gnr": [("POLL", 0), ("C1", 1), ("C1E", 4), ("C6", 170), ("C6P", 210)],
    "srf": [("POLL", 0), ("C1", 1), ("C1E", 2), ("C6S", 270), ("C6SP", 310)],
}
HARDWARE = {"gnr": "gnr-6767p-2s", "srf": "srf-6780e-2s"}
SCRATCH = "/dev/shm" if Path("/dev/shm").is_dir() else None
BASE = load_profile("xeon-ai-base")


@lru_cache(maxsize=None)
def _facts(table: str) -> dict:
    with tempfile.TemporaryDirectory(dir=SCRATCH, prefix="xeonfleet-cstates-") as tmp:
        build_sysroot(load_hardware(HARDWARE[table]), Path(tmp), "unit")
        return node_facts_from_lines(run_probe_local(tmp))


def tuned(table: str) -> dict:
    return copy.deepcopy(_facts(table))


def enabled(table: str) -> dict:
    """The same host with every idle state on, as the kernel starts it."""
    host = tuned(table)
    for state in host["power"]["cstates"]:
        state.update(disabled=False, disabled_cpus=0)
    return host


def profile_with(tmp_path: Path, max_cstate: str):
    path = tmp_path / f"max-{max_cstate}.yaml"
    path.write_text(f"include: xeon-ai-base\npower:\n  max_cstate: {max_cstate}\n")
    return load_profile(str(path))


def verdict(host: dict, profile=BASE) -> tuple[str, str]:
    (finding,) = [f for f in evaluate_node("h", host, profile) if f.rule == "power.cstates"]
    return finding.status, finding.evidence


def cstates_step(host: dict, profile=BASE):
    plan = plan_host("h", profile, host, {"xeonfleet_skip": ["os.tool"]})  # the sysroot has no distro
    assert not plan.errors, plan.errors
    (step,) = [s for s in plan.steps if s.knob.id == "power.cstates"]
    return plan, step


@pytest.mark.parametrize("table", ["gnr", "srf"])
def test_the_probe_reads_the_kernels_table_in_its_order(table: str) -> None:
    host = tuned(table)
    states = host["power"]["cstates"]
    assert [(s["index"], s["name"], s["latency_us"]) for s in states] == [
        (index, name, latency) for index, (name, latency) in enumerate(KERNEL_TABLES[table])]
    assert [s["disabled"] for s in states] == [False, False, True, True, True]
    assert {s["cpus"] for s in states} == {host["cpu"]["online_cpus"]}


@pytest.mark.parametrize("table", ["gnr", "srf"])
def test_the_guide_tuned_profile_passes(table: str) -> None:
    assert verdict(tuned(table)) == (PASS, "none deeper than C1")


@pytest.mark.parametrize(("table", "evidence"), [("gnr", "C1E, C6, C6P (package C6)"),
                                                 ("srf", "C1E, C6S, C6SP (package C6)")])
def test_every_state_deeper_than_c1_fails_and_the_package_state_is_named(table: str, evidence: str) -> None:
    assert verdict(enabled(table)) == (FAIL, f"enabled deeper than C1: {evidence}")


@pytest.mark.parametrize("table", ["gnr", "srf"])
def test_the_deploy_disables_states_2_to_4_and_the_boot_script_does_it_again(table: str) -> None:
    host = enabled(table)
    plan, step = cstates_step(host)
    command = step.knob.setter.command(step.wanted, host)
    for index in (2, 3, 4):
        assert f"cpupower -c all idle-set -d {index} " in command
        assert f"/sys/devices/system/cpu/cpu[0-9]*/cpuidle/state{index}/disable" in command
    assert "idle-set -d 1 " not in command and "state1/disable" not in command  # C1 stays
    record = step.knob.record_command(step.wanted, host)
    assert shlex.split(record)[4:] == [
        f"/sys/devices/system/cpu/cpu[0-9]*/cpuidle/state{i}/disable" for i in (2, 3, 4)]
    (boot,) = [s for s in boot_steps(plan, host) if s["id"] == "power.cstates"]
    assert boot["command"] == command


def test_only_the_package_state_goes_when_the_profile_keeps_core_c6(tmp_path: Path) -> None:
    """Granite Rapids' C6 stops at core C6: `max_cstate: C6` keeps it and takes C6P (pepc misc-c6p-c6sp.md)."""
    host, profile = enabled("gnr"), profile_with(tmp_path, "C6")
    assert verdict(host, profile) == (FAIL, "enabled deeper than C6: C6P (package C6)")
    _, step = cstates_step(host, profile)
    assert "state4/disable" in step.knob.setter.command(step.wanted, host)
    assert "state3/disable" not in step.knob.setter.command(step.wanted, host)
    assert cmdline_advice(profile, host) == ["intel_idle.max_cstate=3"]


def test_c6s_and_c6sp_are_told_apart(tmp_path: Path) -> None:
    host = enabled("srf")
    assert verdict(host, profile_with(tmp_path, "C6S")) == (FAIL, "enabled deeper than C6S: C6SP (package C6)")
    assert verdict(host, profile_with(tmp_path, "C6SP")) == (PASS, "none deeper than C6SP")
    assert cmdline_advice(profile_with(tmp_path, "C6S"), host) == ["intel_idle.max_cstate=3"]


def test_a_name_the_table_lacks_is_na_and_says_which_states_there_are(tmp_path: Path) -> None:
    status, evidence = verdict(enabled("srf"), profile_with(tmp_path, "C6"))
    assert (status, evidence) == (NA, "cpuidle driver intel_idle has no C6 state (it has POLL, C1, C1E, C6S, C6SP)")
    assert cmdline_advice(profile_with(tmp_path, "C6"), enabled("srf")) == []


def test_a_package_state_still_on_for_one_cpu_fails() -> None:
    host = tuned("gnr")
    cpus = host["cpu"]["online_cpus"]
    host["power"]["cstates"][4].update(disabled=False, disabled_cpus=cpus - 1)  # one CPU still allows package C6
    assert verdict(host) == (FAIL, "enabled deeper than C1: C6P (package C6)")


@pytest.mark.parametrize("table", ["gnr", "srf"])
def test_kernel_cmdline_advice_is_the_sysfs_index_of_the_profiles_state(table: str, tmp_path: Path) -> None:
    host = enabled(table)
    assert cmdline_advice(BASE, host) == ["intel_idle.max_cstate=1"]
    assert cmdline_advice(profile_with(tmp_path, "C1E"), host) == ["intel_idle.max_cstate=2"]
    # max_cstate=0 would unload intel_idle instead of keeping POLL only: no advice.
    assert cmdline_advice(profile_with(tmp_path, "POLL"), host) == []
    # After a boot with the advice, the table ends at C1: the audit passes and the advice is unchanged.
    host["power"]["cstates"] = host["power"]["cstates"][:2]
    assert verdict(host) == (PASS, "none deeper than C1")
    assert cmdline_advice(BASE, host) == ["intel_idle.max_cstate=1"]

