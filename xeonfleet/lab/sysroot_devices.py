"""Devices under /sys: NICs (/sys/class/net), disks (/sys/block) and the PCIe link of each that has one."""

from __future__ import annotations

from xeonfleet.lab.hardware_profile import HardwareProfile
from xeonfleet.lab.hardware_specs import PcieLinkSpec
from xeonfleet.lab.sysroot_writer import TreeWriter
from xeonfleet.parsers import sysfs_paths as paths


def write_net(out: TreeWriter, hw: HardwareProfile) -> None:
    for index, nic in enumerate(hw.nics):
        d = f"{paths.NET}/{nic.name}"
        out.lines(f"{d}/speed", nic.speed if nic.operstate == "up" else -1)
        out.lines(f"{d}/operstate", nic.operstate)
        out.lines(f"{d}/mtu", nic.mtu)
        out.lines(f"{d}/type", 1)  # ARPHRD_ETHER
        # A device/ link is what tells a physical NIC from lo, bridges and veths.
        out.lines(f"{d}/device/uevent", f"PCI_SLOT_NAME=0000:{0x17 + index:02x}:00.0")
        if nic.pcie is not None:
            _write_pcie_link(out, f"{d}/device", nic.pcie)


def write_block(out: TreeWriter, hw: HardwareProfile) -> None:
    for disk in hw.disks:
        d = f"sys/block/{disk.name}"
        out.lines(f"{d}/size", disk.size_gb * 10**9 // 512)  # 512-byte sectors, vendor GB
        out.lines(f"{d}/queue/rotational", int(disk.rotational))
        out.lines(f"{d}/device/model", "NVMe SSD" if disk.name.startswith("nvme") else "SATA SSD")
        if disk.pcie is not None and disk.name.startswith("nvme"):
            _write_pcie_link(out, paths.nvme_device(disk.name), disk.pcie)


def _write_pcie_link(out: TreeWriter, device_dir: str, link: PcieLinkSpec) -> None:
    """The PCI device's link attributes, in the kernel's "16.0 GT/s PCIe" format."""
    values = {"current_link_speed": f"{link.speed_gts:.1f} GT/s PCIe", "current_link_width": link.width,
              "max_link_speed": f"{link.max_speed_gts:.1f} GT/s PCIe", "max_link_width": link.max_width,
              "numa_node": link.numa_node}
    for name in paths.PCIE_LINK:
        out.lines(f"{device_dir}/{name}", values[name])
