"""Tunables: each defined once — how to read it from facts, what the profile wants, how to compare.

The audit turns every knob into a rule; the tune deploy (deploys/ai_node.py) walks the same list and
applies the operation named by `kind`, so what the audit checks is exactly what the deploy sets.
Comparison is written once (`compare`), like tuned's `_verify_value`, not once per knob.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from xeonfleet.findings import FAIL, NA, PASS, UNKNOWN
from xeonfleet.instances import pick_cores_per_instance
from xeonfleet.profiles import Profile

Facts = dict[str, Any]


def fact(facts: Facts, dotted: str) -> Any:
    """Value at a dotted path of the NodeFacts dict (docs/facts.md), None when absent."""
    node: Any = facts
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def is_intel(facts: Facts) -> bool:
    return fact(facts, "cpu.vendor") == "GenuineIntel"


def needs_cpufreq(facts: Facts) -> str | None:
    if fact(facts, "power.driver") is None:
        return "no cpufreq on this host (VM or driver not loaded)"
    return None


def needs_intel_pstate(facts: Facts) -> str | None:
    if fact(facts, "power.driver") != "intel_pstate":
        return f"scaling driver is {fact(facts, 'power.driver') or 'absent'}, not intel_pstate"
    return None


@dataclass(frozen=True)
class Knob:
    """A setting the tune deploy can change and the audit can verify.

    kind: which operation sets it (governor, cstates, turbo, epp, epb, sysctl, thp, tool, env);
    key: the sysctl name, tool name or env var for the kinds that need one.
    read(facts) -> current value or None (unknown); wanted(profile, facts) -> target or None (not asked).
    applies(facts) -> None, or the reason the knob is n/a on this node.
    """

    id: str
    kind: str
    category: str
    severity: str
    title: str
    facts: tuple[str, ...]
    read: Callable[[Facts], Any]
    wanted: Callable[[Profile, Facts], Any]
    applies: Callable[[Facts], str | None] = lambda facts: None
    key: str | None = None

    @property
    def remedy(self) -> str:
        return f"pyinfra INVENTORY deploys/ai_node.py (sets {self.id})"

    def compare(self, facts: Facts, profile: Profile) -> tuple[str, str, str]:
        """(status, evidence, expected): the one place knob values are normalised and compared."""
        wanted = self.wanted(profile, facts)
        expected = _show(wanted)
        reason = self.applies(facts)
        if reason:
            return NA, reason, expected
        current = self.read(facts)
        if current is None:
            return UNKNOWN, f"cannot read {', '.join(self.facts)} on this host", expected
        if _normalise(current) == _normalise(wanted):
            return PASS, _show(current), expected
        return FAIL, _show(current), expected


def _normalise(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return " ".join(value.split())
    return value


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


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


def _cstates_read(max_cstate: str) -> Callable[[Facts], Any]:
    def read(facts: Facts) -> Any:
        deep = deep_cstates(facts, max_cstate) or []
        enabled = [s["name"] for s in deep if not _disabled_everywhere(s)]
        return f"enabled deeper than {max_cstate}: {', '.join(enabled)}" if enabled else f"none deeper than {max_cstate}"

    return read


def _cstates_applies(max_cstate: str) -> Callable[[Facts], str | None]:
    def applies(facts: Facts) -> str | None:
        if not fact(facts, "power.cstates"):
            return "no cpuidle states exposed on this host"
        if deep_cstates(facts, max_cstate) is None:
            return f"cpuidle driver {fact(facts, 'power.cpuidle_driver')} has no {max_cstate} state"
        return None

    return applies


# Runtime env vars copied verbatim from the profile (OMP_NUM_THREADS and TF intra-op are computed).
ENV_FROM_PROFILE = (
    ("KMP_AFFINITY", "runtime.kmp_affinity"),
    ("KMP_BLOCKTIME", "runtime.kmp_blocktime"),
    ("KMP_SETTINGS", "runtime.kmp_settings"),
    ("TF_NUM_INTEROP_THREADS", "runtime.tf_inter_op_threads"),
)
COMPUTED_ENV = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")


def runtime_env_wanted(profile: Profile, facts: Facts) -> dict[str, str]:
    """The OpenMP/KMP/TF environment the profile implies for this node (OMP_NUM_THREADS from its cores)."""
    physical = fact(facts, "cpu.physical_cores")
    threads_rule = profile.get("runtime.omp_num_threads")
    if threads_rule == "physical_cores":
        threads = physical
    elif threads_rule == "cores_per_instance":
        threads = instance_cores(profile, facts)
    else:
        threads = threads_rule
    env: dict[str, str] = {}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
        env["TF_NUM_INTRAOP_THREADS"] = str(threads)
    for var, key in ENV_FROM_PROFILE:
        if profile.get(key) is not None:
            env[var] = str(profile.get(key))
    return env


def instance_cores(profile: Profile, facts: Facts) -> int | None:
    """Cores per instance for a multi-instance profile on this node: a NUMA node split evenly in range."""
    physical = fact(facts, "cpu.physical_cores")
    nodes = fact(facts, "numa.node_count") or 1
    if not physical:
        return None
    lo, hi = profile.get("runtime.cores_per_instance", [physical, physical])
    return pick_cores_per_instance(max(1, physical // nodes), lo, hi)


def _env_knob(var: str) -> Knob:
    return Knob(
        id=f"runtime.env.{var}",
        kind="env",
        key=var,
        category="runtime",
        severity="medium",
        title=f"{var} in the runtime environment",
        facts=("os.runtime_env",),
        read=lambda facts: (fact(facts, "os.runtime_env") or {}).get(var, "unset")
        if fact(facts, "os.runtime_env") is not None
        else None,
        wanted=lambda profile, facts: runtime_env_wanted(profile, facts).get(var),
    )


def _sysctl_knob(key: str) -> Knob:
    return Knob(
        id=f"os.sysctl.{key}",
        kind="sysctl",
        key=key,
        category="os",
        severity="low",
        title=f"sysctl {key}",
        facts=(f"os.sysctl.{key}",),
        read=lambda facts: (fact(facts, "os.sysctl") or {}).get(key),
        wanted=lambda profile, facts: str(profile.get("os.sysctl")[key]),
    )


def _tool_knob(tool: str) -> Knob:
    return Knob(
        id=f"os.tool.{tool}",
        kind="tool",
        key=tool,
        category="os",
        severity="medium",
        title=f"{tool} installed",
        facts=(f"tools.{tool}",),
        read=lambda facts: fact(facts, f"tools.{tool}"),
        wanted=lambda profile, facts: True,
    )


def _epp_applies(facts: Facts) -> str | None:
    if reason := needs_intel_pstate(facts):
        return reason
    return None if fact(facts, "power.epp") is not None else "no EPP control (HWP off or not exposed)"


def _epb_applies(facts: Facts) -> str | None:
    if not is_intel(facts):
        return "EPB is an Intel MSR"
    return None if fact(facts, "power.epb") is not None else "no energy_perf_bias exposed (VM or kernel without it)"


def _numa_balancing_applies(facts: Facts) -> str | None:
    if fact(facts, "numa.balancing") is not None or (fact(facts, "numa.node_count") or 1) > 1:
        return None
    return "single NUMA node kernel without numa_balancing"


# Knobs whose current value is one fact and whose target is one profile key, in apply order:
# (profile key = knob id, kind, sysctl key, severity, title, fact path, applies)
SIMPLE_KNOBS: tuple[tuple[str, str, str | None, str, str, str, Callable[[Facts], str | None]], ...] = (
    ("power.governor", "governor", None, "high", "CPU frequency governor", "power.governor", needs_cpufreq),
    ("power.turbo", "turbo", None, "high", "Turbo Boost", "power.turbo_enabled", needs_cpufreq),
    ("power.epp", "epp", None, "medium", "Energy-performance preference (EPP)", "power.epp", _epp_applies),
    ("power.epb", "epb", None, "medium", "Energy-performance bias (EPB)", "power.epb", _epb_applies),
    ("numa.balancing", "sysctl", "kernel.numa_balancing", "medium", "Automatic NUMA balancing", "numa.balancing",
     _numa_balancing_applies),
    ("os.thp", "thp", None, "low", "Transparent huge pages", "os.thp", lambda facts: None),
)


def _simple_knob(knob_id: str, kind: str, key: str | None, severity: str, title: str, path: str,
                 applies: Callable[[Facts], str | None]) -> Knob:
    return Knob(
        id=knob_id, kind=kind, key=key, category=knob_id.split(".")[0], severity=severity, title=title,
        facts=(path,), read=lambda facts: fact(facts, path),
        wanted=lambda profile, facts: profile.get(knob_id), applies=applies,
    )


def _cstates_knob(max_cstate: str) -> Knob:
    return Knob(
        id="power.cstates", kind="cstates", category="power", severity="high",
        title=f"C-states deeper than {max_cstate} disabled", facts=("power.cstates",),
        read=_cstates_read(max_cstate),
        wanted=lambda profile, facts: f"none deeper than {max_cstate}",
        applies=_cstates_applies(max_cstate),
    )


def knobs_for(profile: Profile) -> list[Knob]:
    """Every knob the profile asks for, in the order the tune deploy applies them."""
    knobs: list[Knob] = [_tool_knob(tool) for tool in profile.get("os.tools", [])]
    knobs += [_simple_knob(*spec) for spec in SIMPLE_KNOBS if profile.get(spec[0]) is not None]
    if profile.get("power.max_cstate") is not None:
        knobs.append(_cstates_knob(profile.get("power.max_cstate")))
    knobs += [_sysctl_knob(key) for key in (profile.get("os.sysctl") or {})]
    if profile.get("runtime.omp_num_threads") is not None:
        declared = [*COMPUTED_ENV, *(var for var, key in ENV_FROM_PROFILE if profile.get(key) is not None)]
        knobs += [_env_knob(var) for var in declared]
    return knobs
