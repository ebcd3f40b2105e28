"""The `-march` a wheel is compiled for: the newest microarch every target node can run.

Each gcc -march name points at the newest name whose instruction set it fully contains, so the
lowest common microarch of a fleet is the deepest ancestor shared by all nodes' chains.
"""

from collections.abc import Iterable, Mapping
from typing import Any

# child -> parent: the parent's ISA is a subset of the child's.
_PARENT: dict[str, str] = {
    "graniterapids": "sapphirerapids",
    "emeraldrapids": "sapphirerapids",
    "sapphirerapids": "icelake-server",
    "icelake-server": "cascadelake",
    "cooperlake": "cascadelake",  # cascadelake + bf16, no icelake VBMI/VNNI-ext
    "cascadelake": "skylake-avx512",
    "skylake-avx512": "x86-64-v4",
    "zen5": "zen4",
    "zen4": "x86-64-v4",
    "zen3": "x86-64-v3",
    "zen2": "x86-64-v3",
    "x86-64-v4": "x86-64-v3",
    "x86-64-v3": "x86-64-v2",
    "x86-64-v2": "x86-64",
}
BASELINE = "x86-64"


def node_march(facts: Mapping[str, Any]) -> str:
    """A node's -march from NodeFacts: cpu.microarch, else an x86-64 level from its ISA flags."""
    cpu = facts.get("cpu") or {}
    microarch = cpu.get("microarch")
    if microarch in _PARENT:
        return microarch
    isa = cpu.get("isa") or {}
    if isa.get("avx512f"):
        return "x86-64-v4"
    if isa.get("avx2") and isa.get("fma"):
        return "x86-64-v3"
    if "sse4_2" in (cpu.get("flags") or []):
        return "x86-64-v2"
    return BASELINE


def _chain(march: str) -> list[str]:
    chain = [march]
    while chain[-1] in _PARENT:
        chain.append(_PARENT[chain[-1]])
    return chain


def lowest_common_march(marches: Iterable[str]) -> str:
    """The deepest -march contained in every given one (BASELINE for an empty fleet)."""
    chains = [_chain(march) for march in marches]
    if not chains:
        return BASELINE
    common = set(chains[0]).intersection(*chains[1:])
    return next(march for march in chains[0] if march in common)
