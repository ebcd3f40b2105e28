"""plan_host: what the tune deploy does per host, and every host-data error it refuses, from real facts
(probe + parsers over sysroots generated from the lab hardware profiles)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.node_sysroots import lab_host_facts
from xeonfleet.profiles import load_profile
from xeonfleet.knobs.kernel_cmdline import cmdline_advice
from xeonfleet.knobs.sysctl import SYSCTL_FILE
from xeonfleet.audit.rules import evaluate_node
from xeonfleet.knobs import Knob, knobs_for
from xeonfleet.tune.deploy import boot_steps
from xeonfleet.tune.plan import plan_host


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory):
    def get(hardware: str) -> dict:
        return lab_host_facts(hardware, str(tmp_path_factory.getbasetemp() / f"tune-{hardware}"))

    return get


BASE = load_profile("xeon-ai-base")


def test_mistuned_host_plans_every_os_knob(facts) -> None:
    plan = plan_host("h", BASE, facts("icx-8380-2s-mistuned"), {})
    assert plan.errors == []
    to_change = {s.knob.id for s in plan.steps if not s.in_place}
    assert {"power.governor", "power.cstates", "power.turbo", "power.epp", "power.epb", "numa.balancing",
            "os.sysctl.vm.swappiness"} <= to_change
    assert plan.values_of(SYSCTL_FILE)["kernel.numa_balancing"] == "0"
    assert plan.env["OMP_NUM_THREADS"] == "80"  # physical cores, not the 160 logical CPUs
    assert plan.env["XEONFLEET_CORES_PER_INSTANCE"] == "20"  # SNC2: a NUMA node holds 20 cores
    assert any(item.startswith("numa.snc:") and "BIOS" in item for item in plan.manual)


def test_compliant_host_changes_no_power_knob(facts) -> None:
    plan = plan_host("h", BASE, facts("icx-8380-2s"), {})
    power = [s.knob.id for s in plan.steps if s.knob.category == "power" and not s.in_place]
    assert power == [] and plan.errors == []


def test_vm_marks_cpufreq_knobs_not_applicable(facts) -> None:
    plan = plan_host("h", BASE, facts("cloud-vm"), {})
    assert {"power.governor", "power.turbo", "power.epp", "power.epb", "power.cstates"} <= set(plan.not_applicable)
    assert plan.errors == []


def test_skip_list_removes_steps_and_typos_are_errors(facts) -> None:
    plan = plan_host("h", BASE, facts("icx-8380-2s-mistuned"),
                     {"xeonfleet_skip": ["power.turbo", "os.sysctl", "persist.service"]})
    ids = {s.knob.id for s in plan.steps}
    assert "power.turbo" not in ids and not any(i.startswith("os.sysctl.") for i in ids)
    assert "persist.service" not in plan.extra_steps and plan.errors == []
    typo = plan_host("h", BASE, facts("icx-8380-2s-mistuned"), {"xeonfleet_skip": ["power.trubo"]})
    assert typo.errors and "unknown step 'power.trubo'" in typo.errors[0]


def test_cores_per_instance_larger_than_a_numa_node(facts) -> None:
    plan = plan_host("h", BASE, facts("icx-8380-2s-mistuned"), {"xeonfleet_cores_per_instance": 21})
    assert any("larger than a NUMA node (20 physical cores)" in e for e in plan.errors)
    ok = plan_host("h", BASE, facts("icx-8380-2s-mistuned"), {"xeonfleet_cores_per_instance": 20})
    assert ok.errors == [] and ok.env["XEONFLEET_CORES_PER_INSTANCE"] == "20"


def test_governor_not_offered_by_the_driver(facts, tmp_path: Path) -> None:
    custom = tmp_path / "schedutil.yaml"
    custom.write_text("include: xeon-ai-base\npower:\n  governor: schedutil\n")
    plan = plan_host("h", load_profile(str(custom)), facts("icx-8380-2s-mistuned"), {})
    assert any("governor 'schedutil' is not offered" in e and "performance powersave" in e for e in plan.errors)


def test_missing_tool_without_package_installs_is_an_error(facts) -> None:
    host_facts = dict(facts("icx-8380-2s-mistuned"), tools={"numactl": True, "cpupower": False, "dmidecode": True})
    plan = plan_host("h", BASE, host_facts, {"xeonfleet_install_packages": False})
    assert any("cpupower required by the profile" in e for e in plan.errors)
    installing = plan_host("h", BASE, host_facts, {})
    assert installing.errors == []
    assert _install_command(installing, host_facts) == ("DEBIAN_FRONTEND=noninteractive apt-get install -y "
                                                        "--no-install-recommends linux-cpupower")


def _install_command(plan, host_facts: dict) -> str:
    """The set command of the plan's one tool step that installs something."""
    (step,) = [s for s in plan.steps if s.knob.id.startswith("os.tool.") and not s.in_place]
    return step.knob.setter.command(step.wanted, host_facts)


def test_cpupower_package_follows_the_distro(facts) -> None:
    base = facts("icx-8380-2s-mistuned")
    missing = {"numactl": True, "cpupower": False, "dmidecode": True}
    for distro, command in (("debian", "apt-get install -y --no-install-recommends linux-cpupower"),
                            ("rocky", "dnf install -y kernel-tools"), ("rhel", "dnf install -y kernel-tools")):
        host_facts = dict(base, tools=missing, os=dict(base["os"], distro={"id": distro}))
        assert _install_command(plan_host("h", BASE, host_facts, {}), host_facts).endswith(command)


def test_cmdline_advice_counts_intel_idle_states(facts) -> None:
    assert cmdline_advice(BASE, facts("icx-8380-2s-mistuned")) == ["intel_idle.max_cstate=1"]
    assert cmdline_advice(BASE, facts("cloud-vm")) == []


def test_each_knob_is_compared_once_per_host(facts, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tune plan compares each knob once and keeps the verdict: the steps, the boot script and the
    manual-fix printout reuse it (no second pass through the audit's evaluate_node); the audit alone also
    compares each knob once."""
    calls: Counter[str] = Counter()
    compare = Knob.compare

    def counting(knob: Knob, node_facts: dict, profile) -> object:  # noqa: ANN001
        calls[knob.id] += 1
        return compare(knob, node_facts, profile)

    monkeypatch.setattr(Knob, "compare", counting)
    host = facts("icx-8380-2s-mistuned")
    knob_ids = [knob.id for knob in knobs_for(BASE)]
    plan = plan_host("h", BASE, host, {"xeonfleet_skip": ["os.thp"]})
    boot_steps(plan, host)
    assert plan.manual and plan.steps
    assert calls == Counter({knob_id: 1 for knob_id in knob_ids if knob_id != "os.thp"})
    calls.clear()
    evaluate_node("h", host, BASE)
    assert calls == Counter({knob_id: 1 for knob_id in knob_ids})
