"""Kernel, distro, THP, sysctls and the xeonfleet runtime environment file."""

from __future__ import annotations

import re
import shlex

from xeonfleet.parsers.sections import ProbeOutput

SYSCTL_PREFIX = "proc/sys/"
# Sysctl files the probe reads that have their own place in the JSON, not os.sysctl.
_NOT_SYSCTLS = {"proc/sys/kernel/osrelease"}
_BRACKETED = re.compile(r"\[([^\]]+)\]")


def bracketed_choice(text: str | None) -> str | None:
    """"always [madvise] never" -> "madvise" (the kernel marks the active choice). A lone word is the
    choice too: a snapshot or lab tree holds a plain file, where writing "always" leaves just "always"."""
    match = _BRACKETED.search(text or "")
    if match:
        return match.group(1)
    words = (text or "").split()
    return words[0] if len(words) == 1 else None


def parse_key_values(lines: list[str] | None) -> dict[str, str]:
    """Shell-style KEY=value lines (os-release, profile.d), quotes removed, `export` allowed."""
    values = {}
    for line in lines or []:
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        if words[:1] == ["export"]:
            words = words[1:]
        for word in words:
            key, sep, value = word.partition("=")
            if sep and key.replace("_", "").isalnum():
                values[key] = value
    return values


def parse_sysctls(probe: ProbeOutput) -> dict[str, str]:
    """The sysctls the probe read, dotted names, values as the kernel prints them."""
    return {
        name.replace("/", "."): lines[0].strip()
        for name, lines in sorted(probe.matching(SYSCTL_PREFIX, "").items())
        if SYSCTL_PREFIX + name not in _NOT_SYSCTLS and lines
    }


# The kernel drivers that expose CPU 0's registers: msr (the MSR knobs) and cpuid (ISA cpuinfo omits).
CPU_DRIVERS = ("msr", "cpuid")


def parse_os(probe: ProbeOutput, errors: list[str]) -> dict:
    """The os.* block of docs/facts.md."""
    release = parse_key_values(probe.lines("etc/os-release"))
    if not release:
        errors.append("etc/os-release missing: distro unknown")
    cmdline = probe.value("proc/cmdline")
    return {
        "kernel": probe.value("proc/sys/kernel/osrelease"),
        "cmdline": cmdline,
        "distro": {
            "id": release.get("ID"),
            "version_id": release.get("VERSION_ID"),
            "pretty_name": release.get("PRETTY_NAME"),
        },
        "thp": bracketed_choice(probe.value("sys/kernel/mm/transparent_hugepage/enabled")),
        "thp_defrag": bracketed_choice(probe.value("sys/kernel/mm/transparent_hugepage/defrag")),
        "sysctl": parse_sysctls(probe),
        "runtime_env": parse_key_values(probe.lines("etc/profile.d/xeonfleet-ai.sh")),
        "cpu_drivers": {name: f"dev/cpu/0/{name}" in probe.devices for name in CPU_DRIVERS},
    }
