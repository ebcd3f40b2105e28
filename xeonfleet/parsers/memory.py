"""Memory: MemTotal, DIMM slots from SMBIOS, channels populated per socket.

Channel counts are only given when every populated slot has a socket and a channel and no socket shows
more channels than the CPU has: a wrong count would send someone to the datacenter for nothing, an
unknown one names the slots nobody could place.
"""

from __future__ import annotations

import re

_MEMTOTAL = re.compile(r"^MemTotal:\s+(\d+)\s*kB")


def mem_total_bytes(lines: list[str] | None, errors: list[str]) -> int | None:
    """MemTotal from proc/meminfo, in bytes."""
    for line in lines or []:
        match = _MEMTOTAL.match(line)
        if match:
            return int(match.group(1)) * 1024
    errors.append("proc/meminfo has no MemTotal: memory.total_bytes unknown")
    return None


def unplaced_slots(dimms: list[dict]) -> list[str]:
    """Locators of the slots whose socket or channel the slot rules could not tell."""
    return [str(d["locator"]) for d in dimms if d["socket"] is None or d["channel"] is None]


def channel_problem(dimms: list[dict], channels_per_socket: int | None, slot_rule: str | None) -> str | None:
    """Why the channel counts cannot be trusted, in one line; None when they can."""
    unplaced = [str(d["locator"]) for d in dimms if d["populated"] and (d["socket"] is None or d["channel"] is None)]
    if unplaced:
        rule = f"slot rule {slot_rule}" if slot_rule else "no slot rule of xeonfleet/parsers/dimm_slots.yaml"
        return f"no socket/channel for populated slot(s) {', '.join(unplaced)} ({rule} does not place them)"
    if channels_per_socket:
        for socket in sorted({d["socket"] for d in dimms if d["socket"] is not None}):
            wired = {d["channel"] for d in dimms if d["socket"] == socket and d["channel"] is not None}
            if len(wired) > channels_per_socket:
                return (f"socket {socket}: the slot names give {len(wired)} channels but the CPU has "
                        f"{channels_per_socket} (slot rule {slot_rule} does not fit this board)")
    return None


def populated_channels(dimms: list[dict]) -> dict[str, int]:
    """{socket: channels holding at least one module}, over every socket that has a slot."""
    sockets = sorted({d["socket"] for d in dimms if d["socket"] is not None})
    return {str(s): len({d["channel"] for d in dimms if d["populated"] and d["socket"] == s}) for s in sockets}


def sizes_matched(dimms: list[dict]) -> bool | None:
    """Every populated DIMM alike (size, type, speed): None when no DIMM is known."""
    kinds = {(d["size_bytes"], d["type"], d["speed_mts"]) for d in dimms if d["populated"]}
    return len(kinds) == 1 if kinds else None


def parse_memory(meminfo: list[str] | None, smbios: dict | None, channels_per_socket: int | None,
                 errors: list[str]) -> dict:
    """The memory.* block from meminfo and the decoded SMBIOS table (None when there is none)."""
    total = mem_total_bytes(meminfo, errors)
    dimms = smbios["dimms"] if smbios else []
    slot_rule = smbios["slot_rule"] if smbios else None
    problem = channel_problem(dimms, channels_per_socket, slot_rule)
    if problem:
        errors.append(f"memory.populated_channels unknown: {problem}")
    return {
        "total_bytes": total,
        "dimms": dimms,
        "slots": len(dimms) if smbios else None,
        "populated": sum(1 for d in dimms if d["populated"]) if smbios else None,
        "channels_per_socket": channels_per_socket,
        "slot_rule": slot_rule,
        "populated_channels": {} if problem else populated_channels(dimms),
        "unplaced_slots": unplaced_slots(dimms),
        "channel_problem": problem,
        "dimm_sizes_matched": sizes_matched(dimms),
    }
