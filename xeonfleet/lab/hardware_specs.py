"""The parts of a hardware profile: CPU identity, memory slots, firmware, power management, kernel, PCIe
links, the uncore, NICs, disks and NUMA nodes.

Each part is a strict pydantic model that checks its own fields and the rules within it (a governor among
the available ones, TPMI-only uncore keys); the rules across parts are the whole profile's
(hardware_profile). `xeonfleet.lab.sysroot` writes each part as the kernel shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from xeonfleet.knobs.thp import THP_CHOICES
from xeonfleet.lab.hardware_fields import Spec, Text, invalid


class CpuSpec(Spec):
    """What /proc/cpuinfo and SMBIOS type 4 say about the processor model."""

    vendor: Text
    family: int
    model: int
    stepping: int
    model_name: Text
    flags: Text  # space separated, as in /proc/cpuinfo
    bugs: Text
    cpuid_level: int
    cache_kb: int  # the cpuinfo "cache size" line (the L3 per socket)
    mhz: float  # the cpuinfo "cpu MHz" line
    max_mhz: int  # SMBIOS "Max Speed"
    address_sizes: Text
    microcode: Text | None = None  # None: no microcode line (some guests)

    @property
    def flag_list(self) -> list[str]:
        return self.flags.split()


class NamedSlot(Spec):
    """A slot as its vendor names it, placed where the vendor's population guide puts it.

    This is the lab's ground truth: the parsers must find socket and channel from the names alone.
    """

    socket: int
    channel: Text
    slot: int  # 1 = the slot of the channel populated first
    locator: Text
    bank: Text = ""  # "": no Bank Locator string (dmidecode prints "Not Specified")


class MemorySpec(Spec):
    """DIMMs in a compact form: one DIMM in slot 1 of each populated channel of every socket.

    `populated` lists the channel letters holding a DIMM ("" = every channel); the remaining slots
    are written to SMBIOS as empty ("No Module Installed"). Profiles without DMI give `total_gb`.
    A board with its vendor's own slot names lists them in `slots` instead (SMBIOS order), with the
    locators left empty in `empty`; every other slot holds one size_gb DIMM.
    """

    channels_per_socket: int = 0
    slots_per_channel: int = 1
    populated: Text = ""
    size_gb: int = 0
    type: Text = "DDR4"
    speed_mts: int = 0
    configured_speed_mts: int = 0
    manufacturer: Text = ""
    part_number: Text = ""
    total_gb: int | None = None  # only when there are no DIMMs to sum (VMs)
    slots: list[NamedSlot] = Field(default_factory=list)
    empty: list[Text] = Field(default_factory=list)  # locators of the empty slots, with `slots`


class BiosSpec(Spec):
    vendor: Text
    version: Text
    date: Text  # MM/DD/YYYY, as SMBIOS stores it
    release: Text = "1.0"  # "major.minor" system BIOS release
    rom_size_mb: int = 32


class SystemSpec(Spec):
    manufacturer: Text
    product: Text
    family: Text = ""
    sku: Text = ""


class CStateSpec(Spec):
    name: Text
    desc: Text
    latency: int  # microseconds
    residency: int  # microseconds
    disabled: bool = False


class PowerSpec(Spec):
    """cpufreq, intel_pstate / acpi-cpufreq boost, EPP/EPB and cpuidle. driver None = no cpufreq."""

    driver: Text | None = None
    governor: Text = ""
    governors_available: Text = ""
    min_khz: int = 0
    max_khz: int = 0  # with turbo; the kernel reports base_khz instead while turbo is off
    base_khz: int = 0
    pstate_status: Text | None = None
    no_turbo: int | None = None  # intel_pstate
    boost: int | None = None  # acpi-cpufreq
    epp: Text | None = None
    epp_available: Text = ""
    epb: int | None = None
    cpuidle_driver: Text | None = None
    cpuidle_governor: Text = "menu"
    cstates: list[CStateSpec] = Field(default_factory=list)

    @property
    def turbo_enabled(self) -> bool:
        return self.no_turbo == 0 or self.boost == 1

    @model_validator(mode="after")
    def _choices_available(self) -> PowerSpec:
        if self.driver is not None:
            available = self.governors_available.split()
            if self.governor not in available:
                raise invalid(f"{self.governor!r} is not in governors_available",
                               f"use one of: {', '.join(available)}", "governor")
            if self.epp is not None and self.epp not in self.epp_available.split():
                raise invalid(f"{self.epp!r} is not in epp_available", f"use one of: {self.epp_available}", "epp")
        if self.cstates and self.cpuidle_driver is None:
            raise invalid("listed without a cpuidle_driver", "set power.cpuidle_driver", "cstates")
        return self


class ThpSpec(Spec):
    enabled: Text = "madvise"
    defrag: Text = "madvise"

    @field_validator("enabled", "defrag")
    @classmethod
    def _kernel_choice(cls, value: str, info: ValidationInfo) -> str:
        choices = THP_CHOICES[info.field_name]
        if value not in choices:
            raise invalid(f"{value!r} is not a kernel choice", f"use one of: {' '.join(choices)}")
        return value


class KernelSpec(Spec):
    release: Text
    cmdline: Text


class PcieLinkSpec(Spec):
    """A PCI device's link as sysfs shows it (current_link_speed reads "16.0 GT/s PCIe")."""

    speed_gts: float
    width: int
    max_speed_gts: float
    max_width: int
    numa_node: int = -1  # -1: the firmware did not say (what the kernel shows then)


class UncoreElc(Spec):
    """Efficiency latency control of a TPMI die (kernel 6.12+, UFS firmware v2): its four elc_* files."""

    floor_khz: int
    low_threshold_percent: int
    high_threshold_percent: int
    high_threshold_enable: bool


class UncoreDies(Spec):
    """intel_uncore_frequency limits of one kind of die, in kHz; initial_* are the firmware's."""

    initial_min_khz: int
    initial_max_khz: int
    min_khz: int = 0  # 0: the initial value
    max_khz: int = 0
    dies_per_package: int = 1
    agent_types: Text = ""  # tpmi: what agent_types lists, e.g. "core cache memory"; "": no file (before 6.16)
    elc: UncoreElc | None = None  # tpmi: None = no elc_* files (before 6.12, or UFS firmware v1)

    @model_validator(mode="after")
    def _firmware_range(self) -> UncoreDies:
        if not 0 < self.initial_min_khz <= self.initial_max_khz:
            raise invalid("initial_min_khz must be > 0 and <= initial_max_khz", "fix the limits")
        return self


class UncoreSpec(UncoreDies):
    """The uncore of each package: `dies_per_package` compute dies with these limits, and for layout tpmi
    optionally `io` dies. layout package_die: the MSR driver's package_PP_die_DD directories (up to Emerald
    Rapids); tpmi: the TPMI driver's uncoreNN per die (Granite Rapids, Sierra Forest; kernel 6.5+)."""

    layout: Literal["package_die", "tpmi"] = "package_die"
    io: UncoreDies | None = None  # tpmi: the I/O dies of each package (Granite Rapids has 2: pepc guide-uncore.md)

    @model_validator(mode="after")
    def _tpmi_only(self) -> UncoreSpec:
        if self.layout != "tpmi":
            for key, value in (("io", self.io), ("agent_types", self.agent_types), ("elc", self.elc)):
                if value:
                    raise invalid("only the TPMI driver has it", "set uncore.layout: tpmi or remove it", key)
        return self


class NicSpec(Spec):
    name: Text
    speed: int  # Mb/s, as /sys/class/net/IFACE/speed
    mac_prefix: Text = "02:00:00"  # vendor OUI; the host part is derived from the hostname
    mtu: int = 1500
    operstate: Text = "up"
    pcie: PcieLinkSpec | None = None  # None: no PCIe link files (virtio, on-board without them)


class DiskSpec(Spec):
    name: Text
    size_gb: int
    rotational: bool = False
    pcie: PcieLinkSpec | None = None  # NVMe controllers: the link of /sys/class/nvme/nvmeN/device


class NumaNodeSpec(Spec):
    """One NUMA node of an explicit layout, in node id order. A dram node holds `cores` of `socket` (the
    next ones, in core order) and an even share of that socket's DIMMs, as SNC splits the channels evenly
    even when the cores are not (a 6980P in SNC3: 43/43/42). A cxl, hbm or memory-only node has no CPUs,
    `memory_gb` of memory and hangs off `socket` (for its distances)."""

    socket: int = 0
    cores: int = 0
    kind: Literal["dram", "cxl", "hbm", "memory-only"] = "dram"
    memory_gb: int = 0
    # The kernel's memory_tierN for the node; None: the default, N = abstract distance >> 7
    # (mm/memory-tiers.c): 4 for DRAM (MEMTIER_ADISTANCE_DRAM 576), 22 for a CXL region onlined by dax
    # kmem without HMAT/CDAT figures (MEMTIER_DEFAULT_DAX_ADISTANCE 5 x DRAM, drivers/dax/kmem.c).
    memory_tier: int | None = None

    @property
    def default_tier(self) -> int:
        return self.memory_tier if self.memory_tier is not None else (22 if self.kind == "cxl" else 4)


class MemoryTieringSpec(Spec):
    """The kernel's memory tiers (kernel 6.1+: /sys/devices/virtual/memory_tiering/memory_tierN/nodelist)
    and /sys/kernel/mm/numa/demotion_enabled; a profile without it shows neither (older kernels)."""

    demotion_enabled: bool = False


@dataclass(frozen=True)
class DimmSlot:
    """One SMBIOS type 17 slot; size_gb 0 means empty."""

    socket: int
    channel: str
    slot: int
    size_gb: int
    locator: str
    bank: str
