"""Tunables, one module per area (like tuned's plugins), each knob declared once.

A declaration says how to read the knob (its facts), what profile key and values it takes, how to
compare (base.Knob.compare), the node command that sets it, what the undo log records first, and
whether the boot script re-applies it. Everything else is derived from the declarations: the audit's
knob rules (rules.evaluate_node), the tune plan and its errors (tune/plan.py), the one generic tune
operation (tune/operations.apply_plan), the boot script, restore, and the profile schema's knob keys.
"""

from __future__ import annotations

from typing import Any, Callable

from xeonfleet.knobs import cpu_drivers, cstates, msr, packages, power, runtime_env, sysctl, thp, uncore
from xeonfleet.knobs.base import (Facts, Knob, KnobVerdict, PersistFile, ProfileKey, ProfileValues, Setter, fact,
                                  is_intel, show)
from xeonfleet.knobs.runtime_env import instance_cores, runtime_env_wanted

# Knob areas in apply order: tools first (later commands use cpupower), then the CPU drivers (the MSR
# knobs write through msr), the runtime env last.
AREAS = (packages, cpu_drivers, power, uncore, msr, sysctl, thp, cstates, runtime_env)

__all__ = ["AREAS", "Facts", "Knob", "KnobVerdict", "PersistFile", "ProfileKey", "ProfileValues", "Setter", "fact",
           "instance_cores", "is_intel", "knobs_for", "profile_schema", "runtime_env_wanted", "show"]


def knobs_for(profile: ProfileValues) -> list[Knob]:
    """Every knob the profile asks for, in the order the tune deploy applies them."""
    return [knob for area in AREAS for knob in area.knobs(profile)]


def profile_schema(section: str) -> dict[str, tuple[Callable[[Any], bool], str]]:
    """The profile keys of `section` the knob areas declare: xeonfleet.profiles builds its section models from them."""
    keys = [key for area in AREAS for key in area.PROFILE_KEYS if key.key.split(".")[0] == section]
    return {key.key.split(".", 1)[1]: (key.valid, key.wording) for key in keys}
