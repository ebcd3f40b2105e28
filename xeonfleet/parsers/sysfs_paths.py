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

# intel_uncore_frequency (Documentation/admin-guide/pm/intel_uncore_frequency_scaling.rst): one directory
# per die, frequencies in kHz; the kernel keeps the firmware's limits in initial_{min,max}_freq_khz
# (read-only), which is what `default` means. The MSR driver (Skylake-SP to Emerald Rapids) names them
# package_PP_die_DD; the TPMI driver (Granite Rapids, Sierra Forest; kernel 6.5+) names each die uncoreNN
# (an instance number, with package_id/domain_id files saying which die) and keeps one package_PP_die_00
# per package that reads the lowest min / highest max of its dies and writes all of them
# (drivers/platform/x86/intel/uncore-frequency/uncore-frequency-tpmi.c, root_domain).
UNCORE = f"{CPU}/intel_uncore_frequency"
UNCORE_TPMI_PREFIX = "uncore"
# Efficiency latency control, TPMI dies only (kernel 6.12+ and UFS firmware v2): read, never set.
UNCORE_ELC = ("elc_floor_freq_khz", "elc_low_threshold_percent", "elc_high_threshold_percent",
              "elc_high_threshold_enable")

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


def uncore_die(name: str, leaf: str) -> str:
    """A file of one intel_uncore_frequency die directory, e.g. uncore_die("uncore03", "max_freq_khz")."""
    return f"{UNCORE}/{name}/{leaf}"


def uncore_package_die(package: int, die: int) -> str:
    """The MSR driver's name of a die directory (uncore-frequency-common.c: package_%02d_die_%02d)."""
    return f"package_{int(package):02d}_die_{int(die):02d}"


def uncore_tpmi_die(instance: int) -> str:
    """The TPMI driver's name of a die directory (uncore-frequency-common.c: uncore%02d)."""
    return f"{UNCORE_TPMI_PREFIX}{int(instance):02d}"


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
