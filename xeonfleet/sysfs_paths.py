"""Where the kernel shows each setting a node fact reads or a tune command writes: one table.

The probe's parsers, the tune commands (through the knob declarations) and the lab's sysroot generator
all take their paths from here, so the file a knob is audited from is the file it is set through and the
file the lab simulates. Paths are relative to the root (the probe reads under $ROOT, the lab writes under
its tree); `node()` turns one into the absolute path a command on a live node uses. Per-CPU files are a
leaf under `cpu_dir(N)`; `every_cpu(leaf)` is the shell glob over all CPUs (kept unquoted so it expands).
"""

from __future__ import annotations

import re

CPU = "sys/devices/system/cpu"
NODE = "sys/devices/system/node"

# Leaves under sys/devices/system/cpu/cpuN/.
GOVERNOR = "cpufreq/scaling_governor"
GOVERNORS_AVAILABLE = "cpufreq/scaling_available_governors"
SCALING_DRIVER = "cpufreq/scaling_driver"
EPP = "cpufreq/energy_performance_preference"
EPP_AVAILABLE = "cpufreq/energy_performance_available_preferences"
EPB = "power/energy_perf_bias"

# Global files.
PSTATE_STATUS = f"{CPU}/intel_pstate/status"
NO_TURBO = f"{CPU}/intel_pstate/no_turbo"
BOOST = f"{CPU}/cpufreq/boost"
CPUIDLE_DRIVER = f"{CPU}/cpuidle/current_driver"
THP_DIR = "sys/kernel/mm/transparent_hugepage"
THP_ENABLED = f"{THP_DIR}/enabled"

# intel_uncore_frequency: one directory per package and die, frequencies in kHz; the kernel keeps the
# firmware's limits in initial_{min,max}_freq_khz (read-only), which is what `default` means.
UNCORE = f"{CPU}/intel_uncore_frequency"
UNCORE_DIE_GLOB = f"{UNCORE}/package_[0-9]*_die_[0-9]*"

# The msr driver's per-CPU device: an 8-byte pread/pwrite at offset = the MSR's address.
MSR_DIR = "dev/cpu"

NET = "sys/class/net"
NVME = "sys/class/nvme"
# PCIe link attributes under a PCI device directory (NIC: sys/class/net/IF/device, NVMe: .../nvmeN/device).
PCIE_LINK = ("current_link_speed", "current_link_width", "max_link_speed", "max_link_width", "numa_node")


def cpu_dir(cpu: int) -> str:
    return f"{CPU}/cpu{int(cpu)}"


def every_cpu(leaf: str) -> str:
    """The glob over every CPU's `leaf` (offline CPUs have no such file, so they drop out)."""
    return f"{CPU}/cpu[0-9]*/{leaf}"


def cstate(index: int, leaf: str) -> str:
    """A leaf of cpuidle state `index` under a CPU directory, e.g. cstate(2, "disable")."""
    return f"cpuidle/state{int(index)}/{leaf}"


def msr_device(cpu: int) -> str:
    return f"{MSR_DIR}/{int(cpu)}/msr"


def nvme_device(disk: str) -> str:
    """The PCI device directory of an NVMe namespace's controller: nvme0n1 -> sys/class/nvme/nvme0/device."""
    match = re.match(r"nvme\d+", disk)
    if match is None:
        raise ValueError(f"{disk!r} is not an NVMe namespace name (nvmeXnY)")
    return f"{NVME}/{match.group(0)}/device"


def sysctl(key: str) -> str:
    """procfs file of a sysctl: vm.swappiness -> proc/sys/vm/swappiness."""
    return "proc/sys/" + key.replace(".", "/")


def node(path: str) -> str:
    """The absolute path on a live node."""
    return "/" + path
