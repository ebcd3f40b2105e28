"""Memory: MemTotal, DIMM slots from SMBIOS, channels populated per socket."""

from __future__ import annotations

import re
from collections import defaultdict

_MEMTOTAL = re.compile(r"^MemTotal:\s+(\d+)\s*kB")


def mem_total_bytes(lines: list[str] | None, errors: list[str]) -> int | None:
    """MemTotal from proc/meminfo, in bytes."""
    for line in lines or []:
        match = _MEMTOTAL.match(line)
        if match:
            return int(match.group(1)) * 1024
    errors.append("proc/meminfo has no MemTotal: memory.total_bytes unknown")
    return None


def populated_channels(dimms: list[dict]) -> dict[str, int]:
    """{socket: channels holding at least one module}; "unknown" when the locator names none."""
    channels: dict[str, set] = defaultdict(set)
    for dimm in dimms:
        if dimm["populated"]:
            socket = str(dimm["socket"]) if dimm["socket"] is not None else "unknown"
            channels[socket].add(dimm["channel"] or dimm["locator"])
    return {socket: len(names) for socket, names in sorted(channels.items())}


def sizes_matched(dimms: list[dict]) -> bool | None:
    """Every populated DIMM alike (size, type, speed): None when no DIMM is known."""
    kinds = {(d["size_bytes"], d["type"], d["speed_mts"]) for d in dimms if d["populated"]}
    return len(kinds) == 1 if kinds else None


def parse_memory(meminfo: list[str] | None, dimms: list[dict] | None,
                 channels_per_socket: int | None, errors: list[str]) -> dict:
    """The memory.* block; dimms is None when there is no SMBIOS table."""
    known = dimms or []
    return {
        "total_bytes": mem_total_bytes(meminfo, errors),
        "dimms": known,
        "slots": len(known) if dimms is not None else None,
        "populated": sum(1 for d in known if d["populated"]) if dimms is not None else None,
        "channels_per_socket": channels_per_socket,
        "populated_channels": populated_channels(known),
        "dimm_sizes_matched": sizes_matched(known),
    }
