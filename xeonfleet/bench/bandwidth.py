"""The node's theoretical memory bandwidth from its DIMM facts: populated channels x configured MT/s x 8 B.

Per socket, as the guide states the rule (every channel populated for full bandwidth): a 2S Xeon 8380
with 8 DDR4-3200 channels per socket gives 204.8 GB/s per socket. The slowest DIMM of a socket sets
its channels' speed (the memory controller runs them all at one rate). Without SMBIOS (a VM, or
/sys/firmware/dmi unreadable) or without a configured speed, there is no limit (None and the reason),
never an assumed DIMM layout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BYTES_PER_TRANSFER = 8  # one 64-bit DDR channel


@dataclass(frozen=True)
class MemoryLimit:
    """GB/s per socket (str socket id -> GB/s), or None with the reason in `formula`."""

    per_socket_gbps: dict[str, float] | None
    formula: str

    def to_params(self) -> dict[str, Any]:
        return {"per_socket_gbps": self.per_socket_gbps, "formula": self.formula}


def channel_gbps(channels: int, mts: int) -> float:
    """channels x MT/s x 8 B, in GB/s (10^9 bytes, as STREAM counts)."""
    return channels * mts * BYTES_PER_TRANSFER / 1000.0


def memory_limit(facts: dict[str, Any]) -> MemoryLimit:
    """Theoretical bandwidth per socket from NodeFacts memory.dimms and memory.populated_channels."""
    memory = facts.get("memory") or {}
    if memory.get("slots") is None:
        return MemoryLimit(None, "no limit: no SMBIOS table on this node (VM, or /sys/firmware/dmi not readable), "
                                 "so populated channels and DIMM speed are unknown")
    channels = memory.get("populated_channels") or {}
    if not channels or "unknown" in channels:
        return MemoryLimit(None, "no limit: the DIMM locators name no socket/channel (memory.populated_channels)")
    per_socket, parts = {}, []
    for socket, count in sorted(channels.items()):
        speeds = [d.get("configured_speed_mts") for d in memory.get("dimms") or []
                  if d.get("populated") and str(d.get("socket")) == socket]
        if not speeds or None in speeds:
            return MemoryLimit(None, f"no limit: socket {socket} has a DIMM without a configured speed in SMBIOS")
        mts = min(speeds)
        per_socket[socket] = channel_gbps(count, mts)
        parts.append(f"socket {socket}: {count} channels x {mts} MT/s x {BYTES_PER_TRANSFER} B = "
                     f"{per_socket[socket]:,.1f} GB/s")
    return MemoryLimit(per_socket, "; ".join(parts) + " (memory.populated_channels, slowest configured_speed_mts)")
