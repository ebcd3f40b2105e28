"""Node and fleet rules on hand-written NodeFacts (docs/facts.md): statuses, evidence and remedies."""

import copy
from typing import Any

import pytest

from xeonfleet.knobs.status import FAIL, NA, PASS, UNKNOWN
from xeonfleet.audit.fleet import evaluate_fleet
from xeonfleet.knobs import runtime_env_wanted
from xeonfleet.profiles import load_profile
from xeonfleet.audit.rules import evaluate_node

CSTATES = [
    {"index": 0, "name": "POLL", "latency_us": 0, "disabled": False, "disabled_cpus": 0, "cpus": 160},
    {"index": 1, "name": "C1", "latency_us": 2, "disabled": False, "disabled_cpus": 0, "cpus": 160},
    {"index": 2, "name": "C1E", "latency_us": 10, "disabled": True, "disabled_cpus": 160, "cpus": 160},
    {"index": 3, "name": "C6", "latency_us": 170, "disabled": True, "disabled_cpus": 160, "cpus": 160},
]


def dimm(socket: int, channel: str, populated: bool = True) -> dict[str, Any]:
    return {"locator": f"CPU{socket}_DIMM_{channel}1", "bank": f"NODE {socket}", "socket": socket,
            "channel": channel, "size_bytes": (32 << 30) if populated else None, "type": "DDR4",
            "speed_mts": 3200 if populated else None, "configured_speed_mts": 3200 if populated else None,
            "manufacturer": "Samsung", "part_number": "M393A4K40DB3", "populated": populated}


COMPLIANT: dict[str, Any] = {
    "cpu": {"vendor": "GenuineIntel", "model_name": "Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz",
            "microarch": "icelake-server", "sockets": 2, "cores_per_socket": 40, "threads_per_core": 2,
            "physical_cores": 80, "logical_cpus": 160, "smt_enabled": True, "fma_units": 2,
            "microcode": "0xd000375", "microcode_uniform": True,
            "isa": {"avx2": True, "avx512f": True, "avx512_vnni": True, "avx512_bf16": False, "amx_tile": False}},
    "numa": {"node_count": 2, "nodes_per_socket": 1, "snc_enabled": False, "balancing": 0},
    "memory": {"dimms": [dimm(s, c) for s in (0, 1) for c in "ABCDEFGH"], "channels_per_socket": 8,
               "populated_channels": {"0": 8, "1": 8}, "dimm_sizes_matched": True},
    "bios": {"vendor": "Intel Corporation", "version": "SE5C620.86B.01.01.0005", "date": "02/16/2022"},
    "power": {"driver": "intel_pstate", "governor": "performance", "pstate_status": "active", "hwp": True,
              "turbo_enabled": True, "epp": "performance", "epb": 0, "cpuidle_driver": "intel_idle",
              "cstates": CSTATES, "msr": {"0x1a4": 0x0, "0x1fc": 0x2904005D, "0xe2": 0x403},
              "uncore": [{"die": f"package_0{p}_die_00", "min_khz": 800000, "max_khz": 2400000,
                          "initial_min_khz": 800000, "initial_max_khz": 2400000} for p in (0, 1)]},
    "nics": [{"name": "ens1f0", "speed_mbps": 100000, "operstate": "up",
              "pcie": {"speed_gts": 16.0, "width": 16, "max_speed_gts": 16.0, "max_width": 16, "numa_node": 0}}],
    "disks": [{"name": "nvme0n1", "nvme": True, "rotational": False, "size_bytes": 3840 * 10**9,
               "pcie": {"speed_gts": 16.0, "width": 4, "max_speed_gts": 16.0, "max_width": 4, "numa_node": 1}}],
    "os": {"kernel": "5.15.0-91-generic", "thp": "always",
           "sysctl": {"vm.swappiness": "10", "kernel.nmi_watchdog": "0", "kernel.numa_balancing": "0"},
           "runtime_env": {"OMP_NUM_THREADS": "80", "TF_NUM_INTRAOP_THREADS": "80",
                           "KMP_AFFINITY": "granularity=fine,verbose,compact,1,0", "KMP_BLOCKTIME": "1",
                           "KMP_SETTINGS": "1", "TF_NUM_INTEROP_THREADS": "1"},
           "cpu_drivers": {"msr": True, "cpuid": True}},
    "tools": {"numactl": True, "cpupower": True, "dmidecode": True},
}


def statuses(facts: dict[str, Any], profile: str = "xeon-ai-base") -> dict[str, str]:
    return {f.rule: f.status for f in evaluate_node("n1", facts, load_profile(profile))}


def test_compliant_node_passes_every_rule() -> None:
    result = statuses(COMPLIANT)
    assert result.pop("numa.cxl_default_policy") == NA  # an Ice Lake box has no CXL memory to keep off the path
    assert set(result.values()) == {PASS}, {k: v for k, v in result.items() if v != PASS}
    assert "power.governor" in result and "memory.channels" in result and "runtime.env.OMP_NUM_THREADS" in result


def test_mistuned_node_fails_exactly_the_drifted_rules() -> None:
    facts = copy.deepcopy(COMPLIANT)
    facts["numa"].update(node_count=4, nodes_per_socket=2, snc_enabled=True)
    facts["power"].update(governor="powersave", turbo_enabled=False)
    facts["power"]["cstates"][3].update(disabled=False, disabled_cpus=0)
    facts["memory"]["dimms"] = [dimm(s, c, populated=c not in "GH") for s in (0, 1) for c in "ABCDEFGH"]
    facts["memory"]["populated_channels"] = {"0": 6, "1": 6}
    findings = {f.rule: f for f in evaluate_node("n1", facts, load_profile("xeon-ai-base"))}
    failed = {rule for rule, f in findings.items() if f.status == FAIL}
    # OMP_NUM_THREADS follows physical cores, which did not change; only the drifted items fail.
    assert failed == {"numa.snc", "power.governor", "power.cstates", "power.turbo", "memory.channels"}
    assert "SNC" in findings["numa.snc"].remedy and "BIOS" in findings["numa.snc"].remedy
    assert "CPU0_DIMM_G1" in findings["memory.channels"].evidence
    assert findings["power.cstates"].evidence == "enabled deeper than C1: C6"
    assert findings["power.governor"].remedy.startswith("pyinfra INVENTORY deploys/ai_node.py")


def test_vm_without_dmi_or_cpufreq_is_unknown_or_na_not_failed() -> None:
    facts = copy.deepcopy(COMPLIANT)
    facts["memory"] = {"dimms": [], "channels_per_socket": 8, "populated_channels": {}, "dimm_sizes_matched": None}
    facts["bios"] = {"vendor": None, "version": None, "date": None}
    facts["power"] = {"driver": None, "governor": None, "turbo_enabled": None, "epp": None, "epb": None,
                      "hwp": None, "cpuidle_driver": "haltpoll",
                      "cstates": [{"index": 0, "name": "POLL", "disabled": False},
                                  {"index": 1, "name": "haltpoll", "disabled": False}]}
    result = statuses(facts)
    assert result["memory.channels"] == UNKNOWN
    assert result["power.governor"] == NA and result["power.turbo"] == NA and result["power.cstates"] == NA
    assert FAIL not in {result[r] for r in ("memory.channels", "memory.matched", "power.driver", "bios.hwp_native")}


def test_amd_node_is_not_a_xeon_and_intel_rules_are_na() -> None:
    facts = copy.deepcopy(COMPLIANT)
    facts["cpu"].update(vendor="AuthenticAMD", model_name="AMD EPYC 7763 64-Core Processor")
    facts["power"].update(driver="acpi-cpufreq", epp=None, hwp=None)
    findings = {f.rule: f for f in evaluate_node("n1", facts, load_profile("xeon-ai-base"))}
    assert findings["cpu.intel_xeon"].status == FAIL
    assert "not an Intel Xeon" in findings["cpu.intel_xeon"].evidence
    for rule in ("numa.snc", "bios.hwp_native", "power.driver", "cpu.fma_units", "power.epp", "power.epb"):
        assert findings[rule].status == NA, rule


def test_online_profile_sets_threads_per_instance() -> None:
    env = runtime_env_wanted(load_profile("inference-online"), COMPLIANT)
    assert env["OMP_NUM_THREADS"] == "10"  # 40 cores per NUMA node split into 4 x 10 (8-16 allowed)
    assert env["KMP_BLOCKTIME"] == "1"
    offline = runtime_env_wanted(load_profile("inference-offline"), COMPLIANT)
    assert offline["OMP_NUM_THREADS"] == "40"


@pytest.mark.parametrize("changed", ["bios.version", "cpu.microcode", "os.kernel"])
def test_fleet_flags_the_odd_node_out(changed: str) -> None:
    section, key = changed.split(".")
    fleet = {f"n{i}": copy.deepcopy(COMPLIANT) for i in range(4)}
    fleet["n2"][section][key] = "odd-one"
    profile = load_profile("xeon-ai-base")
    findings = evaluate_fleet({"prod": list(fleet)}, fleet, {h: profile for h in fleet})
    failed = {(f.host, f.rule) for f in findings if f.status == FAIL}
    assert failed == {("n2", f"fleet.{changed}")}


def ai_env(int8: str, ok: bool = True) -> dict[str, Any]:
    """An env record as node_env.py's checks write it: OpenVINO's FP32 and INT8 kernels."""
    return {"name": "ai", "backend": "venv", "ok": ok, "checks_version": 2, "runtime_knobs": {},
            "stacks": {"openvino": {"variant": "runtime", "precisions": {
                           "fp32": {"isa": "avx512*", "kernel": "brgconv_avx512_f32", "src_type": "f32"},
                           "int8": {"isa": int8, "kernel": "brgconv_avx512_I8", "src_type": "u8"}}},
                       "intel-python": {"variant": "sklearnex"}},
            "versions": {"openvino": "2026.4.1", "scikit-learn-intelex": "2026.2.0"}}


@pytest.mark.parametrize(
    ("envs", "stacks", "isa"),
    [
        ([ai_env("avx512*")], PASS, PASS),
        ([ai_env("avx2*")], PASS, FAIL),  # VNNI CPU, INT8 ran AVX2: a silent fallback
        ([], FAIL, UNKNOWN),
        ([ai_env("avx512*", ok=False)], FAIL, PASS),
    ],
)
def test_framework_rules_read_the_env_records(envs: list, stacks: str, isa: str) -> None:
    facts = copy.deepcopy(COMPLIANT)
    facts["frameworks"] = {"envs": envs}
    findings = {f.rule: f for f in evaluate_node("n1", facts, load_profile("xeon-ai-stack"))}
    assert (findings["frameworks.stacks"].status, findings["frameworks.isa"].status) == (stacks, isa)
    if isa == FAIL:
        assert "openvino int8 ran avx2*" in findings["frameworks.isa"].evidence
        assert findings["frameworks.isa"].expected == "fp32 avx512_core, int8 avx512_core_vnni or better"


def test_base_profile_asks_for_no_frameworks() -> None:
    assert not any(rule.startswith("frameworks.") for rule in statuses(COMPLIANT))
