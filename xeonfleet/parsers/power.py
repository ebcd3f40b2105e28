"""cpufreq, intel_pstate, turbo, EPP/EPB and cpuidle states, over the online CPUs."""

from __future__ import annotations

from xeonfleet.parsers import sysfs_paths as paths
from xeonfleet.parsers.sections import ProbeOutput, needs_root_reason


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


_UNCORE_LIMITS = ("min", "max", "initial_min", "initial_max")


def _uncore_limits(probe: ProbeOutput, die: str) -> dict[str, int | None]:
    return {f"{name}_khz": probe.int_value(paths.uncore_die(die, f"{name}_freq_khz")) for name in _UNCORE_LIMITS}


def _die_kind(agents: list[str] | None) -> str | None:
    """compute: the die has the core agent (the mesh and LLC the cores use; the kernel gives die_id only to
    such domains); io: I/O agents without cores (Granite Rapids' PCIe/CXL dies, pepc docs/guide-uncore.md);
    None when the kernel does not list agents or lists neither."""
    if agents is None:
        return None
    if "core" in agents:
        return "compute"
    return "io" if "io" in agents else None


def _elc(probe: ProbeOutput, die: str) -> dict[str, int | bool | None]:
    floor, low, high, enable = (probe.int_value(paths.uncore_die(die, leaf)) for leaf in paths.UNCORE_ELC)
    return {"elc_floor_khz": floor, "elc_low_threshold_percent": low, "elc_high_threshold_percent": high,
            "elc_high_threshold_enabled": bool(enable) if enable is not None else None}


def _tpmi_die(probe: ProbeOutput, die: str) -> dict:
    lines = probe.lines(paths.uncore_die(die, "agent_types"))
    agents = " ".join(lines).split() if lines is not None else None
    return {"die": die, "package_id": probe.int_value(paths.uncore_die(die, "package_id")),
            "domain_id": probe.int_value(paths.uncore_die(die, "domain_id")),
            "agent_types": agents, "kind": _die_kind(agents), **_uncore_limits(probe, die), **_elc(probe, die)}


def _package_die(probe: ProbeOutput, die: str) -> dict:
    """An MSR-driver die: its name is the kernel's package id (package_PP_die_DD); no domain, agents, ELC."""
    package = die.removeprefix("package_").partition("_")[0]
    return {"die": die, "package_id": int(package) if package.isdigit() else None, "domain_id": None,
            "agent_types": None, "kind": None, **_uncore_limits(probe, die), **_elc(probe, die)}


def parse_uncore(probe: ProbeOutput, errors: list[str]) -> list[dict]:
    """intel_uncore_frequency limits of each die, in kHz ([] without the driver).

    Where the TPMI driver's uncoreNN directories exist they are the dies, and its package_PP_die_00
    directories (one aggregate per package over all its dies, I/O ones included) are left out, as pepc
    does (docs/guide-uncore.md: "pepc ignores the legacy sysfs API whenever the new sysfs API is available").
    """
    names = probe.matching(f"{paths.UNCORE}/", "/initial_max_freq_khz")
    # uncore%02d: by length first, so uncore100 comes after uncore99
    tpmi = sorted((n for n in names if n.startswith(paths.UNCORE_TPMI_PREFIX)), key=lambda n: (len(n), n))
    if not tpmi:
        return [_package_die(probe, name) for name in sorted(names)]
    dies = [_tpmi_die(probe, name) for name in tpmi]
    if any(d["package_id"] is None or d["domain_id"] is None for d in dies):
        errors.append("intel_uncore_frequency package_id/domain_id unreadable (the kernel makes them root-only): "
                      "power.uncore package_id/domain_id are null")
    if any(d["agent_types"] is None for d in dies):
        errors.append("intel_uncore_frequency has no agent_types (kernel older than 6.16): power.uncore kind is "
                      "null and the uncore limits treat every die as a compute die")
    return dies


def parse_msrs(probe: ProbeOutput, errors: list[str]) -> dict[str, int] | None:
    """{address: value} of the MSRs the probe read, when every package agrees; None when none was
    readable (no msr module, not root and no sudo grant, a snapshot). A register that differs across
    packages is left out."""
    seen: dict[str, set[int]] = {}
    for path in probe.matching(f"{paths.MSR_DIR}/", "").keys():
        cpu, sep, address = path.partition("/msr/")
        if not sep:  # dev/cpu/N/ also holds the cpuid driver's leaves (xeonfleet/parsers/cpuid.py)
            continue
        try:
            seen.setdefault(address, set()).add(int(probe.value(f"{paths.MSR_DIR}/{path}") or "", 16))
        except ValueError:
            errors.append(f"MSR {address} of CPU {cpu} is not a hex number in the probe output")
    if not seen:
        refused = sorted(p for p in probe.needs_root if p.startswith(f"{paths.MSR_DIR}/") and p.endswith("/msr"))
        errors += [f"{needs_root_reason('MSRs', device)}: power.msr unknown" for device in refused]
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
        "uncore": parse_uncore(probe, errors),
        "msr": parse_msrs(probe, errors),
    }
