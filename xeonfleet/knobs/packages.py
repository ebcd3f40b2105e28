"""Tools the guide relies on (`os.tools`: numactl, cpupower), installed from the distro's packages.

Which package ships a tool differs per distro family (cpupower: linux-cpupower, linux-tools-generic,
kernel-tools). A missing tool that may not (host data) or cannot (unknown distro) be installed is a plan
error, so the host is refused before any command runs.
"""

from __future__ import annotations

from typing import Any

from xeonfleet.knobs.base import Facts, Knob, ProfileKey, ProfileValues, Setter, fact
from xeonfleet.knobs import commands

DEBIAN_LIKE = ("debian", "ubuntu", "linuxmint", "pop")
RHEL_LIKE = ("rhel", "centos", "rocky", "almalinux", "fedora", "ol", "amzn")
PACKAGES = {
    "debian": {"numactl": "numactl", "cpupower": "linux-cpupower"},
    "ubuntu": {"numactl": "numactl", "cpupower": "linux-tools-generic"},
    "rhel": {"numactl": "numactl", "cpupower": "kernel-tools"},
}
PROFILE_KEYS = (ProfileKey("os.tools", lambda value: isinstance(value, list) and all(isinstance(v, str) for v in value),
                           "a list of tool names (numactl, cpupower)"),)


def distro_family(facts: Facts) -> str | None:
    distro = (fact(facts, "os.distro.id") or "").lower()
    if distro in DEBIAN_LIKE:
        return "ubuntu" if distro in ("ubuntu", "linuxmint", "pop") else "debian"
    if distro in RHEL_LIKE:
        return "rhel"
    return None


def package_manager(facts: Facts) -> str | None:
    family = distro_family(facts)
    return "apt" if family in ("debian", "ubuntu") else "dnf" if family == "rhel" else None


def install_command(manager: str | None, names: list[str]) -> str:
    if manager == "apt":
        return "DEBIAN_FRONTEND=noninteractive " + commands.sh("apt-get", "install", "-y", "--no-install-recommends", *names)
    return commands.sh("dnf", "install", "-y", *names)


def remove_command(manager: str | None, names: list[str]) -> str:
    if manager == "apt":
        return "DEBIAN_FRONTEND=noninteractive " + commands.sh("apt-get", "remove", "-y", *names)
    return commands.sh("dnf", "remove", "-y", *names)


def _tool_knob(tool: str) -> Knob:
    def package(facts: Facts) -> str:
        """Only asked once plan_error passed: the family and its package are known."""
        return PACKAGES[distro_family(facts)][tool]

    def plan_error(wanted: Any, facts: Facts, data: Any) -> str | None:
        if data.get("xeonfleet_install_packages") is False:
            return (f"{tool} required by the profile (os.tools) but absent, and host data "
                    "xeonfleet_install_packages is false; install it or add os.tool.NAME to xeonfleet_skip")
        family = distro_family(facts)
        if family is None:
            return (f"{tool} absent and no package is known for distro {fact(facts, 'os.distro.id')!r}; "
                    "install it by hand or skip os.tool.NAME")
        if tool not in PACKAGES[family]:
            return f"no package known for tool {tool!r} on {family}; install it by hand"
        return None

    return Knob(
        id=f"os.tool.{tool}", severity="medium", title=f"{tool} installed", facts=(f"tools.{tool}",),
        wanted=lambda profile, facts: True, key=tool, plan_error=plan_error,
        setter=Setter(command=lambda wanted, facts: install_command(package_manager(facts), [package(facts)]),
                      record=lambda knob_id, wanted, facts: commands.record_packages([package(facts)])),
    )


def knobs(profile: ProfileValues) -> list[Knob]:
    return [_tool_knob(tool) for tool in profile.get("os.tools", [])]
