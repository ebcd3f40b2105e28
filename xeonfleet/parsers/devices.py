"""NICs, disks, installed tools and framework environment records."""

from __future__ import annotations

import json

from xeonfleet.parsers import sysfs_paths as paths
from xeonfleet.parsers.sections import ProbeOutput, to_int

TOOLS = ("numactl", "cpupower", "dmidecode")
_VIRTUAL_NIC_PREFIXES = ("lo", "veth", "docker", "br-", "virbr", "tap", "tun")
_VIRTUAL_DISK_PREFIXES = ("loop", "ram", "zram", "dm-", "sr", "nbd")
ENV_RECORD = "/xeonfleet-env.json"
VIRTUAL = "sys/devices/virtual/"


def _gts(text: str | None) -> float | None:
    """ "16.0 GT/s PCIe" -> 16.0; None for "Unknown" or a missing file."""
    try:
        return float(text.split()[0]) if text else None
    except ValueError:
        return None


def parse_pcie_link(probe: ProbeOutput, device_dir: str) -> dict | None:
    """A PCI device's trained link against its maximum, and its NUMA node (None: not reported)."""
    values = {name: probe.value(f"{device_dir}/{name}") for name in paths.PCIE_LINK}
    if values["max_link_width"] is None and values["current_link_width"] is None:
        return None
    node = to_int(values["numa_node"])
    return {
        "speed_gts": _gts(values["current_link_speed"]), "width": to_int(values["current_link_width"]),
        "max_speed_gts": _gts(values["max_link_speed"]), "max_width": to_int(values["max_link_width"]),
        "numa_node": node if node is not None and node >= 0 else None,
    }


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
            "pcie": parse_pcie_link(probe, f"{paths.NET}/{name}/device"),
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
            "pcie": parse_pcie_link(probe, paths.nvme_device(name)) if name.startswith("nvme") else None,
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
