"""Read-only PCIe checks: a NIC or NVMe drive whose link trained below what the device supports.

A 100G NIC in a slot wired x8, or a riser that forces Gen3, still links up and passes traffic at half
its bandwidth: nothing logs it. The kernel shows the trained link next to the device's maximum
(current_/max_link_speed, current_/max_link_width); these checks compare the two for every physical
NIC and NVMe controller and name each device below its maximum with its NUMA node.
"""

from __future__ import annotations

from typing import Any

from xeonfleet.knobs.status import FAIL, PASS, UNKNOWN
from xeonfleet.knobs.base import Facts, fact

Verdict = tuple[str, str, str]
EXPECTED = "every link at its device's maximum speed and width"


def link_text(link: dict[str, Any]) -> str:
    node = link.get("numa_node")
    where = f", NUMA node {node}" if node is not None else ""
    return (f"{link.get('speed_gts')} GT/s x{link.get('width')} of {link.get('max_speed_gts')} GT/s "
            f"x{link.get('max_width')}{where}")


def below_maximum(link: dict[str, Any]) -> bool:
    speed, max_speed = link.get("speed_gts"), link.get("max_speed_gts")
    width, max_width = link.get("width"), link.get("max_width")
    return bool((speed and max_speed and speed < max_speed) or (width and max_width and width < max_width))


def _check_links(devices: list[dict[str, Any]], kind: str) -> Verdict:
    linked = [d for d in devices if d.get("pcie")]
    if not linked:
        return UNKNOWN, f"no PCIe link attributes for any {kind} (virtual devices or none)", EXPECTED
    slow = [f"{d['name']} {link_text(d['pcie'])}" for d in linked if below_maximum(d["pcie"])]
    if slow:
        return FAIL, "; ".join(slow), EXPECTED
    return PASS, "; ".join(f"{d['name']} {link_text(d['pcie'])}" for d in linked), EXPECTED


def check_nic_links(facts: Facts, wanted: Any) -> Verdict:
    """Physical NICs that are up: a down port's link reads its last or lowest state."""
    return _check_links([n for n in fact(facts, "nics") or [] if n.get("operstate") == "up"], "NIC")


def check_nvme_links(facts: Facts, wanted: Any) -> Verdict:
    return _check_links([d for d in fact(facts, "disks") or [] if d.get("nvme")], "NVMe drive")
