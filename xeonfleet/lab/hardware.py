"""Hardware profiles: typed, validated descriptions of the servers the lab fleet impersonates.

A profile (`hardware/NAME.yaml`) is pure data: CPU identity and flags, topology, DIMMs, firmware,
power management, kernel settings, NICs and disks, plus an `expect:` block saying what the fact
collectors must report for it. `xeonfleet.lab.sysroot` turns a profile into a /proc + /sys tree.

The profile is a pydantic model: field types check every value, validators the cross-field rules,
and every problem becomes one line naming the file and line that holds it, the dotted key and the fix.
"""

from __future__ import annotations

import difflib
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo,
                      field_validator, model_validator)
from pydantic_core import ErrorDetails, PydanticCustomError

from xeonfleet import resources
from xeonfleet.knobs.thp import THP_CHOICES
from xeonfleet.merge import deep_merge
from xeonfleet.yaml_lines import UNKNOWN_KEY, compose, dotted, find, yaml_error_line

HARDWARE = "hardware"  # the resources kind: $XEONFLEET_PATH/hardware, ./hardware, then the packaged ones
CHANNEL_LETTERS = "ABCDEFGHIJKLMNOP"
EXAMPLE = "the shipped hardware profile icx-8380-2s"
_SYSCTL_KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
_HEX64 = re.compile(r"0x[0-9a-fA-F]{1,16}")
_CPUID_LEAF = re.compile(r"0x[0-9a-f]{1,8}\.0x[0-9a-f]{1,8}")
_CPUID_REGS = re.compile(r"[0-9a-f]{8}( [0-9a-f]{8}){3}")
_INVALID = "hardware_profile"  # the pydantic error type of our own checks


class HardwareProfileError(ValueError):
    """A hardware profile is missing, unreadable or inconsistent (message is one line)."""


def _invalid(problem: str, fix: str, *at: str | int) -> PydanticCustomError:
    """Our own check failed: `at` is the key to blame, relative to the model that checks it."""
    return PydanticCustomError(_INVALID, "{problem}; {fix}", {"problem": problem, "fix": fix, "at": at})


def _scalar_text(value: Any) -> Any:
    """YAML numbers written where text is meant (a BIOS `version: 2.1`, a sysctl `10`) become their text."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _at_least_one(count: int) -> int:
    if count < 1:
        raise _invalid(f"must be >= 1, got {count}", "use a positive count")
    return count


def _sysctl_name(name: str) -> str:
    if not _SYSCTL_KEY.match(name):
        raise _invalid("is not a dotted sysctl name", "write it like vm.swappiness")
    return name


def _hex64(text: str) -> str:
    if not _HEX64.fullmatch(text):
        raise _invalid(f"{text!r} is not a 64-bit hex number",
                       "write both as quoted hex strings, e.g. \"0x1a4\": \"0x0\"")
    return text


def _cpuid_leaf(text: str) -> str:
    if not _CPUID_LEAF.fullmatch(text):
        raise _invalid(f"{text!r} is not a CPUID leaf", 'write it "0xLEAF.0xSUBLEAF" in lowercase hex, e.g. "0x7.0x1"')
    return text


def _cpuid_regs(text: str) -> str:
    if not _CPUID_REGS.fullmatch(text):
        raise _invalid(f"{text!r} is not four CPUID registers",
                       'write EAX EBX ECX EDX as 8 lowercase hex digits each, e.g. "00000000 00000000 00200000 00000000"')
    return text


Text = Annotated[str, BeforeValidator(_scalar_text)]
Count = Annotated[int, AfterValidator(_at_least_one)]
SysctlName = Annotated[str, AfterValidator(_sysctl_name)]
Hex64 = Annotated[str, AfterValidator(_hex64)]  # an MSR address: a YAML key, so quoted text only
Hex64Text = Annotated[str, BeforeValidator(_scalar_text), AfterValidator(_hex64)]
CpuidLeaf = Annotated[str, AfterValidator(_cpuid_leaf)]
CpuidRegs = Annotated[str, AfterValidator(_cpuid_regs)]


class _Spec(BaseModel):
    """A part of a hardware profile: strict types (YAML's `true` is no int), no unknown keys, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CpuSpec(_Spec):
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


class NamedSlot(_Spec):
    """A slot as its vendor names it, placed where the vendor's population guide puts it.

    This is the lab's ground truth: the parsers must find socket and channel from the names alone.
    """

    socket: int
    channel: Text
    slot: int  # 1 = the slot of the channel populated first
    locator: Text
    bank: Text = ""  # "": no Bank Locator string (dmidecode prints "Not Specified")


class MemorySpec(_Spec):
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


class BiosSpec(_Spec):
    vendor: Text
    version: Text
    date: Text  # MM/DD/YYYY, as SMBIOS stores it
    release: Text = "1.0"  # "major.minor" system BIOS release
    rom_size_mb: int = 32


class SystemSpec(_Spec):
    manufacturer: Text
    product: Text
    family: Text = ""
    sku: Text = ""


class CState(_Spec):
    name: Text
    desc: Text
    latency: int  # microseconds
    residency: int  # microseconds
    disabled: bool = False


class PowerSpec(_Spec):
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
    cstates: list[CState] = Field(default_factory=list)

    @property
    def turbo_enabled(self) -> bool:
        return self.no_turbo == 0 or self.boost == 1

    @model_validator(mode="after")
    def _choices_available(self) -> PowerSpec:
        if self.driver is not None:
            available = self.governors_available.split()
            if self.governor not in available:
                raise _invalid(f"{self.governor!r} is not in governors_available",
                               f"use one of: {', '.join(available)}", "governor")
            if self.epp is not None and self.epp not in self.epp_available.split():
                raise _invalid(f"{self.epp!r} is not in epp_available", f"use one of: {self.epp_available}", "epp")
        if self.cstates and self.cpuidle_driver is None:
            raise _invalid("listed without a cpuidle_driver", "set power.cpuidle_driver", "cstates")
        return self


class ThpSpec(_Spec):
    enabled: Text = "madvise"
    defrag: Text = "madvise"

    @field_validator("enabled", "defrag")
    @classmethod
    def _kernel_choice(cls, value: str, info: ValidationInfo) -> str:
        choices = THP_CHOICES[info.field_name]
        if value not in choices:
            raise _invalid(f"{value!r} is not a kernel choice", f"use one of: {' '.join(choices)}")
        return value


class KernelSpec(_Spec):
    release: Text
    cmdline: Text


class PcieLink(_Spec):
    """A PCI device's link as sysfs shows it (current_link_speed reads "16.0 GT/s PCIe")."""

    speed_gts: float
    width: int
    max_speed_gts: float
    max_width: int
    numa_node: int = -1  # -1: the firmware did not say (what the kernel shows then)


class UncoreElc(_Spec):
    """Efficiency latency control of a TPMI die (kernel 6.12+, UFS firmware v2): its four elc_* files."""

    floor_khz: int
    low_threshold_percent: int
    high_threshold_percent: int
    high_threshold_enable: bool


class UncoreDies(_Spec):
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
            raise _invalid("initial_min_khz must be > 0 and <= initial_max_khz", "fix the limits")
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
                    raise _invalid("only the TPMI driver has it", "set uncore.layout: tpmi or remove it", key)
        return self


class Nic(_Spec):
    name: Text
    speed: int  # Mb/s, as /sys/class/net/IFACE/speed
    mac_prefix: Text = "02:00:00"  # vendor OUI; the host part is derived from the hostname
    mtu: int = 1500
    operstate: Text = "up"
    pcie: PcieLink | None = None  # None: no PCIe link files (virtio, on-board without them)


class Disk(_Spec):
    name: Text
    size_gb: int
    rotational: bool = False
    pcie: PcieLink | None = None  # NVMe controllers: the link of /sys/class/nvme/nvmeN/device


class NumaNodeSpec(_Spec):
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


class MemoryTieringSpec(_Spec):
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


class HardwareProfile(_Spec):
    name: Text
    description: Text
    sockets: Count
    cores_per_socket: Count
    threads_per_core: Count
    nodes_per_socket: Count
    cpu: CpuSpec
    memory: MemorySpec
    power: PowerSpec
    kernel: KernelSpec
    bios: BiosSpec | None = None  # None: no DMI tables at all (many VMs)
    system: SystemSpec | None = None
    thp: ThpSpec = Field(default_factory=ThpSpec)
    sysctls: dict[SysctlName, Text] = Field(default_factory=dict)
    nics: list[Nic] = Field(default_factory=list)
    disks: list[Disk] = Field(default_factory=list)
    # MSR address -> 64-bit value on every CPU, both hex strings; none: no /dev/cpu/N/msr files.
    msrs: dict[Hex64, Hex64Text] = Field(default_factory=dict)
    # CPU 0's CPUID leaves, "0xLEAF.0xSUBLEAF" -> "EAX EBX ECX EDX", as the probe prints them (the leaves of
    # xeonfleet/parsers/cpuid.py LEAVES); none: no /dev/cpu/0/cpuid (driver not loaded, a VM without it).
    cpuid: dict[CpuidLeaf, CpuidRegs] = Field(default_factory=dict)
    uncore: UncoreSpec | None = None  # None: no intel_uncore_frequency driver (AMD, VMs, older kernels)
    # Every NUMA node in id order, for uneven splits and CPU-less memory; empty: nodes_per_socket CPU
    # nodes per socket splitting the cores evenly.
    numa_layout: list[NumaNodeSpec] = Field(default_factory=list)
    memory_tiering: MemoryTieringSpec | None = None
    offline_cpus: list[int] = Field(default_factory=list)
    expect: dict[str, Any] = Field(default_factory=dict)

    @property
    def has_dmi(self) -> bool:
        return self.bios is not None

    @property
    def has_cpufreq(self) -> bool:
        return self.power.driver is not None

    @property
    def numa_nodes(self) -> int:
        return len(self.node_specs())

    def node_specs(self) -> list[NumaNodeSpec]:
        """Every NUMA node in id order: numa_layout as written, else nodes_per_socket dram nodes per socket
        with the cores split evenly."""
        if self.numa_layout:
            return list(self.numa_layout)
        share = self.cores_per_socket // self.nodes_per_socket
        return [NumaNodeSpec(socket=socket, cores=share)
                for socket in range(self.sockets) for _ in range(self.nodes_per_socket)]

    @property
    def logical_cpus(self) -> int:
        return self.sockets * self.cores_per_socket * self.threads_per_core

    def dimm_slots(self) -> list[DimmSlot]:
        """Every memory slot in SMBIOS type 17 order: the named slots as listed, else socket-major
        then channel then slot, named CPU0_DIMM_A1 with bank NODE 0 as Intel boards do."""
        mem = self.memory
        if mem.slots:
            return [DimmSlot(s.socket, s.channel, s.slot, 0 if s.locator in mem.empty else mem.size_gb, s.locator, s.bank)
                    for s in mem.slots]
        channels = CHANNEL_LETTERS[: mem.channels_per_socket]
        populated = mem.populated or channels
        return [
            DimmSlot(socket, channel, slot, mem.size_gb if slot == 1 and channel in populated else 0,
                     f"CPU{socket}_DIMM_{channel}{slot}", f"NODE {socket}")
            for socket in range(self.sockets)
            for channel in channels
            for slot in range(1, mem.slots_per_channel + 1)
        ]

    @property
    def installed_gb(self) -> int:
        """Installed memory: the DIMMs, or memory.total_gb when the profile has none."""
        if self.memory.total_gb is not None:
            return self.memory.total_gb
        return sum(d.size_gb for d in self.dimm_slots())

    # Cross-field rules the field types cannot express; each error names the key to fix.

    @model_validator(mode="after")
    def _topology_consistent(self) -> HardwareProfile:
        if not self.numa_layout and self.cores_per_socket % self.nodes_per_socket:
            raise _invalid(f"{self.nodes_per_socket} does not divide {self.cores_per_socket} cores",
                           "use a divisor of cores_per_socket, or list the nodes in numa_layout for an uneven split",
                           "nodes_per_socket")
        for cpu in self.offline_cpus:
            if not 0 < cpu < self.logical_cpus:
                raise _invalid(f"CPU {cpu} is not in 1..{self.logical_cpus - 1}",
                               "list existing CPUs other than cpu0 (cpu0 cannot go offline)", "offline_cpus")
        if (self.bios is None) != (self.system is None):
            raise _invalid("bios and system must be given together (both DMI) or both left out (no DMI)",
                           "add the missing one or remove both", "bios")
        return self

    @model_validator(mode="after")
    def _numa_layout_consistent(self) -> HardwareProfile:
        for index, node in enumerate(self.numa_layout):
            if not 0 <= node.socket < self.sockets:
                raise _invalid(f"socket {node.socket} does not exist", f"use sockets 0..{self.sockets - 1}",
                               "numa_layout", index, "socket")
            if node.kind == "dram" and (node.cores < 1 or node.memory_gb):
                raise _invalid("a dram node needs cores >= 1 and takes its memory from its socket's DIMMs",
                               "give cores and drop memory_gb (or set kind: cxl, hbm or memory-only)",
                               "numa_layout", index)
            if node.kind != "dram" and (node.cores or node.memory_gb < 1):
                raise _invalid(f"a {node.kind} node has no CPUs and needs memory_gb >= 1",
                               "set memory_gb and drop cores", "numa_layout", index)
            if node.memory_tier is not None and self.memory_tiering is None:
                raise _invalid("needs the kernel's memory tiers", "add memory_tiering: {} (kernel 6.1+) or drop it",
                               "numa_layout", index, "memory_tier")
        for socket in range(self.sockets if self.numa_layout else 0):
            mine = [node for node in self.numa_layout if node.socket == socket and node.kind == "dram"]
            if sum(node.cores for node in mine) != self.cores_per_socket:
                raise _invalid(f"the dram nodes of socket {socket} hold {sum(node.cores for node in mine)} cores, "
                               f"cores_per_socket is {self.cores_per_socket}", "make them add up", "numa_layout")
            if len(mine) != self.nodes_per_socket:
                raise _invalid(f"socket {socket} has {len(mine)} dram nodes in numa_layout", "make them agree",
                               "nodes_per_socket")
        return self

    @model_validator(mode="after")
    def _memory_consistent(self) -> HardwareProfile:
        mem = self.memory
        if mem.slots:
            self._named_slots_consistent()
        elif mem.total_gb is None:
            channels = CHANNEL_LETTERS[: mem.channels_per_socket]
            if not channels or mem.size_gb < 1:
                raise _invalid("needs channels_per_socket and size_gb (or total_gb)",
                               "describe the DIMMs or give total_gb", "memory")
            stray = set(mem.populated) - set(channels)
            if stray:
                raise _invalid(f"channels {''.join(sorted(stray))} do not exist", f"use letters from {channels}",
                               "memory", "populated")
        if mem.total_gb is None and mem.type not in ("DDR4", "DDR5"):
            raise _invalid(f"{mem.type!r} is not supported", "use DDR4 or DDR5", "memory", "type")
        if mem.total_gb is not None and self.has_dmi:
            raise _invalid("is only for profiles without DMI", "describe the DIMMs instead", "memory", "total_gb")
        return self

    def _named_slots_consistent(self) -> None:
        """Vendor-named slots: unique names on real sockets, consistent with the compact keys a parent gave."""
        mem = self.memory
        names = [(s.locator, s.bank) for s in mem.slots]  # AMD boards repeat "DIMM 0" under each bank
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise _invalid(f"slot {twice[0][0]} (bank {twice[0][1]!r}) is listed twice", "name every slot once",
                           "memory", "slots")
        locators = [s.locator for s in mem.slots]
        for index, slot in enumerate(mem.slots):
            if not 0 <= slot.socket < self.sockets or slot.slot < 1:
                raise _invalid(f"{slot.locator} is on socket {slot.socket} slot {slot.slot}",
                               f"use sockets 0..{self.sockets - 1} and slots from 1", "memory", "slots", index)
        stray = [name for name in mem.empty if name not in locators]
        if stray:
            raise _invalid(f"{stray[0]} is not a slot in memory.slots", "list locators of memory.slots",
                           "memory", "empty")
        if mem.populated:
            raise _invalid("is for the compact form", "list the empty slots in memory.empty", "memory", "populated")
        if mem.size_gb < 1:
            raise _invalid("missing for the named slots", "give the DIMM size in GB", "memory", "size_gb")
        for socket in range(self.sockets):
            mine = [s for s in mem.slots if s.socket == socket]
            channels = {s.channel for s in mine}
            if mem.channels_per_socket and len(channels) != mem.channels_per_socket:
                raise _invalid(f"socket {socket} has {len(channels)} channels, "
                               f"channels_per_socket says {mem.channels_per_socket}", "make them agree",
                               "memory", "slots")
            if mine and max(s.slot for s in mine) > mem.slots_per_channel:
                raise _invalid(f"socket {socket} has a slot {max(s.slot for s in mine)}, "
                               f"slots_per_channel says {mem.slots_per_channel}", "make them agree", "memory", "slots")


def list_hardware() -> list[str]:
    """Names of the hardware profiles on the search path (xeonfleet/resources.py), the shipped ones included."""
    return resources.names(HARDWARE)


Sources = list[tuple[Path, yaml.Node]]  # every file of the include chain with its node tree, child first


def load_hardware(name_or_path: str | Path) -> HardwareProfile:
    """Load and validate a profile by name (`icx-8380-2s`) or by path to a YAML file."""
    path = _locate(name_or_path)
    sources: Sources = []
    data = _read_with_includes(path, sources)
    data["name"] = path.stem
    try:
        return HardwareProfile.model_validate(data)
    except ValidationError as exc:
        # An unknown key first: it is usually a typo of the key another error calls missing.
        error = min(exc.errors(), key=lambda e: e["type"] not in UNKNOWN_KEY)
        raise HardwareProfileError(_message(error, sources)) from None


def _locate(name_or_path: str | Path) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or len(candidate.parts) > 1:
        if candidate.is_file():
            return candidate
        raise HardwareProfileError(f"hardware profile file {candidate} does not exist; give an existing YAML path")
    path = resources.locate(HARDWARE, str(name_or_path))
    if path.is_file():
        return path
    known = ", ".join(list_hardware())
    raise HardwareProfileError(f"unknown hardware profile {name_or_path!r}; known profiles: {known}")


def _read_with_includes(path: Path, sources: Sources) -> dict[str, Any]:
    """Read one YAML file; `include: OTHER` starts from OTHER and overrides it key by key. Each file read
    is appended to `sources` (child first), for the line numbers of errors."""
    if path in (seen for seen, _ in sources):
        raise HardwareProfileError(f"{path}: include: loops back to itself; remove the cycle")
    try:
        text = path.read_text()
        root = compose(text)
        data = yaml.safe_load(text)
    except OSError as exc:
        raise HardwareProfileError(f"{path}: cannot read YAML ({exc}); fix the file") from exc
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise HardwareProfileError(f"{path}:{yaml_error_line(exc)}: cannot read YAML ({detail}); fix the file") from exc
    if not isinstance(data, dict) or root is None:
        raise HardwareProfileError(f"{path}: top level must be a mapping of keys; fix the file")
    sources.append((path, root))
    parent = data.pop("include", None)
    if parent is None:
        return data
    return deep_merge(_read_with_includes(_locate(str(parent)), sources), data)


def _where(sources: Sources, loc: tuple[str | int, ...]) -> str:
    """`file:line` of the key at `loc`: the child-most file that writes it (merged mappings take each key
    from the child-most file), else the file writing the deepest mapping that should hold it."""
    for end in range(len(loc), -1, -1):
        for path, root in sources:
            line, depth = find(root, loc[:end], key=True)
            if depth == end:
                return f"{path}:{line}"
    raise AssertionError("unreachable: the empty loc is found in every file")


# pydantic's type errors (strict mode) -> what the profile got wrong and how to write it instead.
_TYPE_ERRORS = {
    "int_type": ("expected int", "write an integer"),
    "float_type": ("expected float", "write a number"),
    "bool_type": ("expected bool", "write true or false"),
    "string_type": ("expected a string", "quote the value"),
    "list_type": ("expected a list", "write it as a YAML list"),
    "dict_type": ("expected a mapping", "write it as `key: value` lines"),
    "model_type": ("expected a mapping", "write it as `key: value` lines"),
}


def _message(error: ErrorDetails, sources: Sources) -> str:
    """One pydantic error -> `file:line: key: problem; fix`."""
    loc = tuple(part for part in error["loc"] if part != "[key]")  # a bad mapping key: blame the key
    kind, value = error["type"], error["input"]
    if kind == _INVALID:
        loc += tuple(error["ctx"]["at"])
        problem_fix = error["msg"]
    elif kind in UNKNOWN_KEY:
        names = _fields_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), names, n=1)
        problem_fix = "unknown key; " + (f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(names)}")
    elif kind == "missing":
        problem_fix = f"missing; add it (see {EXAMPLE} for an example)"
    else:
        problem, fix = _TYPE_ERRORS.get(kind, (kind.replace("_", " "), "see " + EXAMPLE))
        problem_fix = f"{problem}, got {value!r}; {fix}"
    where = _where(sources, loc[:-1] if kind == "missing" else loc)
    return f"{where}: {dotted(loc) or 'top level'}: {problem_fix}"


def _fields_at(loc: tuple[str | int, ...]) -> list[str]:
    """The keys of the model that validates the mapping at `loc` (list indexes skipped: items share one)."""
    model: type[BaseModel] = HardwareProfile
    for part in loc:
        if isinstance(part, str):
            annotation = model.model_fields[part].annotation  # X, X | None or list[X]
            (model,) = [arg for arg in (annotation, *typing.get_args(annotation))
                        if isinstance(arg, type) and issubclass(arg, BaseModel)]
    return list(model.model_fields)
