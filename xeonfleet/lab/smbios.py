"""A pure writer of SMBIOS 3.0 tables (what /sys/firmware/dmi/tables holds and dmidecode decodes).

We write only what the fact collectors and the audit read: BIOS (type 0), system (type 1),
processors (type 4), memory arrays and devices (types 16, 17) and the end marker (type 127).
Layouts follow DMTF DSP0134 3.x; every structure is its formatted area, then its strings, each
NUL-terminated, then one more NUL.
"""

from __future__ import annotations

import hashlib
import struct
import uuid

from xeonfleet.lab.hardware_profile import HardwareProfile
from xeonfleet.lab.hardware_specs import BiosSpec, DimmSlot, SystemSpec

SMBIOS_VERSION = (3, 3, 0)
ENTRY_POINT_LENGTH = 24
DUMP_TABLE_OFFSET = 32  # where `dmidecode --dump-bin` puts the table after the entry point

_MEMORY_TYPE = {"DDR4": 0x1A, "DDR5": 0x22}
_MEMORY_TYPE_UNKNOWN = 0x02
_NO_HANDLE = 0xFFFF
_HANDLE_NOT_PROVIDED = 0xFFFE
_SIZE_USE_EXTENDED = 0x7FFF
# Processor family: 0xB3 "Xeon", 0x6B "AMD Zen Processor Family", 0x01 "Other".
_PROCESSOR_FAMILY = {"GenuineIntel": 0xB3, "AuthenticAMD": 0x6B}
# CPUID leaf 1 EDX as these parts report it (the second half of the Processor ID field).
_CPUID_EDX = {"GenuineIntel": 0xBFEBFBFF, "AuthenticAMD": 0x178BFBFF}
_PROCESSOR_MANUFACTURER = {"GenuineIntel": "Intel(R) Corporation", "AuthenticAMD": "Advanced Micro Devices, Inc."}


def host_bytes(hostname: str, *parts: str) -> bytes:
    """Stable per-host bytes for serials, UUIDs and MACs: the same hostname gets the same identity."""
    return hashlib.sha256("\0".join((hostname, *parts)).encode()).digest()


def build_smbios(hw: HardwareProfile, hostname: str) -> tuple[bytes, bytes]:
    """Return (entry point, structure table) as the kernel exposes them in sysfs.

    The entry point's table address is 0: dmidecode reads the sysfs `DMI` file from its start.
    """
    if hw.bios is None or hw.system is None:
        raise ValueError(f"hardware profile {hw.name} has no DMI (no bios/system); nothing to write")
    handles = _Handles()
    structures = [
        _bios(handles.next(), hw.bios),
        _system(handles.next(), hw.system, hostname),
    ]
    structures += [_processor(handles.next(), hw, socket, hostname) for socket in range(hw.sockets)]
    slots = hw.dimm_slots()
    array_handles = []
    for socket in range(hw.sockets):
        array_handles.append(handles.next())
        socket_slots = [s for s in slots if s.socket == socket]
        structures.append(_memory_array(array_handles[-1], socket_slots))
    structures += [_memory_device(handles.next(), array_handles[s.socket], s, hw, hostname) for s in slots]
    structures.append(_structure(127, handles.next(), b"", []))
    table = b"".join(structures)
    return entry_point(len(table), 0), table


def entry_point(table_length: int, table_address: int) -> bytes:
    """The 24-byte `_SM3_` 64-bit entry point, checksummed so its bytes sum to 0 mod 256."""
    major, minor, docrev = SMBIOS_VERSION
    body = struct.pack("<5sBBBBBBBIQ", b"_SM3_", 0, ENTRY_POINT_LENGTH, major, minor, docrev,
                       0x01, 0, table_length, table_address)
    checksum = (-sum(body)) & 0xFF
    return body[:5] + bytes([checksum]) + body[6:]


def to_dump(table: bytes) -> bytes:
    """A `dmidecode --dump-bin` file: entry point at 0 pointing at the table at offset 32."""
    head = entry_point(len(table), DUMP_TABLE_OFFSET)
    return head.ljust(DUMP_TABLE_OFFSET, b"\0") + table


class _Handles:
    """Structure handles, numbered in table order as most firmware does."""

    def __init__(self) -> None:
        self._last = -1

    def next(self) -> int:
        self._last += 1
        return self._last


def _structure(kind: int, handle: int, formatted: bytes, strings: list[str]) -> bytes:
    """Header + formatted area + string set; an empty string set is still two NULs."""
    header = struct.pack("<BBH", kind, 4 + len(formatted), handle)
    text = b"".join(s.encode("ascii", "replace") + b"\0" for s in strings)
    return header + formatted + (text + b"\0" if text else b"\0\0")


class _Strings:
    """Collects a structure's strings; `ref` returns the 1-based number (0 = no string)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def ref(self, value: str) -> int:
        if not value:
            return 0
        self.items.append(value)
        return len(self.items)


def _bios(handle: int, bios: BiosSpec) -> bytes:
    s = _Strings()
    major, _, minor = bios.release.partition(".")
    # Characteristics: PCI, BIOS upgradeable (flash), shadowing, selectable boot, EDD, ACPI, USB
    # legacy, BIOS boot spec, targeted content distribution, UEFI.
    characteristics = (1 << 7) | (1 << 11) | (1 << 12) | (1 << 16) | (1 << 19)
    formatted = struct.pack(
        "<BBHBBQBBBBBBH",
        s.ref(bios.vendor), s.ref(bios.version), 0xF000, s.ref(bios.date),
        0xFF,  # ROM size: see the extended field (16 MB and more)
        characteristics, 0x03, 0x0D,  # ext. bytes 1 and 2: ACPI + USB legacy; BBS, targeted, UEFI
        int(major or 0), int(minor or 0), 0xFF, 0xFF,  # EC firmware not present
        bios.rom_size_mb,  # extended ROM size, unit bits 15:14 = 00 (MB)
    )
    return _structure(0, handle, formatted, s.items)


def _system(handle: int, system: SystemSpec, hostname: str) -> bytes:
    s = _Strings()
    serial = host_bytes(hostname, "system").hex()[:10].upper()
    system_uuid = uuid.UUID(bytes=host_bytes(hostname, "uuid")[:16], version=4)
    formatted = struct.pack(
        "<BBBB16sBBB",
        s.ref(system.manufacturer), s.ref(system.product), s.ref("Not Specified"), s.ref(serial),
        system_uuid.bytes_le,  # SMBIOS 2.6+: the first three UUID fields are little-endian
        0x06,  # wake-up type: power switch
        s.ref(system.sku), s.ref(system.family),
    )
    return _structure(1, handle, formatted, s.items)


def _processor(handle: int, hw: HardwareProfile, socket: int, hostname: str) -> bytes:
    s = _Strings()
    cpu = hw.cpu
    threads = hw.cores_per_socket * hw.threads_per_core
    processor_id = struct.pack("<II", _cpuid_signature(cpu.family, cpu.model, cpu.stepping),
                               _CPUID_EDX.get(cpu.vendor, 0))
    formatted = struct.pack(
        "<BBBB8sBBHHHBBHHHBBBBBBHHHHH",
        s.ref(f"CPU{socket}"), 0x03, _PROCESSOR_FAMILY.get(cpu.vendor, 0x01),  # central processor
        s.ref(_PROCESSOR_MANUFACTURER.get(cpu.vendor, cpu.vendor)), processor_id, s.ref(cpu.model_name),
        0x80 | 16,  # voltage 1.6 V
        100, cpu.max_mhz, int(cpu.mhz),  # external clock, max speed, current speed (MHz)
        0x41,  # socket populated, CPU enabled
        0x01,  # upgrade: other
        _NO_HANDLE, _NO_HANDLE, _NO_HANDLE,  # L1/L2/L3 cache handles: not described
        s.ref(host_bytes(hostname, "cpu", str(socket)).hex()[:16].upper()), s.ref(f"CPU{socket} Asset"),
        s.ref(""),
        min(hw.cores_per_socket, 255), min(hw.cores_per_socket, 255), min(threads, 255),
        0x00FC,  # 64-bit, multi-core, HW thread, execute protection, enhanced virt., power/perf ctrl
        _PROCESSOR_FAMILY.get(cpu.vendor, 0x01),
        hw.cores_per_socket, hw.cores_per_socket, threads,  # the 3.0 16-bit counts
    )
    return _structure(4, handle, formatted, s.items)


def _cpuid_signature(family: int, model: int, stepping: int) -> int:
    """CPUID leaf 1 EAX: stepping, model, family, with the extended model/family fields."""
    base_family = min(family, 0xF)
    ext_family = family - 0xF if family > 0xF else 0
    return stepping | (model & 0xF) << 4 | base_family << 8 | (model >> 4) << 16 | ext_family << 20


def _memory_array(handle: int, slots: list[DimmSlot]) -> bytes:
    max_bytes = 256 * 2**30 * len(slots)  # 256 GB per slot (LRDIMM) is what these boards accept
    formatted = struct.pack(
        "<BBBIHHQ",
        0x03, 0x03, 0x06,  # system board, system memory, multi-bit ECC
        0x80000000,  # maximum capacity: see the extended field
        _HANDLE_NOT_PROVIDED, len(slots), max_bytes,
    )
    return _structure(16, handle, formatted, [])


def _memory_device(handle: int, array: int, slot: DimmSlot, hw: HardwareProfile, hostname: str) -> bytes:
    s = _Strings()
    mem = hw.memory
    size_mb = slot.size_gb * 1024
    locator, bank = s.ref(slot.locator), s.ref(slot.bank)
    if size_mb:
        mem_type = _MEMORY_TYPE[mem.type]
        widths = (72, 64)  # ECC: 64 data bits + 8 check bits
        detail = 0x0080 | 0x2000  # synchronous, registered (RDIMM)
        strings = (s.ref(mem.manufacturer), s.ref(host_bytes(hostname, slot.locator).hex()[:8].upper()),
                   s.ref(f"{slot.locator}_AssetTag"), s.ref(mem.part_number))
        speeds, attributes = (mem.speed_mts, mem.configured_speed_mts), 2  # dual rank
        voltage = 1200 if mem.type == "DDR4" else 1100
    else:
        mem_type, widths, detail = _MEMORY_TYPE_UNKNOWN, (_NO_HANDLE, _NO_HANDLE), 0x0004  # unknown
        strings = (s.ref("NO DIMM"), s.ref("NO DIMM"), s.ref("NO DIMM"), s.ref("NO DIMM"))
        speeds, attributes, voltage = (0, 0), 0, 0
    size_word, extended = (_SIZE_USE_EXTENDED, size_mb) if size_mb >= _SIZE_USE_EXTENDED else (size_mb, 0)
    formatted = struct.pack(
        "<HHHHHBBBBBHHBBBBBIHHHH",
        array, _HANDLE_NOT_PROVIDED, widths[0], widths[1], size_word,
        0x09, 0,  # form factor DIMM, not in a device set
        locator, bank, mem_type, detail, speeds[0], *strings, attributes, extended, speeds[1],
        voltage, voltage, voltage,  # min, max, configured (mV)
    )
    return _structure(17, handle, formatted, s.items)
