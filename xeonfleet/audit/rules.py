"""Node compliance rules: one fact (or a few) against one profile expectation -> pass/fail/unknown/n/a.

Read-only rules (BIOS, memory population, ISA) live here with the manual remedy a human must apply;
settable items are the knobs of xeonfleet.knobs, turned into rules so the audit checks exactly what the
tune deploy sets. A rule whose profile key is absent is not evaluated: the profile did not ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from xeonfleet.audit.findings import Finding
from xeonfleet.knobs.status import FAIL, NA, PASS, UNKNOWN
from xeonfleet.knobs import Facts, Knob, KnobVerdict, fact, is_intel, knobs_for
from xeonfleet.audit.numa_rules import check_cxl_default_policy
from xeonfleet.audit.pcie import check_nic_links, check_nvme_links
from xeonfleet.audit.memory import (check_channels, check_dimms_per_channel, check_matched, check_rated_speed,
                                    check_socket_balance)
from xeonfleet.parsers.hypervisor import UNKNOWN_HYPERVISOR
from xeonfleet.parsers.microarch import smt_capable
from xeonfleet.profiles import Profile

Verdict = tuple[str, str, str]  # (status, evidence, expected)


@dataclass(frozen=True)
class Rule:
    """A read-only check. `profile_key` gates it; `check(facts, wanted)` returns a Verdict."""

    id: str
    category: str
    severity: str
    title: str
    profile_key: str
    facts: tuple[str, ...]
    check: Callable[[Facts, Any], Verdict]
    remedy: str
    intel_only: bool = False
    # BIOS and hardware a guest cannot change: n/a under a hypervisor ("set by the hypervisor host").
    host_owned: bool = False


def _on_off(value: Any) -> str:
    return "on" if value else "off"


def _check_bool(path: str, label: str) -> Callable[[Facts, Any], Verdict]:
    def check(facts: Facts, wanted: Any) -> Verdict:
        value = fact(facts, path)
        if value is None:
            return UNKNOWN, f"{label} cannot be read on this host", _on_off(wanted)
        return (PASS if bool(value) == bool(wanted) else FAIL), _on_off(value), _on_off(wanted)

    return check


def _check_hyperthreading(facts: Facts, wanted: Any) -> Verdict:
    """HT on, where the cores have SMT at all: E-core Xeons (Sierra Forest) have nothing to enable."""
    if wanted and smt_capable(fact(facts, "cpu.microarch")) is False:
        return NA, f"{fact(facts, 'cpu.segment') or fact(facts, 'cpu.microarch')}: E-cores have no SMT", _on_off(wanted)
    return _check_bool("cpu.smt_enabled", "SMT state")(facts, wanted)


def _check_intel_xeon(facts: Facts, wanted: Any) -> Verdict:
    vendor, model = fact(facts, "cpu.vendor"), fact(facts, "cpu.model_name")
    if vendor is None:
        return UNKNOWN, "no CPU vendor in cpuinfo", "Intel Xeon"
    xeon = vendor == "GenuineIntel" and "xeon" in (model or "").lower()
    evidence = f"{model or vendor}" + ("" if xeon else f" ({vendor}): not an Intel Xeon, Intel-only rules skipped")
    return (PASS if xeon == wanted else FAIL), evidence, "Intel Xeon"


def _check_isa(facts: Facts, wanted: list[str]) -> Verdict:
    isa = fact(facts, "cpu.isa")
    if not isa:
        return UNKNOWN, "no CPU flags in cpuinfo", ", ".join(wanted)
    missing = [name for name in wanted if not isa.get(name)]
    have = [name for name, present in isa.items() if present]
    return (FAIL if missing else PASS), f"missing {', '.join(missing)}" if missing else ", ".join(have), ", ".join(wanted)


def _check_min(path: str, unit: str) -> Callable[[Facts, Any], Verdict]:
    def check(facts: Facts, wanted: Any) -> Verdict:
        value = fact(facts, path)
        if value is None:
            return UNKNOWN, f"{path} unknown", f">= {wanted} {unit}"
        return (PASS if value >= wanted else FAIL), f"{value} {unit}", f">= {wanted} {unit}"

    return check


def _check_snc(facts: Facts, wanted: bool | list[str]) -> Verdict:
    """SNC on/off as the guide asks, or one of the profile's accepted modes (a list)."""
    snc = fact(facts, "numa.snc_enabled")
    per_socket = fact(facts, "numa.nodes_per_socket")
    expected = " or ".join(wanted) if isinstance(wanted, list) else _on_off(wanted)
    if snc is None:
        return UNKNOWN, "NUMA layout unknown", expected
    mode = fact(facts, "numa.snc_mode")
    evidence = f"{_on_off(snc)} ({per_socket} NUMA nodes per socket, {mode or 'mode not named: see the facts errors'})"
    if not isinstance(wanted, list):
        return (PASS if snc == wanted else FAIL), evidence, expected
    current = mode or ("off" if snc is False else None)  # one node per socket is "off" on any part
    if current is None:
        return UNKNOWN, evidence, expected
    return (PASS if current in wanted else FAIL), evidence, expected


def _check_driver(facts: Facts, wanted: Any) -> Verdict:
    driver = fact(facts, "power.driver")
    if driver is None:
        return NA, "no cpufreq on this host (VM or driver not loaded)", str(wanted)
    return (PASS if driver == wanted else FAIL), driver, str(wanted)


def _check_hwp(facts: Facts, wanted: Any) -> Verdict:
    if fact(facts, "power.driver") is None:
        return NA, "no cpufreq on this host", _on_off(wanted)
    hwp = fact(facts, "power.hwp")
    if hwp is None:
        return UNKNOWN, f"HWP state unknown (driver {fact(facts, 'power.driver')})", _on_off(wanted)
    status = fact(facts, "power.pstate_status")
    return (PASS if hwp == wanted else FAIL), f"{_on_off(hwp)} (intel_pstate {status})", _on_off(wanted)


def _check_microcode_uniform(facts: Facts, wanted: Any) -> Verdict:
    uniform = fact(facts, "cpu.microcode_uniform")
    code = fact(facts, "cpu.microcode")
    if uniform is None or code is None:
        return UNKNOWN, "no microcode in cpuinfo", "same revision on every CPU"
    return (PASS if uniform else FAIL), code if uniform else "different revisions across CPUs", "same revision on every CPU"


def _check_stacks(facts: Facts, wanted: Any) -> Verdict:
    from xeonfleet.stacks import required_stacks_rule_input, validate_frameworks_spec

    spec = validate_frameworks_spec(wanted, source="profile frameworks")
    result = required_stacks_rule_input(fact(facts, "frameworks.envs"), spec)
    expected = "; ".join(f"env {env.name}: {', '.join(s.name for s in env.stacks)}" for env in spec)
    return result["status"], "; ".join(result["evidence"]), expected


def _check_dispatch_isa(facts: Facts, wanted: Any) -> Verdict:
    """Per stack and precision, the kernel that ran against what the CPU flags allow (a silent
    fallback, e.g. BF16 on AVX-512 on an AMX node); xeonfleet.node.isa_names holds the table."""
    from xeonfleet.frameworks.dispatch import dispatch_rule_input

    result = dispatch_rule_input(fact(facts, "frameworks.envs"), fact(facts, "cpu.isa"),
                                 fact(facts, "cpu.amx_usable"), fact(facts, "cpu.amx_usable_reason"))
    return result["status"], "; ".join(result["evidence"]), result["expected"]


def _check_support(facts: Facts, wanted: Any) -> Verdict:
    from xeonfleet.stacks import support_rule_input

    result = support_rule_input(fact(facts, "frameworks.envs"))
    return result["status"], "; ".join(result["evidence"]), "maintained stacks (compat.yaml support:)"


READ_ONLY_RULES: tuple[Rule, ...] = (
    Rule("cpu.intel_xeon", "cpu", "critical", "Intel Xeon processor", "cpu.intel_xeon",
         ("cpu.vendor", "cpu.model_name"), _check_intel_xeon,
         "hardware: the guide's tuning targets Intel Xeon Scalable (Ice Lake or newer)"),
    Rule("bios.hyperthreading", "bios", "high", "Hyper-Threading enabled", "bios.hyperthreading",
         ("cpu.smt_enabled", "cpu.microarch"), _check_hyperthreading,
         "BIOS: Processor Configuration > Hyper-Threading [ALL] = Enable (also check `nosmt` is not on the kernel cmdline)",
         host_owned=True),
    Rule("bios.hwp_native", "bios", "medium", "Hardware P-states in native mode", "bios.hwp_native",
         ("power.hwp", "power.pstate_status"), _check_hwp,
         "BIOS: Power Management > Hardware P-States = Native Mode; kernel cmdline without intel_pstate=disable/no_hwp",
         intel_only=True, host_owned=True),
    Rule("numa.snc", "numa", "high", "Sub-NUMA Clustering", "numa.snc",
         ("numa.snc_enabled", "numa.nodes_per_socket", "numa.snc_mode"), _check_snc,
         "BIOS: Uncore Configuration > SNC (Sub NUMA) = Disable, then reboot", intel_only=True, host_owned=True),
    Rule("numa.cxl_default_policy", "numa", "high", "CXL memory off the default allocation path",
         "numa.cxl_off_default_path", ("numa.nodes", "numa.demotion_enabled", "numa.balancing"),
         check_cxl_default_policy,
         "run AI processes with `numactl --membind=<DRAM nodes>` (or --cpunodebind N --membind N); put the CXL node in "
         "a lower memory tier (online it as a CXL region through dax kmem, or firmware HMAT/CDAT that reports its "
         "latency) and keep /sys/kernel/mm/numa/demotion_enabled false unless kernel.numa_balancing=2 promotes "
         "hot pages back"),
    Rule("cpu.isa", "cpu", "high", "AI instruction sets", "cpu.isa_required",
         ("cpu.isa",), _check_isa,
         "hardware: these ISA extensions need Cascade Lake (VNNI) / Sapphire Rapids (AMX, BF16) or newer"),
    Rule("cpu.fma_units", "cpu", "medium", "AVX-512 FMA units per core", "cpu.min_fma_units",
         ("cpu.fma_units",), _check_min("cpu.fma_units", "units"),
         "hardware: Xeon Gold 6xxx / Platinum 8xxx have two AVX-512 FMA units per core", intel_only=True),
    Rule("cpu.microcode_uniform", "cpu", "medium", "Microcode identical on all CPUs", "cpu.intel_xeon",
         ("cpu.microcode", "cpu.microcode_uniform"), _check_microcode_uniform,
         "OS: install the vendor microcode package (intel-microcode) and reboot",
         host_owned=True),
    Rule("memory.channels", "memory", "high", "Every memory channel populated", "memory.all_channels_populated",
         ("memory.populated_channels", "memory.channels_per_socket", "memory.channel_problem", "memory.dimms"),
         check_channels,
         "hardware: install one identical DIMM in each empty channel slot listed (1 DIMM per channel)",
         host_owned=True),
    Rule("memory.dimms_per_channel", "memory", "medium", "Same DIMMs per channel on every channel",
         "memory.balanced_dimms_per_channel", ("memory.dimms",), check_dimms_per_channel,
         "hardware: give every channel the same number of DIMMs (all 1DPC, or fill the second slot of every "
         "channel); 2 DIMMs per channel also lowers the memory speed on many platforms",
         host_owned=True),
    Rule("memory.matched", "memory", "medium", "Matched DIMMs", "memory.matched_dimms",
         ("memory.dimms",), check_matched,
         "hardware: swap the slots listed for DIMMs of the socket's usual part number, size and rank",
         host_owned=True),
    Rule("memory.rated_speed", "memory", "medium", "DIMMs at rated speed", "memory.rated_speed",
         ("memory.dimms", "cpu.microarch", "system.product"), check_rated_speed,
         "BIOS: Memory Configuration > Memory Frequency = Auto/max; avoid 2 DIMMs per channel and mixed DIMMs",
         host_owned=True),
    Rule("memory.socket_balance", "memory", "medium", "Memory split evenly across sockets", "memory.balanced_sockets",
         ("memory.dimms",), check_socket_balance,
         "hardware: fill the slots listed (or swap in larger DIMMs) so every socket holds the same memory",
         host_owned=True),
    Rule("power.driver", "power", "medium", "intel_pstate scaling driver", "power.driver",
         ("power.driver",), _check_driver,
         "BIOS: enable HWP; kernel cmdline: drop intel_pstate=disable (acpi-cpufreq cannot set EPP)",
         intel_only=True, host_owned=True),
    Rule("frameworks.stacks", "frameworks", "high", "Required AI stacks at the profile's versions", "frameworks",
         ("frameworks.envs",), _check_stacks, "pyinfra INVENTORY deploys/frameworks.py"),
    Rule("frameworks.isa", "frameworks", "high", "Each precision runs on the CPU's best AI ISA", "frameworks",
         ("frameworks.envs", "cpu.isa", "cpu.amx_usable"), _check_dispatch_isa,
         "apply the fix the evidence names per env (remove the variable from the file named, or change the "
         "stack in the profile), then pyinfra INVENTORY deploys/frameworks.py: it re-runs the checks when "
         "those files or the profile changed"),
    Rule("frameworks.support", "frameworks", "medium", "No end-of-life AI stack", "frameworks",
         ("frameworks.envs",), _check_support,
         "move the env to the successor the evidence names (profile frameworks:), then "
         "pyinfra INVENTORY deploys/frameworks.py"),
    Rule("devices.nic_link", "devices", "high", "NICs trained at their full PCIe link", "devices.pcie_full_link",
         ("nics",), check_nic_links,
         "hardware: move the NIC to a slot wired for its full width/generation (check risers and the BIOS "
         "slot bifurcation / link speed setting), then reboot"),
    Rule("devices.nvme_link", "devices", "medium", "NVMe drives trained at their full PCIe link",
         "devices.pcie_full_link", ("disks",), check_nvme_links,
         "hardware: reseat the drive or use a bay/cable rated for its PCIe generation and width"),
)


def _finding(host: str, rule_id: str, category: str, severity: str, title: str, verdict: Verdict,
             remedy: str) -> Finding:
    status, evidence, expected = verdict
    return Finding(host=host, rule=rule_id, category=category, severity=severity, title=title, status=status,
                   evidence=evidence, expected=expected, remedy=remedy if status == FAIL else "")


def _guest(hypervisor: str) -> str:
    return "VM guest" if hypervisor == UNKNOWN_HYPERVISOR else f"{hypervisor} guest"


def _guest_note(host: str, hypervisor: str) -> Finding:
    """Said once per guest node: why its BIOS and hardware rules are n/a."""
    return Finding(host=host, rule="cpu.hypervisor", category="cpu", severity="low", title="Virtual machine",
                   status=NA, evidence=f"{_guest(hypervisor)}: BIOS and hardware rules are set by the hypervisor host",
                   expected="", remedy="")


def read_only_findings(host: str, facts: Facts, profile: Profile) -> list[Finding]:
    """The read-only rules the profile asks for on one node (BIOS, hardware, frameworks: what no knob sets).

    Under a hypervisor, host-owned rules (BIOS, DIMMs) are n/a: the guest's owner cannot act on them.
    """
    findings: list[Finding] = []
    intel = is_intel(facts)
    hypervisor = fact(facts, "cpu.hypervisor")
    if hypervisor:
        findings.append(_guest_note(host, hypervisor))
    for rule in READ_ONLY_RULES:
        wanted = profile.get(rule.profile_key)
        if wanted is None:
            continue
        if rule.intel_only and not intel:
            verdict: Verdict = (NA, f"Intel-only check; this CPU is {fact(facts, 'cpu.vendor') or 'unknown'}", "")
        elif rule.host_owned and hypervisor:
            verdict = (NA, f"set by the hypervisor host ({_guest(hypervisor)})", "")
        else:
            verdict = rule.check(facts, wanted)
        findings.append(_finding(host, rule.id, rule.category, rule.severity, rule.title, verdict, rule.remedy))
    return findings


def knob_finding(host: str, knob: Knob, verdict: KnobVerdict) -> Finding:
    """A knob's verdict (its one compare on this host) as an audit finding."""
    return _finding(host, knob.id, knob.category, knob.severity, knob.title,
                    (verdict.status, verdict.evidence, verdict.expected), knob.remedy)


def evaluate_node(host: str, facts: Facts, profile: Profile) -> list[Finding]:
    """Every rule the profile asks for on one node, read-only rules first, then the tunable knobs."""
    return read_only_findings(host, facts, profile) + [
        knob_finding(host, knob, knob.compare(facts, profile)) for knob in knobs_for(profile)]
