"""Kernel CPU list strings ("0-39,80-119") both ways, for the parsers.

The notation itself lives in xeonfleet/node/instances.py (stdlib only, shipped to nodes for the launcher and
the benchmark runners); here a garbled list becomes None instead of an exception, since facts never crash.
"""

from __future__ import annotations

from xeonfleet.node.instances import format_cpulist
from xeonfleet.node.instances import parse_cpulist as _parse_strict

__all__ = ["format_cpulist", "parse_cpulist", "parse_cpumask"]


def parse_cpulist(text: str | None) -> list[int] | None:
    """"0-3,8" -> [0, 1, 2, 3, 8]; "" -> []; None or garbage -> None."""
    if text is None:
        return None
    try:
        return sorted(set(_parse_strict(text)))
    except ValueError:
        return None


def parse_cpumask(text: str | None) -> list[int] | None:
    """The kernel's hex CPU mask ("00000000,0000ff0f", 32-bit groups, highest first) -> CPU ids."""
    if text is None:
        return None
    try:
        mask = int(text.strip().replace(",", "") or "0", 16)
    except ValueError:
        return None
    return [bit for bit in range(mask.bit_length()) if mask >> bit & 1]
