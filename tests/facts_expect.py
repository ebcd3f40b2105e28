"""Compare NodeFacts with a hardware profile's `expect:` block (dotted keys -> values)."""

from __future__ import annotations

from typing import Any

_MISSING = object()


def lookup(facts: dict, dotted: str) -> Any:
    """facts["cpu"]["isa"]["avx512f"] for "cpu.isa.avx512f"; _MISSING when a key is absent."""
    value: Any = facts
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def expect_mismatches(facts: dict, expect: dict[str, Any]) -> list[str]:
    """One line per expected key the facts disagree with (empty = all match)."""
    problems = []
    for dotted, wanted in sorted(expect.items()):
        got = lookup(facts, dotted)
        if got is _MISSING:
            problems.append(f"{dotted}: missing from the facts (expected {wanted!r})")
        elif got != wanted:
            problems.append(f"{dotted}: got {got!r}, expected {wanted!r}")
    return problems
