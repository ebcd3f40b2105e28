"""Assemble the NodeFacts JSON (docs/facts.md) from one probe output."""

from __future__ import annotations

from xeonfleet.parsers import cpuid, cpuinfo, devices, hypervisor, memory, microarch, numa, os, power, smbios, topology
from xeonfleet.parsers.sections import ProbeOutput, needs_root_reason, parse_probe_output

SCHEMA_VERSION = 1
DMI_TABLE = "sys/firmware/dmi/tables/DMI"


def _smbios(probe: ProbeOutput, errors: list[str]) -> dict | None:
    """The decoded SMBIOS table, or None with the reason in errors."""
    if DMI_TABLE in probe.binary:
        return smbios.decode_smbios(probe.binary[DMI_TABLE], errors)
    if DMI_TABLE in probe.needs_root:
        errors.append(f"{needs_root_reason('SMBIOS', DMI_TABLE)}: BIOS and DIMMs unknown")
    elif DMI_TABLE in probe.unreadable:
        errors.append(f"{DMI_TABLE} not readable: BIOS and DIMMs unknown")
    else:
        errors.append(f"no {DMI_TABLE} (VM or no DMI): BIOS and DIMMs unknown")
    return None


def base_ghz_and_source(identity: dict, base_khz: int | None) -> tuple[float | None, str | None]:
    """(GHz, source): the model name's "@ x GHz", else cpufreq's base_frequency, else the TSC.

    Without cpufreq (VMs), a TSC the kernel calibrated from CPUID (tsc_known_freq) runs at the
    nominal (base) clock, and cpuinfo's "cpu MHz" then reports it.
    """
    if identity["base_ghz"]:
        return identity["base_ghz"], "model_name"
    if base_khz:
        return round(base_khz / 1e6, 2), "cpufreq"
    if identity["mhz"] and {"tsc_known_freq", "constant_tsc"} <= set(identity["flags"]):
        return round(identity["mhz"] / 1000, 2), "tsc"
    return None, None


def _cpu(probe: ProbeOutput, errors: list[str]) -> tuple[dict, dict[int, int | None]]:
    blocks = cpuinfo.parse_cpuinfo_blocks(probe.lines("proc/cpuinfo"))
    identity = cpuinfo.summarize_cpuinfo(blocks, errors)
    topo = topology.parse_topology(probe, blocks, errors)
    package_of = topo.pop("package_of")
    dump, cpuid_missing = cpuid.from_probe(probe, identity["x86_flags"] is not None, errors)
    isa, isa_source = cpuid.merge_isa(identity["x86_flags"], dump)
    amx_usable, amx_reason = cpuid.amx_usable(identity["x86_flags"], dump, cpuid_missing,
                                              probe.value("proc/sys/kernel/osrelease"))
    # The flags CPUID proves too: a masked Granite Rapids shows amx_fp16 only there.
    arch_name, arch_source = microarch.identify(identity["vendor"], identity["family"], identity["model"],
                                                identity["stepping"], cpuid.proven_flags(identity["flags"], isa))
    found, segment_note = microarch.segment(arch_name, identity["model_name"])
    if arch_name and found is None and microarch.generations(arch_name):
        errors.append(f"cpu.segment unknown: {segment_note}")
    max_khz = probe.int_value("sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    base_ghz, base_source = base_ghz_and_source(identity, probe.int_value("sys/devices/system/cpu/cpu0/cpufreq/base_frequency"))
    cpu = {
        "vendor": identity["vendor"],
        "model_name": identity["model_name"],
        "family": identity["family"],
        "model": identity["model"],
        "stepping": identity["stepping"],
        "microarch": arch_name,
        "microarch_source": arch_source,
        "arch": identity["arch"],
        "hypervisor": None,  # set once SMBIOS is decoded (build_node_facts)
        **topo,
        "base_ghz": base_ghz,
        "base_ghz_source": base_source,
        "max_ghz": round(max_khz / 1e6, 2) if max_khz else None,
        "microcode": identity["microcode"],
        "microcode_uniform": identity["microcode_uniform"],
        "isa": isa,
        "isa_source": isa_source,
        "avx10": {"version": dump.avx10_version if dump else None,
                  "vector_bits": dump.avx10_vector_bits if dump else None},
        "amx_usable": amx_usable,
        "amx_usable_reason": amx_reason,
        "fma_units": microarch.fma_units(identity["model_name"], arch_name, isa["avx512f"]),
        "segment": found.name if found else None,
        "segment_note": segment_note if microarch.generations(arch_name) else None,
        "flags": identity["flags"],
    }
    return cpu, package_of


def build_node_facts(probe: ProbeOutput) -> dict:
    """Every NodeFacts key, null where the node cannot tell, with the reasons in errors."""
    errors: list[str] = []
    if not probe.complete:
        errors.append("probe output incomplete (no end marker): some facts may be missing")
    cpu, package_of = _cpu(probe, errors)
    total = memory.mem_total_bytes(probe.lines("proc/meminfo"), [])
    table = _smbios(probe, errors)
    cpu["hypervisor"] = hypervisor.detect_hypervisor(
        cpu["arch"], cpu["flags"], probe.value("sys/hypervisor/type"),
        [table["system"]["manufacturer"], table["system"]["product"], table["bios"]["vendor"]] if table else [],
        probe.value("sys/devices/system/clocksource/clocksource0/available_clocksource"))
    return {
        "schema_version": SCHEMA_VERSION,
        "cpu": cpu,
        "numa": numa.parse_numa(probe, package_of, cpu, total, errors),
        "memory": memory.parse_memory(
            probe.lines("proc/meminfo"), table, microarch.channels_per_socket(cpu["microarch"], cpu["model_name"]),
            errors,
        ),
        "bios": table["bios"] if table else {"vendor": None, "version": None, "date": None},
        "system": {
            **(table["system"] if table else {"manufacturer": None, "product": None}),
            "cpu_sockets_populated": table["cpu_sockets_populated"] if table else None,
        },
        "power": power.parse_power(probe, sorted(package_of), cpu["flags"], errors),
        "os": os.parse_os(probe, errors),
        "nics": devices.parse_nics(probe),
        "disks": devices.parse_disks(probe),
        "tools": devices.parse_tools(probe),
        "frameworks": {"envs": devices.parse_framework_envs(probe, errors)},
        "errors": errors,
    }


def node_facts_from_lines(lines: list[str]) -> dict:
    """Probe output lines -> NodeFacts (what the pyinfra fact and the sysroot path both call)."""
    return build_node_facts(parse_probe_output(lines))
