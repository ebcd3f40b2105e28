"""Kernel CPU list strings ("0-39,80-119") both ways."""

from __future__ import annotations


def parse_cpulist(text: str | None) -> list[int] | None:
    """"0-3,8" -> [0, 1, 2, 3, 8]; "" -> []; None or garbage -> None."""
    if text is None:
        return None
    cpus: set[int] = set()
    for part in text.strip().split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        try:
            cpus.update(range(int(first), int(last or first) + 1))
        except ValueError:
            return None
    return sorted(cpus)


def format_cpulist(cpus: list[int]) -> str:
    """[0, 1, 2, 3, 8] -> "0-3,8" (the kernel's own notation)."""
    ranges: list[str] = []
    ordered = sorted(set(cpus))
    start = prev = None
    for cpu in ordered + [None]:
        if start is not None and (cpu is None or cpu != prev + 1):
            ranges.append(f"{start}-{prev}" if prev != start else str(start))
            start = None
        if cpu is not None and start is None:
            start = cpu
        prev = cpu
    return ",".join(ranges)
