"""Decide, on the controller and before any command is sent, what the tune deploy does on one host.

Pure functions over (profile, NodeFacts dict, host data): every knob of knobs_for(profile) is either
to apply (with its current and wanted value), skipped by host data, or n/a on this hardware. All bad
host data is found here, so a host with an error gets no command at all (nothing half-applied).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from xeonfleet.findings import FAIL, PASS
from xeonfleet.knobs import Facts, Knob, fact, instance_cores, knobs_for
from xeonfleet.profiles import Profile
from xeonfleet.rules import READ_ONLY_RULES, evaluate_node

# Steps that are not knobs (nothing for the audit to read) but can be opted out of like one.
EXTRA_STEPS = ("persist.service", "runtime.launcher", "frameworks")
# Boot-time re-application covers the sysfs knobs only: sysctls persist through /etc/sysctl.d.
BOOT_KINDS = ("governor", "cstates", "turbo", "epp", "epb", "thp")
DEBIAN_LIKE = ("debian", "ubuntu", "linuxmint", "pop")
RHEL_LIKE = ("rhel", "centos", "rocky", "almalinux", "fedora", "ol", "amzn")
# Which package ships each tool, per distro family; cpupower is the one that differs.
PACKAGES = {
    "debian": {"numactl": "numactl", "cpupower": "linux-cpupower"},
    "ubuntu": {"numactl": "numactl", "cpupower": "linux-tools-generic"},
    "rhel": {"numactl": "numactl", "cpupower": "kernel-tools"},
}
HOST_DATA_KEYS = {
    "xeonfleet_profile": "a profile name or path",
    "xeonfleet_skip": "a list of step ids, e.g. [power.turbo, os.thp]",
    "xeonfleet_kernel_cmdline": "true or false",
    "xeonfleet_install_packages": "true or false",
    "xeonfleet_cores_per_instance": "a positive integer",
}


@dataclass(frozen=True)
class Step:
    """One knob to bring to `wanted`; `current` is what the facts read (None = unknown). `in_place` comes
    from the knob's own compare, the audit's, so the deploy changes exactly what the audit would fail."""

    knob: Knob
    current: Any
    wanted: Any
    in_place: bool


@dataclass
class TunePlan:
    """What the deploy does on one host; `errors` non-empty means it does nothing there."""

    steps: list[Step] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    not_applicable: dict[str, str] = field(default_factory=dict)
    extra_steps: list[str] = field(default_factory=list)
    packages: dict[str, str] = field(default_factory=dict)  # tool -> package to install
    package_manager: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    sysctls: dict[str, str] = field(default_factory=dict)
    cmdline_args: list[str] = field(default_factory=list)
    cmdline_allowed: bool = False
    manual: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def steps_of(self, kind: str) -> list[Step]:
        return [step for step in self.steps if step.knob.kind == kind]


def distro_family(facts: Facts) -> str | None:
    distro = (fact(facts, "os.distro.id") or "").lower()
    if distro in DEBIAN_LIKE:
        return "ubuntu" if distro in ("ubuntu", "linuxmint", "pop") else "debian"
    if distro in RHEL_LIKE:
        return "rhel"
    return None


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
        physical = fact(facts, "cpu.physical_cores")
        return physical
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


def cmdline_advice(profile: Profile, facts: Facts) -> list[str]:
    """Kernel arguments that make the C-state limit hold from boot (the sysfs setting is runtime only)."""
    max_cstate = profile.get("power.max_cstate")
    states = [s.get("name") for s in fact(facts, "power.cstates") or []]
    if not max_cstate or max_cstate not in states or fact(facts, "power.cpuidle_driver") != "intel_idle":
        return []
    # intel_idle counts states from C1 = 1 (POLL is 0), which is the state's index in its table.
    index = states.index(max_cstate)
    return [f"intel_idle.max_cstate={index}"]


def _manual_items(host: str, facts: Facts, profile: Profile) -> list[str]:
    read_only = {rule.id for rule in READ_ONLY_RULES}
    return [
        f"{f.rule}: {f.evidence} (want {f.expected}) -> {f.remedy}"
        for f in evaluate_node(host, facts, profile)
        if f.rule in read_only and f.status == FAIL
    ]


def _check_governor(step: Step, facts: Facts) -> str | None:
    available = fact(facts, "power.governors_available") or []
    if available and step.wanted not in available:
        return (f"governor {step.wanted!r} is not offered by this host's {fact(facts, 'power.driver')} driver "
                f"(scaling_available_governors: {' '.join(available)}); pick one of them in the profile")
    return None


def _packages(plan: TunePlan, facts: Facts, data: Mapping[str, Any]) -> None:
    """Tools to install; a missing tool that may not or cannot be installed is an error."""
    missing = [s.knob.key for s in plan.steps_of("tool") if not s.current]
    if not missing:
        return
    family = distro_family(facts)
    if data.get("xeonfleet_install_packages") is False:
        plan.errors.append(f"{', '.join(missing)} required by the profile (os.tools) but absent, and host data "
                           "xeonfleet_install_packages is false; install it or add os.tool.NAME to xeonfleet_skip")
        return
    if family is None:
        plan.errors.append(f"{', '.join(missing)} absent and no package is known for distro "
                           f"{fact(facts, 'os.distro.id')!r}; install it by hand or skip os.tool.NAME")
        return
    plan.package_manager = "apt" if family in ("debian", "ubuntu") else "dnf"
    for tool in missing:
        package = PACKAGES[family].get(tool)
        if package is None:
            plan.errors.append(f"no package known for tool {tool!r} on {family}; install it by hand")
        else:
            plan.packages[tool] = package


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
        elif reason := knob.applies(facts):
            plan.not_applicable[knob.id] = reason
        else:
            status = knob.compare(facts, profile)[0]
            plan.steps.append(Step(knob, knob.read(facts), knob.wanted(profile, facts), status == PASS))
    for step_id in EXTRA_STEPS:
        (plan.skipped if any(_skip_matches(e, step_id) for e in skip) else plan.extra_steps).append(step_id)
    for step in plan.steps_of("governor"):
        if error := _check_governor(step, facts):
            plan.errors.append(error)
    if any(s.wanted is None for s in plan.steps if s.knob.kind != "tool"):
        unknown = [s.knob.id for s in plan.steps if s.wanted is None]
        plan.errors.append(f"cannot compute a wanted value for {', '.join(unknown)} from this host's facts "
                           "(CPU topology unreadable?); fix the facts or skip those steps")
    _packages(plan, facts, data)
    cores, error = cores_per_instance(profile, facts, data)
    if error:
        plan.errors.append(error)
    plan.env = {s.knob.key: str(s.wanted) for s in plan.steps_of("env")}
    if plan.env and cores:
        plan.env["XEONFLEET_CORES_PER_INSTANCE"] = str(cores)
    plan.sysctls = {s.knob.key: str(s.wanted) for s in plan.steps_of("sysctl")}
    plan.cmdline_args = cmdline_advice(profile, facts)
    plan.cmdline_allowed = data.get("xeonfleet_kernel_cmdline") is True
    plan.manual = _manual_items(host, facts, profile)
    return plan

