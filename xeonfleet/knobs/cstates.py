"""Idle states: disable every cpuidle state deeper than the profile's `power.max_cstate`.

The guide's `cpupower idle-set -d 2,3` keeps POLL and C1. Which indices that means is read from the
driver's own table, in its order (deeper = higher index), never from the names: intel_idle lists POLL, C1,
C1E, C6 on Ice Lake / Sapphire Rapids, POLL, C1, C1E, C6, C6P on Granite Rapids and POLL, C1, C1E, C6S,
C6SP on Sierra Forest (drivers/idle/intel_idle.c icx_cstates, spr_cstates, gnr_cstates, srf_cstates), so
the same profile fits every CPU and `max_cstate: C1` disables states 2, 3 and 4 on the Xeon 6 parts.
The sysfs setting is runtime only: the boot script re-applies it (the same indices), and the kernel
cmdline advice (kernel_cmdline.py) makes the limit hold from boot.
"""

from __future__ import annotations

from typing import Any

from xeonfleet.parsers import sysfs_paths as paths
from xeonfleet.knobs.base import Facts, Knob, ProfileKey, ProfileValues, Setter, fact, records_files
from xeonfleet.knobs import commands

PROFILE_KEYS = (ProfileKey("power.max_cstate", lambda value: isinstance(value, str), "a C-state name such as C1"),)
# States that let the package enter package C6 (memory controller and fabric asleep: DMA and wake-up latency),
# named in the evidence. Granite Rapids split C6 into C6 (core C6 only) and C6P (package C6 allowed), Sierra
# Forest C6S into C6S and C6SP (gnr_cstates, gnrd_cstates, srf_cstates; pepc docs/misc-c6p-c6sp.md). Older
# parts' C6 may reach package C6 too, but the name does not say whether the BIOS allows it, so it is not marked.
PACKAGE_CSTATES = frozenset({"C6P", "C6SP"})


def deep_cstates(facts: Facts, max_cstate: str) -> list[dict[str, Any]] | None:
    """C-states listed after `max_cstate` in the driver's table (deeper = higher index), or None when the
    driver has no state of that name (e.g. haltpoll), so the question does not apply."""
    states = fact(facts, "power.cstates") or []
    names = [s.get("name") for s in states]
    if max_cstate not in names:
        return None
    return [s for s in states if s.get("index", 0) > states[names.index(max_cstate)].get("index", 0)]


def _disabled_everywhere(state: dict[str, Any]) -> bool:
    """A C-state counts as disabled only when every online CPU has it off (cpupower idle-set -d does all)."""
    if state.get("cpus") is not None and state.get("disabled_cpus") is not None:
        return state["disabled_cpus"] >= state["cpus"]
    return bool(state.get("disabled"))


def _label(name: str) -> str:
    return f"{name} (package C6)" if name in PACKAGE_CSTATES else name


def _disable_files(index: int) -> str:
    return paths.every_cpu(paths.cstate(index, "disable"))


def disable_command(indices: list[int]) -> str:
    return "; ".join(
        commands.with_cpupower(["idle-set", "-d", int(i)], commands.ensure_files(_disable_files(i), "1"))
        for i in indices
    )


def knobs(profile: ProfileValues) -> list[Knob]:
    max_cstate = profile.get("power.max_cstate")
    if max_cstate is None:
        return []

    def indices(facts: Facts) -> list[int]:
        return [s["index"] for s in deep_cstates(facts, max_cstate) or []]

    def read(facts: Facts) -> str:
        enabled = [_label(s["name"]) for s in deep_cstates(facts, max_cstate) or [] if not _disabled_everywhere(s)]
        return f"enabled deeper than {max_cstate}: {', '.join(enabled)}" if enabled else f"none deeper than {max_cstate}"

    def applies(facts: Facts) -> str | None:
        states = fact(facts, "power.cstates")
        if not states:
            return "no cpuidle states exposed on this host"
        if deep_cstates(facts, max_cstate) is None:
            return (f"cpuidle driver {fact(facts, 'power.cpuidle_driver')} has no {max_cstate} state "
                    f"(it has {', '.join(str(s.get('name')) for s in states)})")
        return None

    return [Knob(
        id="power.cstates", severity="high", title=f"C-states deeper than {max_cstate} disabled", read=read,
        wanted=lambda profile, facts: f"none deeper than {max_cstate}", applies=applies,
        setter=Setter(command=lambda wanted, facts: disable_command(indices(facts)),
                      record=records_files(lambda facts: [_disable_files(i) for i in indices(facts)]), boot=True),
    )]
