"""NICs, disks, installed tools and framework environment records."""

from __future__ import annotations

import json

from xeonfleet.parsers.sections import ProbeOutput

TOOLS = ("numactl", "cpupower", "dmidecode")
_VIRTUAL_NIC_PREFIXES = ("lo", "veth", "docker", "br-", "virbr", "tap", "tun")
_VIRTUAL_DISK_PREFIXES = ("loop", "ram", "zram", "dm-", "sr", "nbd")
ENV_RECORD = "/xeonfleet-env.json"
VIRTUAL = "sys/devices/virtual/"


def parse_nics(probe: ProbeOutput) -> list[dict]:
    """Physical NICs with their link speed (null when down or unknown)."""
    nics = []
    for name, lines in sorted(probe.matching("sys/class/net/", "/operstate").items()):
        if f"{VIRTUAL}net/{name}" in probe.virtual_devices or name.startswith(_VIRTUAL_NIC_PREFIXES):
            continue
        speed = probe.int_value(f"sys/class/net/{name}/speed")
        nics.append({
            "name": name,
            "speed_mbps": speed if speed is not None and speed > 0 else None,
            "operstate": lines[0].strip() if lines else None,
        })
    return nics


def parse_disks(probe: ProbeOutput) -> list[dict]:
    """Block devices that are disks (loop, ram, device-mapper skipped)."""
    disks = []
    for name in sorted(probe.matching("sys/block/", "/size")):
        if f"{VIRTUAL}block/{name}" in probe.virtual_devices or name.startswith(_VIRTUAL_DISK_PREFIXES):
            continue
        sectors = probe.int_value(f"sys/block/{name}/size")
        disks.append({
            "name": name,
            "rotational": probe.value(f"sys/block/{name}/queue/rotational") == "1",
            "nvme": name.startswith("nvme"),
            "size_bytes": sectors * 512 if sectors is not None else None,
        })
    return disks


def parse_tools(probe: ProbeOutput) -> dict[str, bool]:
    return {tool: tool in probe.tools for tool in TOOLS}


def parse_framework_envs(probe: ProbeOutput, errors: list[str]) -> list[dict]:
    """The env records deploys/frameworks.py writes, passed through as parsed JSON."""
    envs = []
    for name, lines in sorted(probe.matching("opt/xeonfleet/envs/", ENV_RECORD).items()):
        try:
            envs.append(json.loads("\n".join(lines)))
        except ValueError as exc:
            errors.append(f"opt/xeonfleet/envs/{name}{ENV_RECORD} is not valid JSON: {exc}")
    return envs
