"""Hardware profiles: typed, validated descriptions of the servers the lab fleet impersonates.

A profile (`hardware/NAME.yaml`) is pure data: CPU identity and flags, topology, DIMMs, firmware,
power management, kernel settings, NICs and disks, plus an `expect:` block saying what the fact
collectors must report for it. `xeonfleet.lab.sysroot` turns a profile into a /proc + /sys tree.

Validation is generic (one builder walks the dataclass type hints) so every bad key or value gets
the same one-line error naming the file, the dotted key and the fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from xeonfleet.knobs.thp import THP_CHOICES
from xeonfleet.merge import deep_merge

HARDWARE_DIR = Path(__file__).resolve().parents[2] / "hardware"
CHANNEL_LETTERS = "ABCDEFGHIJKLMNOP"
_SYSCTL_KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")


class HardwareProfileError(ValueError):
    """A hardware profile is missing, unreadable or inconsistent (message is one line)."""


@dataclass(frozen=True)
class CpuSpec:
    """What /proc/cpuinfo and SMBIOS type 4 say about the processor model."""

    vendor: str
    family: int
    model: int
    stepping: int
    model_name: str
    flags: str  # space separated, as in /proc/cpuinfo
    bugs: str
    cpuid_level: int
    cache_kb: int  # the cpuinfo "cache size" line (the L3 per socket)
    mhz: float  # the cpuinfo "cpu MHz" line
    max_mhz: int  # SMBIOS "Max Speed"
    address_sizes: str
    microcode: str | None = None  # None: no microcode line (some guests)

    @property
    def flag_list(self) -> list[str]:
        return self.flags.split()


@dataclass(frozen=True)
class NamedSlot:
    """A slot as its vendor names it, placed where the vendor's population guide puts it.

    This is the lab's ground truth: the parsers must find socket and channel from the names alone.
    """

    socket: int
    channel: str
    slot: int  # 1 = the slot of the channel populated first
    locator: str
    bank: str = ""  # "": no Bank Locator string (dmidecode prints "Not Specified")


@dataclass(frozen=True)
class MemorySpec:
    """DIMMs in a compact form: one DIMM in slot 1 of each populated channel of every socket.

    `populated` lists the channel letters holding a DIMM ("" = every channel); the remaining slots
    are written to SMBIOS as empty ("No Module Installed"). Profiles without DMI give `total_gb`.
    A board with its vendor's own slot names lists them in `slots` instead (SMBIOS order), with the
    locators left empty in `empty`; every other slot holds one size_gb DIMM.
    """

    channels_per_socket: int = 0
    slots_per_channel: int = 1
    populated: str = ""
    size_gb: int = 0
    type: str = "DDR4"
    speed_mts: int = 0
    configured_speed_mts: int = 0
    manufacturer: str = ""
    part_number: str = ""
    total_gb: int | None = None  # only when there are no DIMMs to sum (VMs)
    slots: list[NamedSlot] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # locators of the empty slots, with `slots`


@dataclass(frozen=True)
class BiosSpec:
    vendor: str
    version: str
    date: str  # MM/DD/YYYY, as SMBIOS stores it
    release: str = "1.0"  # "major.minor" system BIOS release
    rom_size_mb: int = 32


@dataclass(frozen=True)
class SystemSpec:
    manufacturer: str
    product: str
    family: str = ""
    sku: str = ""


@dataclass(frozen=True)
class CState:
    name: str
    desc: str
    latency: int  # microseconds
    residency: int  # microseconds
    disabled: bool = False


@dataclass(frozen=True)
class PowerSpec:
    """cpufreq, intel_pstate / acpi-cpufreq boost, EPP/EPB and cpuidle. driver None = no cpufreq."""

    driver: str | None = None
    governor: str = ""
    governors_available: str = ""
    min_khz: int = 0
    max_khz: int = 0  # with turbo; the kernel reports base_khz instead while turbo is off
    base_khz: int = 0
    pstate_status: str | None = None
    no_turbo: int | None = None  # intel_pstate
    boost: int | None = None  # acpi-cpufreq
    epp: str | None = None
    epp_available: str = ""
    epb: int | None = None
    cpuidle_driver: str | None = None
    cpuidle_governor: str = "menu"
    cstates: list[CState] = field(default_factory=list)

    @property
    def turbo_enabled(self) -> bool:
        return self.no_turbo == 0 or self.boost == 1


@dataclass(frozen=True)
class ThpSpec:
    enabled: str = "madvise"
    defrag: str = "madvise"


@dataclass(frozen=True)
class KernelSpec:
    release: str
    cmdline: str


@dataclass(frozen=True)
class PcieLink:
    """A PCI device's link as sysfs shows it (current_link_speed reads "16.0 GT/s PCIe")."""

    speed_gts: float
    width: int
    max_speed_gts: float
    max_width: int
    numa_node: int = -1  # -1: the firmware did not say (what the kernel shows then)


@dataclass(frozen=True)
class UncoreSpec:
    """intel_uncore_frequency limits per package and die, in kHz; initial_* are the firmware's."""

    initial_min_khz: int
    initial_max_khz: int
    min_khz: int = 0  # 0: the initial value
    max_khz: int = 0
    dies_per_package: int = 1


@dataclass(frozen=True)
class Nic:
    name: str
    speed: int  # Mb/s, as /sys/class/net/IFACE/speed
    mac_prefix: str = "02:00:00"  # vendor OUI; the host part is derived from the hostname
    mtu: int = 1500
    operstate: str = "up"
    pcie: PcieLink | None = None  # None: no PCIe link files (virtio, on-board without them)


@dataclass(frozen=True)
class Disk:
    name: str
    size_gb: int
    rotational: bool = False
    pcie: PcieLink | None = None  # NVMe controllers: the link of /sys/class/nvme/nvmeN/device


@dataclass(frozen=True)
class DimmSlot:
    """One SMBIOS type 17 slot; size_gb 0 means empty."""

    socket: int
    channel: str
    slot: int
    size_gb: int
    locator: str
    bank: str


@dataclass(frozen=True)
class HardwareProfile:
    name: str
    description: str
    sockets: int
    cores_per_socket: int
    threads_per_core: int
    nodes_per_socket: int
    cpu: CpuSpec
    memory: MemorySpec
    power: PowerSpec
    kernel: KernelSpec
    bios: BiosSpec | None = None  # None: no DMI tables at all (many VMs)
    system: SystemSpec | None = None
    thp: ThpSpec = field(default_factory=ThpSpec)
    sysctls: dict[str, str] = field(default_factory=dict)
    nics: list[Nic] = field(default_factory=list)
    disks: list[Disk] = field(default_factory=list)
    # MSR address -> 64-bit value on every CPU, both hex strings; none: no /dev/cpu/N/msr files.
    msrs: dict[str, str] = field(default_factory=dict)
    uncore: UncoreSpec | None = None  # None: no intel_uncore_frequency driver (AMD, VMs, older kernels)
    offline_cpus: list[int] = field(default_factory=list)
    expect: dict[str, Any] = field(default_factory=dict)

    @property
    def has_dmi(self) -> bool:
        return self.bios is not None

    @property
    def has_cpufreq(self) -> bool:
        return self.power.driver is not None

    @property
    def numa_nodes(self) -> int:
        return self.sockets * self.nodes_per_socket

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


def list_hardware() -> list[str]:
    """Names of the shipped profiles (the YAML files in <repo>/hardware/)."""
    return sorted(p.stem for p in HARDWARE_DIR.glob("*.yaml"))


def load_hardware(name_or_path: str | Path) -> HardwareProfile:
    """Load and validate a profile by name (`icx-8380-2s`) or by path to a YAML file."""
    path = _locate(name_or_path)
    data = _read_with_includes(path, ())
    data["name"] = path.stem
    profile = _build(HardwareProfile, data, "", path)
    _check(profile, path)
    return profile


def _locate(name_or_path: str | Path) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or len(candidate.parts) > 1:
        if candidate.is_file():
            return candidate
        raise HardwareProfileError(f"hardware profile file {candidate} does not exist; give an existing YAML path")
    path = HARDWARE_DIR / f"{name_or_path}.yaml"
    if path.is_file():
        return path
    known = ", ".join(list_hardware())
    raise HardwareProfileError(f"unknown hardware profile {name_or_path!r}; known profiles: {known}")


def _read_with_includes(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    """Read one YAML file; `include: OTHER` starts from OTHER and overrides it key by key."""
    if path in seen:
        raise HardwareProfileError(f"{path}: include: loops back to itself; remove the cycle")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())
        raise HardwareProfileError(f"{path}: cannot read YAML ({detail}); fix the file") from exc
    if not isinstance(data, dict):
        raise HardwareProfileError(f"{path}: top level must be a mapping of keys; fix the file")
    parent = data.pop("include", None)
    if parent is None:
        return data
    return deep_merge(_read_with_includes(_locate(str(parent)), (*seen, path)), data)


def _fail(path: Path, key: str, problem: str, fix: str) -> HardwareProfileError:
    return HardwareProfileError(f"{path}: {key or 'top level'}: {problem}; {fix}")


def _build(cls: type, data: Any, prefix: str, path: Path) -> Any:
    """Build dataclass `cls` from a YAML mapping, checking keys and types against its hints."""
    if not isinstance(data, dict):
        raise _fail(path, prefix, f"expected a mapping, got {data!r}", "write it as `key: value` lines")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            fix = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(names)}"
            raise _fail(path, _join(prefix, str(key)), "unknown key", fix)
    values = {}
    for f in dataclasses.fields(cls):
        key = _join(prefix, f.name)
        if f.name in data:
            values[f.name] = _convert(hints[f.name], data[f.name], key, path)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _fail(path, key, "missing", "add it (see hardware/icx-8380-2s.yaml for an example)")
    return cls(**values)


def _convert(hint: Any, value: Any, key: str, path: Path) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(inner, value, key, path)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key, path)
    if origin is list:
        if not isinstance(value, list):
            raise _fail(path, key, f"expected a list, got {value!r}", "write it as a YAML list")
        return [_convert(args[0], item, f"{key}[{i}]", path) for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _fail(path, key, f"expected a mapping, got {value!r}", "write it as `key: value` lines")
        return {str(k): _convert(args[1], v, f"{key}.{k}", path) for k, v in value.items()}
    if hint is Any:
        return value
    if hint is str:
        if isinstance(value, (bool, dict, list)) or value is None:
            raise _fail(path, key, f"expected a string, got {value!r}", "quote the value")
        return str(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise _fail(path, key, f"expected {hint.__name__}, got {value!r}", f"write a {hint.__name__}")
    return value


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _check_named_slots(hw: HardwareProfile, path: Path) -> None:
    """Vendor-named slots: unique names on real sockets, consistent with the compact keys a parent gave."""
    mem = hw.memory
    names = [(s.locator, s.bank) for s in mem.slots]  # AMD boards repeat "DIMM 0" under each bank
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise _fail(path, "memory.slots", f"slot {twice[0][0]} (bank {twice[0][1]!r}) is listed twice",
                    "name every slot once")
    locators = [s.locator for s in mem.slots]
    for slot in mem.slots:
        if not 0 <= slot.socket < hw.sockets or slot.slot < 1:
            raise _fail(path, "memory.slots", f"{slot.locator} is on socket {slot.socket} slot {slot.slot}",
                        f"use sockets 0..{hw.sockets - 1} and slots from 1")
    stray = [name for name in mem.empty if name not in locators]
    if stray:
        raise _fail(path, "memory.empty", f"{stray[0]} is not a slot in memory.slots", "list locators of memory.slots")
    if mem.populated:
        raise _fail(path, "memory.populated", "is for the compact form", "list the empty slots in memory.empty")
    if mem.size_gb < 1:
        raise _fail(path, "memory.size_gb", "missing for the named slots", "give the DIMM size in GB")
    for socket in range(hw.sockets):
        mine = [s for s in mem.slots if s.socket == socket]
        channels = {s.channel for s in mine}
        if mem.channels_per_socket and len(channels) != mem.channels_per_socket:
            raise _fail(path, "memory.slots", f"socket {socket} has {len(channels)} channels, "
                        f"channels_per_socket says {mem.channels_per_socket}", "make them agree")
        if mine and max(s.slot for s in mine) > mem.slots_per_channel:
            raise _fail(path, "memory.slots", f"socket {socket} has a slot {max(s.slot for s in mine)}, "
                        f"slots_per_channel says {mem.slots_per_channel}", "make them agree")


def _check(hw: HardwareProfile, path: Path) -> None:
    """Cross-field rules the type hints cannot express."""
    for key in ("sockets", "cores_per_socket", "threads_per_core", "nodes_per_socket"):
        if getattr(hw, key) < 1:
            raise _fail(path, key, f"must be >= 1, got {getattr(hw, key)}", "use a positive count")
    if hw.cores_per_socket % hw.nodes_per_socket:
        raise _fail(path, "nodes_per_socket", f"{hw.nodes_per_socket} does not divide {hw.cores_per_socket} cores",
                    "use a divisor of cores_per_socket (SNC/NPS split cores evenly)")
    for cpu in hw.offline_cpus:
        if not 0 < cpu < hw.logical_cpus:
            raise _fail(path, "offline_cpus", f"CPU {cpu} is not in 1..{hw.logical_cpus - 1}",
                        "list existing CPUs other than cpu0 (cpu0 cannot go offline)")
    if (hw.bios is None) != (hw.system is None):
        raise _fail(path, "bios", "bios and system must be given together (both DMI) or both left out (no DMI)",
                    "add the missing one or remove both")
    mem = hw.memory
    if mem.slots:
        _check_named_slots(hw, path)
    elif mem.total_gb is None:
        channels = CHANNEL_LETTERS[: mem.channels_per_socket]
        if not channels or mem.size_gb < 1:
            raise _fail(path, "memory", "needs channels_per_socket and size_gb (or total_gb)",
                        "describe the DIMMs or give total_gb")
        stray = set(mem.populated) - set(channels)
        if stray:
            raise _fail(path, "memory.populated", f"channels {''.join(sorted(stray))} do not exist",
                        f"use letters from {channels}")
    if mem.total_gb is None and mem.type not in ("DDR4", "DDR5"):
        raise _fail(path, "memory.type", f"{mem.type!r} is not supported", "use DDR4 or DDR5")
    if mem.total_gb is not None and hw.has_dmi:
        raise _fail(path, "memory.total_gb", "is only for profiles without DMI", "describe the DIMMs instead")
    power = hw.power
    if power.driver is not None:
        available = power.governors_available.split()
        if power.governor not in available:
            raise _fail(path, "power.governor", f"{power.governor!r} is not in governors_available",
                        f"use one of: {', '.join(available)}")
        if power.epp is not None and power.epp not in power.epp_available.split():
            raise _fail(path, "power.epp", f"{power.epp!r} is not in epp_available",
                        f"use one of: {power.epp_available}")
    if power.cstates and power.cpuidle_driver is None:
        raise _fail(path, "power.cstates", "listed without a cpuidle_driver", "set power.cpuidle_driver")
    for key in hw.sysctls:
        if not _SYSCTL_KEY.match(key):
            raise _fail(path, f"sysctls.{key}", "is not a dotted sysctl name", "write it like vm.swappiness")
    for key, value in (("enabled", hw.thp.enabled), ("defrag", hw.thp.defrag)):
        if value not in THP_CHOICES[key]:
            raise _fail(path, f"thp.{key}", f"{value!r} is not a kernel choice",
                        f"use one of: {' '.join(THP_CHOICES[key])}")
    for address, value in hw.msrs.items():
        for text in (address, value):
            if not re.fullmatch(r"0x[0-9a-fA-F]{1,16}", text):
                raise _fail(path, f"msrs.{address}", f"{text!r} is not a 64-bit hex number",
                            "write both as quoted hex strings, e.g. \"0x1a4\": \"0x0\"")
    if hw.uncore is not None and not 0 < hw.uncore.initial_min_khz <= hw.uncore.initial_max_khz:
        raise _fail(path, "uncore", "initial_min_khz must be > 0 and <= initial_max_khz", "fix the limits")
