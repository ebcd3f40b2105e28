"""cpufreq, intel_pstate, turbo, EPP/EPB and cpuidle states, over the online CPUs."""

from __future__ import annotations

from xeonfleet import sysfs_paths as paths
from xeonfleet.parsers.sections import ProbeOutput


def _uniform(values: list[str]) -> str | None:
    """The value if every CPU agrees, "mixed" if not, None if no CPU reports it."""
    distinct = set(values)
    if not distinct:
        return None
    return distinct.pop() if len(distinct) == 1 else "mixed"


def _per_cpu(probe: ProbeOutput, online: list[int], leaf: str) -> list[str]:
    values = probe.per_cpu(leaf)
    return [values[cpu] for cpu in online if cpu in values]


def _khz(probe: ProbeOutput, leaf: str) -> int | None:
    return probe.int_value(f"{paths.cpu_dir(0)}/cpufreq/{leaf}")


def parse_cstates(probe: ProbeOutput, online: list[int]) -> list[dict]:
    """cpu0's idle states, with how many online CPUs have each one disabled."""
    names = probe.matching(f"{paths.cpu_dir(0)}/cpuidle/state", "/name")
    states = []
    for index in sorted(int(i) for i in names if i.isdigit()):
        flags = _per_cpu(probe, online, paths.cstate(index, "disable"))
        disabled_cpus = sum(1 for flag in flags if flag == "1")
        states.append({
            "index": index,
            "name": probe.value(f"{paths.cpu_dir(0)}/{paths.cstate(index, 'name')}"),
            "latency_us": probe.int_value(f"{paths.cpu_dir(0)}/{paths.cstate(index, 'latency')}"),
            "disabled": bool(flags) and disabled_cpus == len(flags),
            "disabled_cpus": disabled_cpus,
            "cpus": len(flags),
        })
    return states


def _turbo(probe: ProbeOutput) -> bool | None:
    no_turbo = probe.value(paths.NO_TURBO)
    if no_turbo is not None:
        return no_turbo == "0"
    boost = probe.value(paths.BOOST)
    return boost == "1" if boost is not None else None


def _epb(probe: ProbeOutput, online: list[int], errors: list[str]) -> int | None:
    values = _uniform(_per_cpu(probe, online, paths.EPB))
    if values == "mixed":
        errors.append("energy_perf_bias differs across CPUs: power.epb is null")
        return None
    try:
        return int(values) if values is not None else None
    except ValueError:
        return None


def parse_uncore(probe: ProbeOutput) -> list[dict]:
    """intel_uncore_frequency limits of each package/die, in kHz ([] without the driver)."""
    dies = probe.matching(f"{paths.UNCORE}/", "/initial_max_freq_khz")
    return [
        {"die": die, **{f"{name}_khz": probe.int_value(f"{paths.UNCORE}/{die}/{name}_freq_khz")
                        for name in ("min", "max", "initial_min", "initial_max")}}
        for die in sorted(dies)
    ]


def parse_msrs(probe: ProbeOutput, errors: list[str]) -> dict[str, int] | None:
    """{address: value} of the MSRs the probe read, when every package agrees; None when none was
    readable (no msr module, not root, a snapshot). A register that differs across packages is left out."""
    seen: dict[str, set[int]] = {}
    for path in probe.matching(f"{paths.MSR_DIR}/", "").keys():
        cpu, _, address = path.partition("/msr/")
        try:
            seen.setdefault(address, set()).add(int(probe.value(f"{paths.MSR_DIR}/{path}") or "", 16))
        except ValueError:
            errors.append(f"MSR {address} of CPU {cpu} is not a hex number in the probe output")
    if not seen:
        return None
    msrs = {}
    for address, values in sorted(seen.items()):
        if len(values) == 1:
            msrs[address] = values.pop()
        else:
            errors.append(f"MSR {address} differs across packages: left out of power.msr")
    return msrs


def parse_power(probe: ProbeOutput, online: list[int], flags: list[str], errors: list[str]) -> dict:
    """The power.* block of docs/facts.md."""
    driver = probe.value(f"{paths.cpu_dir(0)}/{paths.SCALING_DRIVER}")
    if driver is None:
        errors.append("no cpufreq (VM or driver not loaded): governor, frequencies unknown")
    pstate = probe.value(paths.PSTATE_STATUS)
    available = probe.value(f"{paths.cpu_dir(0)}/{paths.GOVERNORS_AVAILABLE}")
    idle_driver = probe.value(paths.CPUIDLE_DRIVER)
    return {
        "driver": driver,
        "governor": _uniform(_per_cpu(probe, online, paths.GOVERNOR)),
        "governors_available": available.split() if available else [],
        "min_khz": _khz(probe, "cpuinfo_min_freq"),
        "max_khz": _khz(probe, "cpuinfo_max_freq"),
        "pstate_status": pstate,
        "hwp": ("hwp" in flags if pstate == "active" else False) if pstate else None,
        "turbo_enabled": _turbo(probe),
        "epp": _uniform(_per_cpu(probe, online, paths.EPP)),
        "epb": _epb(probe, online, errors),
        "cpuidle_driver": idle_driver if idle_driver not in (None, "none") else None,
        "cstates": parse_cstates(probe, online),
        "uncore": parse_uncore(probe),
        "msr": parse_msrs(probe, errors),
    }
