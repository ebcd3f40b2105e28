"""Kernel CPU list strings ("0-39,80-119") both ways, for the parsers.

The notation itself lives in xeonfleet/instances.py (stdlib only, shipped to nodes for the launcher and
the benchmark runners); here a garbled list becomes None instead of an exception, since facts never crash.
"""

from __future__ import annotations

from xeonfleet.instances import format_cpulist
from xeonfleet.instances import parse_cpulist as _parse_strict

__all__ = ["format_cpulist", "parse_cpulist"]


def parse_cpulist(text: str | None) -> list[int] | None:
    """"0-3,8" -> [0, 1, 2, 3, 8]; "" -> []; None or garbage -> None."""
    if text is None:
        return None
    try:
        return sorted(set(_parse_strict(text)))
    except ValueError:
        return None
