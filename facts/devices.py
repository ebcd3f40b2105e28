"""Device facts: the PCIe link of every physical NIC and NVMe drive (what devices.*_link rules read)."""

from __future__ import annotations

from typing import Any

from xeonfleet.facts.probe import ProbeFact


class PcieLinks(ProbeFact[dict[str, dict[str, Any] | None]]):
    """{device name: {speed_gts, width, max_speed_gts, max_width, numa_node} or None} for NICs and NVMe."""

    abstract = False
    parts = ("devices",)

    @staticmethod
    def default() -> dict[str, dict[str, Any] | None]:
        return {}

    def pick(self, facts: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
        devices = [*facts["nics"], *(d for d in facts["disks"] if d["nvme"])]
        return {device["name"]: device["pcie"] for device in devices}
