"""Decide, on the controller and before any command is sent, what the tune deploy does on one host.

Pure functions over (profile, NodeFacts dict, host data): every knob of knobs_for(profile) is either
to apply (with its current and wanted value), skipped by host data, or n/a on this hardware. All bad
host data, and every value a knob declares it cannot set here (its plan_error), is found here, so a
host with an error gets no command at all (nothing half-applied).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from xeonfleet.knobs.status import FAIL, NA, PASS
from xeonfleet.knobs import Facts, Knob, KnobVerdict, PersistFile, fact, instance_cores, knobs_for
from xeonfleet.knobs.kernel_cmdline import cmdline_advice
from xeonfleet.knobs.runtime_env import PROFILE_D
from xeonfleet.profiles import Profile
from xeonfleet.audit.rules import read_only_findings

# Steps that are not knobs (nothing for the audit to read) but can be opted out of like one.
EXTRA_STEPS = ("persist.service", "runtime.launcher", "frameworks")
HOST_DATA_KEYS = {
    "xeonfleet_profile": "a profile name or path",
    "xeonfleet_skip": "a list of step ids, e.g. [power.turbo, os.thp]",
    "xeonfleet_kernel_cmdline": "true or false",
    "xeonfleet_install_packages": "true or false",
    "xeonfleet_cores_per_instance": "a positive integer",
}


@dataclass(frozen=True)
class Step:
    """One knob to bring to its wanted value, with its verdict on this host: the knob's own compare, the
    audit's, made once while planning, so the deploy changes exactly what the audit would fail and nothing
    after the plan compares it again."""

    knob: Knob
    verdict: KnobVerdict

    @property
    def current(self) -> Any:
        """What the facts read (None = unknown)."""
        return self.verdict.current

    @property
    def wanted(self) -> Any:
        return self.verdict.wanted

    @property
    def in_place(self) -> bool:
        return self.verdict.status == PASS


@dataclass
class TunePlan:
    """What the deploy does on one host; `errors` non-empty means it does nothing there."""

    steps: list[Step] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    not_applicable: dict[str, str] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)  # knob id -> why its value cannot be read (left alone)
    extra_steps: list[str] = field(default_factory=list)
    files: dict[PersistFile, dict[str, str]] = field(default_factory=dict)  # persist file -> key -> value
    cmdline_args: list[str] = field(default_factory=list)
    cmdline_allowed: bool = False
    manual: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        """The runtime environment file's variables (what xeonfleet-ai.sh exports)."""
        return self.files.get(PROFILE_D, {})

    def values_of(self, path: str) -> dict[str, str]:
        """Key -> wanted value of the knobs kept in the persist file at `path` (e.g. the sysctl drop-in)."""
        return next((values for persist, values in self.files.items() if persist.path == path), {})


def _skip_matches(entry: str, step_id: str) -> bool:
    return step_id == entry or step_id.startswith(entry + ".")


def _check_host_data(data: Mapping[str, Any], known_ids: list[str]) -> list[str]:
    errors: list[str] = []
    skip = data.get("xeonfleet_skip") or []
    if not isinstance(skip, list) or not all(isinstance(s, str) for s in skip):
        errors.append(f"host data xeonfleet_skip must be {HOST_DATA_KEYS['xeonfleet_skip']}, got {skip!r}")
        skip = []
    for entry in skip:
        if not any(_skip_matches(entry, step_id) for step_id in known_ids):
            errors.append(f"host data xeonfleet_skip: unknown step {entry!r}; known: {', '.join(known_ids)}")
    for key in ("xeonfleet_kernel_cmdline", "xeonfleet_install_packages"):
        if data.get(key) is not None and not isinstance(data.get(key), bool):
            errors.append(f"host data {key} must be true or false, got {data.get(key)!r}")
    return errors


def physical_cores_per_node(facts: Facts) -> int | None:
    """Physical cores of the largest NUMA node (logical CPUs / threads per core)."""
    nodes = [n for n in fact(facts, "numa.nodes") or [] if n.get("cpus")]
    threads = fact(facts, "cpu.threads_per_core") or 1
    if not nodes:
        return fact(facts, "cpu.physical_cores")
    return max(len(n["cpus"]) for n in nodes) // threads


def cores_per_instance(profile: Profile, facts: Facts, data: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """The launcher's default instance size: host data, else the profile's range fitted to a NUMA node."""
    asked = data.get("xeonfleet_cores_per_instance")
    per_node = physical_cores_per_node(facts)
    if asked is None:
        return (instance_cores(profile, facts) if profile.get("runtime.mode") == "multi" else per_node), None
    if isinstance(asked, bool) or not isinstance(asked, int) or asked < 1:
        return None, f"host data xeonfleet_cores_per_instance must be a positive integer, got {asked!r}"
    if per_node and asked > per_node:
        return None, (f"host data xeonfleet_cores_per_instance={asked} is larger than a NUMA node "
                      f"({per_node} physical cores); set it to at most {per_node}")
    return asked, None


def _manual_items(host: str, facts: Facts, profile: Profile) -> list[str]:
    """The failed read-only rules (BIOS, hardware): no command fixes them, the deploy prints them."""
    return [f"{f.rule}: {f.evidence} (want {f.expected}) -> {f.remedy}"
            for f in read_only_findings(host, facts, profile) if f.status == FAIL]


def plan_host(host: str, profile: Profile, facts: Facts, data: Mapping[str, Any]) -> TunePlan:
    """Everything the deploy will do on `host`, or the errors that stop it there."""
    plan = TunePlan()
    knobs = knobs_for(profile)
    known_ids = [k.id for k in knobs] + list(EXTRA_STEPS)
    plan.errors += _check_host_data(data, known_ids)
    skip = [s for s in data.get("xeonfleet_skip") or [] if isinstance(s, str)]
    for knob in knobs:
        if any(_skip_matches(entry, knob.id) for entry in skip):
            plan.skipped.append(knob.id)
            continue
        verdict = knob.compare(facts, profile)
        if verdict.status == NA:
            plan.not_applicable[knob.id] = verdict.evidence
        elif not verdict.settable:
            plan.unknown[knob.id] = verdict.evidence
        else:
            plan.steps.append(Step(knob, verdict))
    for step_id in EXTRA_STEPS:
        (plan.skipped if any(_skip_matches(e, step_id) for e in skip) else plan.extra_steps).append(step_id)
    unknown = [s.knob.id for s in plan.steps if s.wanted is None]
    if unknown:
        plan.errors.append(f"cannot compute a wanted value for {', '.join(unknown)} from this host's facts "
                           "(CPU topology unreadable?); fix the facts or skip those steps")
    plan.errors += [error for s in plan.steps if not s.in_place
                    if (error := s.knob.plan_error(s.wanted, facts, data))]
    cores, error = cores_per_instance(profile, facts, data)
    if error:
        plan.errors.append(error)
    for step in plan.steps:
        if step.knob.persist is not None:
            plan.files.setdefault(step.knob.persist, {})[step.knob.key] = str(step.wanted)
    if PROFILE_D in plan.files and cores:
        plan.files[PROFILE_D]["XEONFLEET_CORES_PER_INSTANCE"] = str(cores)
    plan.cmdline_args = cmdline_advice(profile, facts)
    plan.cmdline_allowed = data.get("xeonfleet_kernel_cmdline") is True
    plan.manual = _manual_items(host, facts, profile)
    return plan
