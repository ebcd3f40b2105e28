"""A pure decoder of the raw SMBIOS table (sys/firmware/dmi/tables/DMI): types 0, 1, 4, 17.

Decoding the bytes ourselves means live hosts and offline snapshots go through one parser and the
node needs no dmidecode. Offsets follow DMTF DSP0134 (SMBIOS 3.x).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

MEMORY_TYPES = {
    0x12: "DDR", 0x13: "DDR2", 0x18: "DDR3", 0x1A: "DDR4", 0x1B: "LPDDR", 0x1C: "LPDDR2",
    0x1D: "LPDDR3", 0x1E: "LPDDR4", 0x20: "HBM", 0x21: "HBM2", 0x22: "DDR5", 0x23: "LPDDR5",
    0x24: "HBM3",
}
_SOCKET = re.compile(r"(?:CPU|PROC|SOCKET|P)\s*[_-]?\s*(\d+)", re.IGNORECASE)
_CHANNEL = re.compile(r"CHANNEL\s*[_-]?\s*([A-Z0-9]+)", re.IGNORECASE)
_DIMM_LETTER = re.compile(r"DIMM\s*[_-]?\s*([A-Z])\d", re.IGNORECASE)


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


def _socket_and_channel(locator: str | None, bank: str | None) -> tuple[int | None, str | None]:
    """Socket number and channel name as the board labels them ("CPU1_DIMM_A1", "P0_Channel0")."""
    socket = channel = None
    for text in (locator or "", bank or ""):
        if socket is None and (match := _SOCKET.search(text)):
            socket = int(match.group(1))
        if channel is None and (match := _CHANNEL.search(text) or _DIMM_LETTER.search(text)):
            channel = match.group(1).upper()
    return socket, channel


def memory_device(dev: Structure) -> dict:
    """One type 17 entry as the memory.dimms item of docs/facts.md."""
    size = _dimm_size(dev)
    locator, bank = dev.string(0x10), dev.string(0x11)
    socket, channel = _socket_and_channel(locator, bank)
    kind = dev.byte(0x12)
    populated = size != 0
    return {
        "locator": locator,
        "bank": bank,
        "socket": socket,
        "channel": channel,
        "size_bytes": size if populated else None,
        "type": MEMORY_TYPES.get(kind) if populated and kind is not None else None,
        "speed_mts": _speed(dev, 0x15, 0x54) if populated else None,
        "configured_speed_mts": _speed(dev, 0x20, 0x58) if populated else None,
        "manufacturer": dev.string(0x17) if populated else None,
        "part_number": dev.string(0x1A) if populated else None,
        "populated": populated,
    }


def decode_smbios(table: bytes, errors: list[str]) -> dict:
    """bios, system, populated CPU sockets (type 4) and dimms from a raw SMBIOS table."""
    structures = decode_structures(table, errors)
    first = {kind: next((s for s in structures if s.type == kind), None) for kind in (0, 1)}
    bios, system = first[0], first[1]
    dimms = [memory_device(s) for s in structures if s.type == 17]
    sockets = [s for s in structures if s.type == 4]
    if any(d["socket"] is not None for d in dimms) and min(
        d["socket"] for d in dimms if d["socket"] is not None
    ) >= 1:
        # Boards that count sockets from 1 (CPU1, CPU2): the kernel counts from 0.
        for dimm in dimms:
            if dimm["socket"] is not None:
                dimm["socket"] -= 1
    return {
        "bios": {
            "vendor": bios.string(0x04) if bios else None,
            "version": bios.string(0x05) if bios else None,
            "date": bios.string(0x08) if bios else None,
        },
        "system": {
            "manufacturer": system.string(0x04) if system else None,
            "product": system.string(0x05) if system else None,
        },
        "cpu_sockets_populated": (
            sum(1 for s in sockets if (s.byte(0x18) or 0) & 0x40) if sockets else None
        ),
        "dimms": dimms,
    }
