"""CPU power knobs: scaling governor, turbo, energy-performance preference (EPP) and bias (EPB).

All four are per-CPU (or global) sysfs files the kernel forgets at reboot, so the boot script re-applies
them. The governor goes through cpupower where it works (the guide's tool), sysfs otherwise.
"""

from __future__ import annotations

from typing import Any

from xeonfleet.parsers import sysfs_paths as paths
from xeonfleet.knobs.base import (Facts, Knob, ProfileValues, Setter, bool_key, choice_key, fact, int_key, is_intel,
                                  records_files)
from xeonfleet.knobs import commands

GOVERNORS = ("performance", "powersave", "schedutil", "ondemand", "conservative", "userspace")
GOVERNOR_FILES = paths.every_cpu(paths.GOVERNOR)
EPP_VALUES = ("performance", "balance_performance", "default", "balance_power", "power")
PROFILE_KEYS = (
    choice_key("power.governor", GOVERNORS),
    bool_key("power.turbo"),
    choice_key("power.epp", EPP_VALUES),
    int_key("power.epb", "an integer 0-15 (0 = performance)", 0, 15),
)


def needs_cpufreq(facts: Facts) -> str | None:
    if fact(facts, "power.driver") is None:
        return "no cpufreq on this host (VM or driver not loaded)"
    return None


def needs_intel_pstate(facts: Facts) -> str | None:
    if fact(facts, "power.driver") != "intel_pstate":
        return f"scaling driver is {fact(facts, 'power.driver') or 'absent'}, not intel_pstate"
    return None


def _epp_applies(facts: Facts) -> str | None:
    if reason := needs_intel_pstate(facts):
        return reason
    return None if fact(facts, "power.epp") is not None else "no EPP control (HWP off or not exposed)"


def _epb_applies(facts: Facts) -> str | None:
    if not is_intel(facts):
        return "EPB is an Intel MSR"
    return None if fact(facts, "power.epb") is not None else "no energy_perf_bias exposed (VM or kernel without it)"


def _governor_offered(wanted: Any, facts: Facts, data: Any) -> str | None:
    available = fact(facts, "power.governors_available") or []
    if available and wanted not in available:
        return (f"governor {wanted!r} is not offered by this host's {fact(facts, 'power.driver')} driver "
                f"(scaling_available_governors: {' '.join(available)}); pick one of them in the profile")
    return None


def turbo_file(driver: str | None) -> str:
    """intel_pstate says it backwards (no_turbo); other drivers expose cpufreq/boost."""
    return paths.NO_TURBO if driver == "intel_pstate" else paths.BOOST


def turbo_command(enabled: bool, driver: str | None) -> str:
    on, off = ("0", "1") if driver == "intel_pstate" else ("1", "0")
    return commands.ensure_files(turbo_file(driver), on if enabled else off)


def _per_cpu_setter(leaf: str) -> Setter:
    files = paths.every_cpu(leaf)
    return Setter(command=lambda wanted, facts: commands.ensure_files(files, str(wanted)),
                  record=records_files(lambda facts: [files]), boot=True)


def _governor_command(wanted: str, facts: Facts) -> str:
    return commands.with_cpupower(["frequency-set", "-g", wanted], commands.ensure_files(GOVERNOR_FILES, wanted))


def knobs(profile: ProfileValues) -> list[Knob]:
    """The power knobs the profile sets, in apply order."""
    declared = [
        Knob(id="power.governor", severity="high", title="CPU frequency governor", applies=needs_cpufreq,
             plan_error=_governor_offered,
             setter=Setter(command=_governor_command,
                           record=records_files(lambda facts: [GOVERNOR_FILES]), boot=True)),
        Knob(id="power.turbo", severity="high", title="Turbo Boost", facts=("power.turbo_enabled",),
             applies=needs_cpufreq,
             setter=Setter(command=lambda wanted, facts: turbo_command(wanted, fact(facts, "power.driver")),
                           record=records_files(lambda facts: [turbo_file(fact(facts, "power.driver"))]), boot=True)),
        Knob(id="power.epp", severity="medium", title="Energy-performance preference (EPP)", applies=_epp_applies,
             setter=_per_cpu_setter(paths.EPP)),
        Knob(id="power.epb", severity="medium", title="Energy-performance bias (EPB)", applies=_epb_applies,
             setter=_per_cpu_setter(paths.EPB)),
    ]
    return [knob for knob in declared if profile.get(knob.id) is not None]
