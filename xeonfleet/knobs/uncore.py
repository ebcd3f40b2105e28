"""Uncore (mesh/LLC) frequency limits through intel_uncore_frequency, per die.

PerfSpect's `config --uncore-max/min`. The profile names a limit as `max` (the firmware's highest,
initial_max_freq_khz), `default` (the firmware's own initial value for that limit) or a number of kHz.
A fixed uncore at its top (min = max) trades idle power for latency: online inference wants it. The
kernel forgets the limits at reboot, so the boot script re-applies them; the undo log records each die's
file, so restore puts back the exact kHz of every die.

The limits go to the compute dies only. On Granite Rapids / Sierra Forest the TPMI driver also lists I/O
dies (PCIe, CXL: pepc docs/guide-uncore.md), whose uncore is not the mesh and LLC the cores wait on, and
PerfSpect sets them apart (`--uncore-max-compute` vs `--uncore-max-io`, [SRF+]: its cmd/config).
A die whose kind the kernel does not say (the MSR driver's package_PP_die_DD, whose one die per package
holds the cores; TPMI before kernel 6.16, which has no agent_types) keeps getting the limit, as before TPMI;
`max`/`default` then resolve to each die's own firmware value. The TPMI driver's package_PP_die_00
aggregates are never written (parse_uncore leaves them out): a write there would reach the I/O dies too.
"""

from __future__ import annotations

from typing import Any

from xeonfleet.parsers import sysfs_paths as paths
from xeonfleet.knobs.base import Facts, Knob, ProfileKey, ProfileValues, Setter, fact, is_intel, records_files
from xeonfleet.knobs import commands


def _valid_limit(value: Any) -> bool:
    return value in ("max", "default") or (isinstance(value, int) and not isinstance(value, bool) and value > 0)


PROFILE_KEYS = tuple(ProfileKey(f"power.uncore_{limit}", _valid_limit, "max, default or a frequency in kHz")
                     for limit in ("min", "max"))


def target_dies(facts: Facts) -> list[dict[str, Any]]:
    """The dies the profile's limits apply to: every die but the I/O ones (see the module docstring)."""
    return [die for die in fact(facts, "power.uncore") or [] if die.get("kind") != "io"]


def _applies(facts: Facts) -> str | None:
    if not is_intel(facts):
        return "intel_uncore_frequency is Intel's"
    if fact(facts, "cpu.hypervisor"):
        return f"under a hypervisor ({fact(facts, 'cpu.hypervisor')}) the uncore is the host's"
    if not fact(facts, "power.uncore"):
        return "no intel_uncore_frequency on this host (module not loaded or kernel older than 5.6)"
    if not target_dies(facts):
        return "intel_uncore_frequency lists only I/O dies here (no compute die to limit)"
    return None


def resolve(limit: str, asked: Any, die: dict[str, Any]) -> int | None:
    """The kHz `asked` means for one die: max -> initial_max, default -> initial_<limit>, else itself."""
    if asked == "max":
        return die.get("initial_max_khz")
    if asked == "default":
        return die.get(f"initial_{limit}_khz")
    return asked


def _limit_files(facts: Facts, limit: str) -> list[str]:
    return [paths.uncore_die(die["die"], f"{limit}_freq_khz") for die in target_dies(facts)]


def _knob(limit: str) -> Knob:
    knob_id = f"power.uncore_{limit}"

    def wanted(profile: ProfileValues, facts: Facts) -> list[int | None]:
        return [resolve(limit, profile.get(knob_id), die) for die in target_dies(facts)]

    def command(values: list[int], facts: Facts) -> str:
        files = _limit_files(facts, limit)
        return "; ".join(commands.ensure_files(path, str(value)) for path, value in zip(files, values))

    def plan_error(values: list[int | None], facts: Facts, data: Any) -> str | None:
        for die, value in zip(target_dies(facts), values):
            low, high = die.get("initial_min_khz"), die.get("initial_max_khz")
            if value is not None and low and high and not low <= value <= high:
                return (f"{knob_id} {value} kHz is outside {die['die']}'s firmware range {low}-{high} kHz; "
                        "use max, default or a value in that range")
        return None

    return Knob(
        id=knob_id, severity="medium", title=f"Uncore frequency {limit} (kHz per compute die)", facts=("power.uncore",),
        read=lambda facts: [die.get(f"{limit}_khz") for die in target_dies(facts)] or None,
        wanted=wanted, applies=_applies, plan_error=plan_error,
        setter=Setter(command=command, record=records_files(lambda facts: _limit_files(facts, limit)), boot=True),
    )


def knobs(profile: ProfileValues) -> list[Knob]:
    """max before min: raising min up to max needs max there first (the kernel refuses min > max)."""
    return [_knob(limit) for limit in ("max", "min") if profile.get(f"power.uncore_{limit}") is not None]
