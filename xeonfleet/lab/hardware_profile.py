"""The hardware profile: one server the lab fleet impersonates, as a typed, validated model.

A profile (`hardware/NAME.yaml`) is pure data: CPU identity and flags, topology, DIMMs, firmware,
power management, kernel settings, NICs and disks, plus an `expect:` block saying what the fact
collectors must report for it. `xeonfleet.lab.sysroot` turns a profile into a /proc + /sys tree.

The field types check every value (hardware_fields, hardware_specs); this model adds the cross-field
rules, each naming the key to fix. `xeonfleet.lab.hardware` finds and loads the files.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from xeonfleet.lab.hardware_fields import Count, CpuidLeaf, CpuidRegs, Hex64, Hex64Text, Spec, SysctlName, Text, invalid
from xeonfleet.lab.hardware_specs import (BiosSpec, CpuSpec, DimmSlot, DiskSpec, KernelSpec, MemorySpec, MemoryTieringSpec,
                                          NicSpec, NumaNodeSpec, PowerSpec, SystemSpec, ThpSpec, UncoreSpec)

CHANNEL_LETTERS = "ABCDEFGHIJKLMNOP"


class HardwareProfile(Spec):
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
    nics: list[NicSpec] = Field(default_factory=list)
    disks: list[DiskSpec] = Field(default_factory=list)
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
            raise invalid(f"{self.nodes_per_socket} does not divide {self.cores_per_socket} cores",
                           "use a divisor of cores_per_socket, or list the nodes in numa_layout for an uneven split",
                           "nodes_per_socket")
        for cpu in self.offline_cpus:
            if not 0 < cpu < self.logical_cpus:
                raise invalid(f"CPU {cpu} is not in 1..{self.logical_cpus - 1}",
                               "list existing CPUs other than cpu0 (cpu0 cannot go offline)", "offline_cpus")
        if (self.bios is None) != (self.system is None):
            raise invalid("bios and system must be given together (both DMI) or both left out (no DMI)",
                           "add the missing one or remove both", "bios")
        return self

    @model_validator(mode="after")
    def _numa_layout_consistent(self) -> HardwareProfile:
        for index, node in enumerate(self.numa_layout):
            if not 0 <= node.socket < self.sockets:
                raise invalid(f"socket {node.socket} does not exist", f"use sockets 0..{self.sockets - 1}",
                               "numa_layout", index, "socket")
            if node.kind == "dram" and (node.cores < 1 or node.memory_gb):
                raise invalid("a dram node needs cores >= 1 and takes its memory from its socket's DIMMs",
                               "give cores and drop memory_gb (or set kind: cxl, hbm or memory-only)",
                               "numa_layout", index)
            if node.kind != "dram" and (node.cores or node.memory_gb < 1):
                raise invalid(f"a {node.kind} node has no CPUs and needs memory_gb >= 1",
                               "set memory_gb and drop cores", "numa_layout", index)
            if node.memory_tier is not None and self.memory_tiering is None:
                raise invalid("needs the kernel's memory tiers", "add memory_tiering: {} (kernel 6.1+) or drop it",
                               "numa_layout", index, "memory_tier")
        for socket in range(self.sockets if self.numa_layout else 0):
            mine = [node for node in self.numa_layout if node.socket == socket and node.kind == "dram"]
            if sum(node.cores for node in mine) != self.cores_per_socket:
                raise invalid(f"the dram nodes of socket {socket} hold {sum(node.cores for node in mine)} cores, "
                               f"cores_per_socket is {self.cores_per_socket}", "make them add up", "numa_layout")
            if len(mine) != self.nodes_per_socket:
                raise invalid(f"socket {socket} has {len(mine)} dram nodes in numa_layout", "make them agree",
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
                raise invalid("needs channels_per_socket and size_gb (or total_gb)",
                               "describe the DIMMs or give total_gb", "memory")
            stray = set(mem.populated) - set(channels)
            if stray:
                raise invalid(f"channels {''.join(sorted(stray))} do not exist", f"use letters from {channels}",
                               "memory", "populated")
        if mem.total_gb is None and mem.type not in ("DDR4", "DDR5"):
            raise invalid(f"{mem.type!r} is not supported", "use DDR4 or DDR5", "memory", "type")
        if mem.total_gb is not None and self.has_dmi:
            raise invalid("is only for profiles without DMI", "describe the DIMMs instead", "memory", "total_gb")
        return self

    def _named_slots_consistent(self) -> None:
        """Vendor-named slots: unique names on real sockets, consistent with the compact keys a parent gave."""
        mem = self.memory
        names = [(s.locator, s.bank) for s in mem.slots]  # AMD boards repeat "DIMM 0" under each bank
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise invalid(f"slot {twice[0][0]} (bank {twice[0][1]!r}) is listed twice", "name every slot once",
                           "memory", "slots")
        locators = [s.locator for s in mem.slots]
        for index, slot in enumerate(mem.slots):
            if not 0 <= slot.socket < self.sockets or slot.slot < 1:
                raise invalid(f"{slot.locator} is on socket {slot.socket} slot {slot.slot}",
                               f"use sockets 0..{self.sockets - 1} and slots from 1", "memory", "slots", index)
        stray = [name for name in mem.empty if name not in locators]
        if stray:
            raise invalid(f"{stray[0]} is not a slot in memory.slots", "list locators of memory.slots",
                           "memory", "empty")
        if mem.populated:
            raise invalid("is for the compact form", "list the empty slots in memory.empty", "memory", "populated")
        if mem.size_gb < 1:
            raise invalid("missing for the named slots", "give the DIMM size in GB", "memory", "size_gb")
        for socket in range(self.sockets):
            mine = [s for s in mem.slots if s.socket == socket]
            channels = {s.channel for s in mine}
            if mem.channels_per_socket and len(channels) != mem.channels_per_socket:
                raise invalid(f"socket {socket} has {len(channels)} channels, "
                               f"channels_per_socket says {mem.channels_per_socket}", "make them agree",
                               "memory", "slots")
            if mine and max(s.slot for s in mine) > mem.slots_per_channel:
                raise invalid(f"socket {socket} has a slot {max(s.slot for s in mine)}, "
                               f"slots_per_channel says {mem.slots_per_channel}", "make them agree", "memory", "slots")
