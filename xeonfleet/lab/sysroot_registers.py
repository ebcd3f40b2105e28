"""The CPU's registers and their sysfs faces: /dev/cpu/N/msr, CPU 0's CPUID leaves and intel_uncore_frequency
(the MSR driver's package_PP_die_DD directories or the TPMI driver's uncoreNN)."""

from __future__ import annotations

from xeonfleet.lab.hardware_profile import HardwareProfile
from xeonfleet.lab.hardware_specs import UncoreDies
from xeonfleet.lab.sysroot_cpus import LogicalCpu
from xeonfleet.lab.sysroot_writer import TreeWriter
from xeonfleet.parsers import sysfs_paths as paths
from xeonfleet.parsers.cpuid import CPUID_DIR


def write_msrs(out: TreeWriter, hw: HardwareProfile, online: list[LogicalCpu]) -> None:
    """/dev/cpu/N/msr of every online CPU: each register's 8 little-endian bytes at its address, root-only (0600)
    as udev makes the msr driver's devices."""
    if not hw.msrs:
        return
    chunks = {int(address, 16): int(value, 16).to_bytes(8, "little") for address, value in hw.msrs.items()}
    for cpu in online:
        out.at_offsets(paths.msr_device(cpu.id), chunks, 0o600)


def write_cpuid(out: TreeWriter, hw: HardwareProfile) -> None:
    """CPU 0's CPUID leaves as a snapshot stores them: one text file "EAX EBX ECX EDX" per leaf. Text, not a
    device stand-in like the MSR files: nothing writes CPUID, and the probe reads both forms."""
    for leaf, registers in hw.cpuid.items():
        out.lines(f"{CPUID_DIR}/{leaf}", registers)


def _write_uncore_limits(out: TreeWriter, name: str, initial: tuple[int, int], current: tuple[int, int]) -> None:
    for prefix, (low, high) in (("initial_", initial), ("", current)):
        out.lines(paths.uncore_die(name, f"{prefix}min_freq_khz"), low)
        out.lines(paths.uncore_die(name, f"{prefix}max_freq_khz"), high)


def _limits(dies: UncoreDies) -> tuple[tuple[int, int], tuple[int, int]]:
    """(initial, current) (min, max) kHz of a kind of die; an unset current limit is the initial one."""
    return ((dies.initial_min_khz, dies.initial_max_khz),
            (dies.min_khz or dies.initial_min_khz, dies.max_khz or dies.initial_max_khz))


def _write_tpmi_die(out: TreeWriter, name: str, package: int, domain: int, die: UncoreDies) -> None:
    """One uncoreNN directory: limits, the die's ids (one fabric cluster per domain), agents, ELC."""
    _write_uncore_limits(out, name, *_limits(die))
    # root-only (uncore-frequency-common.c init_attribute_root_ro: mode 0400)
    for leaf, value in (("package_id", package), ("domain_id", domain), ("fabric_cluster_id", 0)):
        out.lines(paths.uncore_die(name, leaf), value, mode=0o400)
    if die.agent_types:  # the kernel ends every agent with a space (show_agent_types)
        out.lines(paths.uncore_die(name, "agent_types"), "".join(f"{a} " for a in die.agent_types.split()))
    if die.elc:
        elc = (die.elc.floor_khz, die.elc.low_threshold_percent, die.elc.high_threshold_percent,
               int(die.elc.high_threshold_enable))
        for leaf, value in zip(paths.UNCORE_ELC, elc):
            out.lines(paths.uncore_die(name, leaf), value)


def _span(pairs: list[tuple[int, int]]) -> tuple[int, int]:
    return min(low for low, _ in pairs), max(high for _, high in pairs)


def write_uncore(out: TreeWriter, hw: HardwareProfile) -> None:
    """intel_uncore_frequency: the MSR driver's package_PP_die_DD per die, or (layout tpmi) the TPMI
    driver's uncoreNN per die, numbered package by package and within one compute dies then I/O dies
    (what pepc's guide-uncore.md shows on Granite Rapids), plus its package_PP_die_00 aggregate per
    package (lowest min, highest max of the package's dies: uncore-frequency-tpmi.c root_domain)."""
    uncore = hw.uncore
    if uncore is None:
        return
    if uncore.layout == "package_die":
        for package in range(hw.sockets):
            for die in range(uncore.dies_per_package):
                _write_uncore_limits(out, paths.uncore_package_die(package, die), *_limits(uncore))
        return
    kinds = [uncore] + ([uncore.io] if uncore.io else [])
    dies = [kind for kind in kinds for _ in range(kind.dies_per_package)]
    for package in range(hw.sockets):
        for domain, die in enumerate(dies):
            _write_tpmi_die(out, paths.uncore_tpmi_die(package * len(dies) + domain), package, domain, die)
        limits = [_limits(die) for die in dies]
        _write_uncore_limits(out, paths.uncore_package_die(package, 0),
                             _span([initial for initial, _ in limits]), _span([current for _, current in limits]))
