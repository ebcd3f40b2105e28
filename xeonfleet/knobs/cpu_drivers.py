"""CPU drivers the facts read through (`os.cpu_drivers`): msr, for the MSR knobs (prefetchers, C1E, C1
demotion), and cpuid, for the ISA many kernels leave out of /proc/cpuinfo (AMX-FP16, AVX10 ...).

The deploy loads each with modprobe and lists it in /etc/modules-load.d/xeonfleet.conf so it is loaded at
every boot; the undo log records the file and that the driver was not loaded, so restore unloads only
what the deploy loaded. Both are Intel-only here (xeonfleet reads Intel's MSRs and CPUID leaves); msr is
n/a in a guest, whose registers are the host's, while cpuid still tells a masked guest's generation.
"""

from __future__ import annotations

from xeonfleet.knobs.base import Facts, Knob, ProfileKey, ProfileValues, Setter, fact, is_intel
from xeonfleet.parsers.os import CPU_DRIVERS
from xeonfleet.knobs import commands

MODULES_LOAD = "/etc/modules-load.d/xeonfleet.conf"
PROFILE_KEYS = (ProfileKey("os.cpu_drivers",
                           lambda value: isinstance(value, list) and all(name in CPU_DRIVERS for name in value),
                           f"a list of drivers from {', '.join(CPU_DRIVERS)}"),)


def load_command(driver: str) -> str:
    """Load the driver now and at every boot (the modules-load.d line is added once)."""
    line = commands.sh(driver)
    return (f"modprobe {line} && {{ grep -qx {line} {MODULES_LOAD} 2>/dev/null || "
            f"{{ mkdir -p /etc/modules-load.d && printf '%s\\n' {line} >> {MODULES_LOAD}; }}; }}")


def _applies(driver: str):
    def applies(facts: Facts) -> str | None:
        if not is_intel(facts):
            return f"the {driver} reads xeonfleet makes are Intel's; this CPU is {fact(facts, 'cpu.vendor') or 'unknown'}"
        if driver == "msr" and fact(facts, "cpu.hypervisor"):
            return f"under a hypervisor ({fact(facts, 'cpu.hypervisor')}) the MSRs are the host's"
        return None

    return applies


def _knob(driver: str) -> Knob:
    return Knob(
        id=f"os.cpu_driver.{driver}", severity="medium",
        title=f"{driver} driver loaded (/dev/cpu/N/{driver})", facts=("os.cpu_drivers",),
        read=lambda facts: (fact(facts, "os.cpu_drivers") or {}).get(driver),
        wanted=lambda profile, facts: True, applies=_applies(driver),
        setter=Setter(command=lambda wanted, facts: load_command(driver),
                      record=lambda knob_id, wanted, facts: commands.helper_line(
                          [commands.record_files([MODULES_LOAD]), commands.record_module(driver)])),
        key=driver,
    )


def knobs(profile: ProfileValues) -> list[Knob]:
    return [_knob(driver) for driver in CPU_DRIVERS if driver in (profile.get("os.cpu_drivers") or [])]
