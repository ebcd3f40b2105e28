"""Generate a Xeon-like /proc + /sys tree from a hardware profile, in the `lscpu --sysroot` layout.

The lab fleet mounts this tree over a namespaced host's /proc and /sys paths, and offline tests read
it with `--sysroot`; real tools (lscpu, numactl, dmidecode) must read it as they read a real kernel.
So every file follows the kernel's own format. Each part of the tree has its writer: sysroot_proc,
sysroot_cpus (which also numbers the CPUs), sysroot_memory, sysroot_devices, sysroot_registers; the
SMBIOS table is lab/smbios.py's, and this module puts them together, with the DMI files.
"""

from __future__ import annotations

from pathlib import Path

from xeonfleet.lab.hardware_profile import HardwareProfile
from xeonfleet.lab.hardware_specs import BiosSpec, SystemSpec
from xeonfleet.lab.smbios import build_smbios, host_bytes
from xeonfleet.lab.sysroot_cpus import logical_cpus, write_cpus
from xeonfleet.lab.sysroot_devices import write_block, write_net
from xeonfleet.lab.sysroot_memory import node_mem_kb, write_cxl_regions, write_memory_tiers, write_mm, write_nodes
from xeonfleet.lab.sysroot_proc import write_proc
from xeonfleet.lab.sysroot_registers import write_cpuid, write_msrs, write_uncore
from xeonfleet.lab.sysroot_writer import TreeWriter
from xeonfleet.parsers import sysfs_paths as paths


def build_sysroot(hw: HardwareProfile, dest: Path, hostname: str) -> None:
    """Write the /proc and /sys files a real kernel on `hw` would show, under `dest`.

    `hostname` seeds the per-machine identity (serial numbers, UUID, MAC addresses) so several
    hosts of the same profile stay distinguishable, as real machines are.
    """
    build_shared_tree(hw, dest)
    write_host_identity(hw, dest, hostname)


def build_shared_tree(hw: HardwareProfile, dest: Path) -> None:
    """Every file of the tree that is the same on all hosts of `hw`: all but `write_host_identity`'s.

    The lab builds this once per profile and lays each host's identity over it, so 1,000 hosts of
    six profiles hold six trees (~35 MB each on tmpfs) instead of 1,000.
    """
    out = TreeWriter(Path(dest))
    cpus = logical_cpus(hw)
    online = [c for c in cpus if c.id not in hw.offline_cpus]
    node_kb = node_mem_kb(hw)
    write_proc(out, hw, online, sum(node_kb))
    write_cpus(out, hw, cpus, online)
    write_nodes(out, hw, online, node_kb)
    write_memory_tiers(out, hw)
    write_cxl_regions(out, hw)
    write_mm(out, hw)
    write_net(out, hw)
    write_block(out, hw)
    write_msrs(out, hw, online)
    write_cpuid(out, hw)
    write_uncore(out, hw)
    if hw.bios is not None and hw.system is not None:
        _write_dmi_id(out, hw.bios, hw.system)


def write_host_identity(hw: HardwareProfile, dest: Path, hostname: str) -> None:
    """The few files that tell hosts of one profile apart, seeded by `hostname`: the hostname, NIC MAC
    addresses and the SMBIOS table (serials, UUID). Under 10 kB, so it fits a host's own layer."""
    out = TreeWriter(Path(dest))
    out.lines("proc/sys/kernel/hostname", hostname)
    for nic in hw.nics:
        host_part = host_bytes(hostname, nic.name)[:3]
        out.lines(f"{paths.NET}/{nic.name}/address", nic.mac_prefix + "".join(f":{b:02x}" for b in host_part))
    if hw.bios is not None and hw.system is not None:
        entry_point, table = build_smbios(hw, hostname)
        # root-only, as the kernel makes them (drivers/firmware/dmi_scan.c: 0400)
        out.write("sys/firmware/dmi/tables/smbios_entry_point", entry_point, 0o400)
        out.write("sys/firmware/dmi/tables/DMI", table, 0o400)



def _write_dmi_id(out: TreeWriter, bios: BiosSpec, system: SystemSpec) -> None:
    """The kernel's parsed copy of the SMBIOS table in /sys/class/dmi/id (the raw table, which holds the
    serials, is per host: see write_host_identity)."""
    dmi = "sys/class/dmi/id"
    for name, value in (("bios_vendor", bios.vendor), ("bios_version", bios.version),
                        ("bios_date", bios.date), ("sys_vendor", system.manufacturer),
                        ("product_name", system.product), ("product_family", system.family)):
        out.lines(f"{dmi}/{name}", value)
