"""A pure decoder of the raw SMBIOS table (sys/firmware/dmi/tables/DMI): types 0, 1, 4, 17.

Decoding the bytes ourselves means live hosts and offline snapshots go through one parser and the
node needs no dmidecode. Offsets follow DMTF DSP0134 (SMBIOS 3.x). Which socket and channel a slot
is comes from its vendor's naming (xeonfleet.parsers.dimm_slots), picked by the type 1 system.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from xeonfleet.parsers import dimm_slots

MEMORY_TYPES = {
    0x12: "DDR", 0x13: "DDR2", 0x18: "DDR3", 0x1A: "DDR4", 0x1B: "LPDDR", 0x1C: "LPDDR2",
    0x1D: "LPDDR3", 0x1E: "LPDDR4", 0x20: "HBM", 0x21: "HBM2", 0x22: "DDR5", 0x23: "LPDDR5",
    0x24: "HBM3",
}
_RANK_MASK = 0x0F  # type 17 Attributes bits 3:0 (SMBIOS 2.6+), 0 = unknown


@dataclass
class Structure:
    """One SMBIOS structure: its formatted area and its string set."""

    type: int
    data: bytes
    strings: list[str]

    def string(self, offset: int) -> str | None:
        """The string the byte at offset points to (1-based; 0 = none)."""
        index = self.byte(offset)
        if not index or index > len(self.strings):
            return None
        return self.strings[index - 1].strip() or None

    def byte(self, offset: int) -> int | None:
        return self.data[offset] if offset < len(self.data) else None

    def word(self, offset: int) -> int | None:
        return struct.unpack_from("<H", self.data, offset)[0] if offset + 2 <= len(self.data) else None

    def dword(self, offset: int) -> int | None:
        return struct.unpack_from("<I", self.data, offset)[0] if offset + 4 <= len(self.data) else None


def decode_structures(table: bytes, errors: list[str]) -> list[Structure]:
    """Walk the table: header (type, length, handle), formatted area, strings ending in 00 00."""
    structures = []
    pos = 0
    while pos + 4 <= len(table):
        kind, length = table[pos], table[pos + 1]
        if length < 4 or pos + length > len(table):
            errors.append(f"SMBIOS table truncated or corrupt at byte {pos}")
            break
        data = table[pos : pos + length]
        end = table.find(b"\x00\x00", pos + length)
        if end < 0:
            errors.append(f"SMBIOS structure type {kind} at byte {pos} has no string terminator")
            break
        raw = table[pos + length : end]
        strings = [s.decode("latin-1") for s in raw.split(b"\x00")] if raw else []
        structures.append(Structure(kind, data, strings))
        pos = end + 2
        if kind == 127:
            break
    return structures


def _dimm_size(dev: Structure) -> int | None:
    """Bytes; 0 for an empty slot; None when unknown (0xFFFF)."""
    size = dev.word(0x0C)
    if size is None or size == 0xFFFF:
        return None
    if size == 0x7FFF:
        extended = dev.dword(0x1C)
        return (extended & 0x7FFFFFFF) * 1024**2 if extended is not None else None
    if size & 0x8000:
        return (size & 0x7FFF) * 1024
    return size * 1024**2


def _speed(dev: Structure, offset: int, extended_offset: int) -> int | None:
    speed = dev.word(offset)
    if speed == 0xFFFF:
        speed = dev.dword(extended_offset)
    return speed or None


def memory_device(dev: Structure, place: dimm_slots.Place) -> dict:
    """One type 17 entry, at its place, as the memory.dimms item of docs/facts.md."""
    size = _dimm_size(dev)
    kind = dev.byte(0x12)
    populated = size != 0
    rank = (dev.byte(0x1B) or 0) & _RANK_MASK
    return {
        "locator": dev.string(0x10),
        "bank": dev.string(0x11),
        "socket": place.socket,
        "channel": place.channel,
        "slot_in_channel": place.slot,
        "size_bytes": size if populated else None,
        "type": MEMORY_TYPES.get(kind) if populated and kind is not None else None,
        "speed_mts": _speed(dev, 0x15, 0x54) if populated else None,
        "configured_speed_mts": _speed(dev, 0x20, 0x58) if populated else None,
        "manufacturer": dev.string(0x17) if populated else None,
        "part_number": dev.string(0x1A) if populated else None,
        "rank": rank if populated and rank else None,
        "populated": populated,
    }


def decode_smbios(table: bytes, errors: list[str]) -> dict:
    """bios, system, populated CPU sockets (type 4), dimms and the slot rule that placed them."""
    structures = decode_structures(table, errors)
    first = {kind: next((s for s in structures if s.type == kind), None) for kind in (0, 1)}
    bios, system = first[0], first[1]
    manufacturer, product = (system.string(0x04), system.string(0x05)) if system else (None, None)
    devices = [s for s in structures if s.type == 17]
    rule, places = dimm_slots.place_slots([(d.string(0x10), d.string(0x11)) for d in devices],
                                          manufacturer, product)
    dimms = [memory_device(dev, place) for dev, place in zip(devices, places)]
    sockets = [s for s in structures if s.type == 4]
    return {
        "bios": {
            "vendor": bios.string(0x04) if bios else None,
            "version": bios.string(0x05) if bios else None,
            "date": bios.string(0x08) if bios else None,
        },
        "system": {"manufacturer": manufacturer, "product": product},
        "cpu_sockets_populated": (
            sum(1 for s in sockets if (s.byte(0x18) or 0) & 0x40) if sockets else None
        ),
        "dimms": dimms,
        "slot_rule": rule.id if rule else None,
    }
