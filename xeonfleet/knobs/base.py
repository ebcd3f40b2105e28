"""What a knob declares (read, profile key, compare, set, record, boot), and the one compare.

A knob area module (power.py, cstates.py, ...) declares its knobs with these types, like a tuned
plugin declares its options; the audit, the tune plan, the generic tune operation, the boot script, the
undo log and the profile schema all read the declarations, so adding a knob is one declaration.
Comparison is written once (`Knob.compare`, like tuned's `_verify_value`), not once per knob.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from xeonfleet.knobs.status import FAIL, NA, PASS, UNKNOWN

if TYPE_CHECKING:  # the profile loader imports the knob declarations for its schema
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


def always(facts: Facts) -> str | None:
    """`applies` of a knob every node has; `unknown` of one whose reading needs no precondition."""
    return None


def no_error(wanted: Any, facts: Facts, data: Any) -> str | None:
    """`plan_error` of a knob whose every wanted value can be set."""
    return None


@dataclass(frozen=True)
class ProfileKey:
    """A profile key a knob area reads, with its allowed values; the profile schema is built from these.

    valid(value) says whether a profile value is allowed; wording is the "must be ..." of the error.
    """

    key: str  # section.name, e.g. power.governor
    valid: Callable[[Any], bool]
    wording: str


def choice_key(key: str, choices: tuple[str, ...]) -> ProfileKey:
    return ProfileKey(key, lambda value: value in choices, "one of " + ", ".join(choices))


def bool_key(key: str) -> ProfileKey:
    return ProfileKey(key, lambda value: isinstance(value, bool), "true or false")


def int_key(key: str, wording: str, low: int | None = None, high: int | None = None) -> ProfileKey:
    def valid(value: Any) -> bool:
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        return (low is None or value >= low) and (high is None or value <= high)

    return ProfileKey(key, valid, wording)


@dataclass(frozen=True)
class Setter:
    """How the tune deploy changes a knob on the node (all commands from xeonfleet.knobs.commands).

    command(wanted, facts): the shell that sets it; record(wanted, facts): the undo-log command run
    first; boot: the setting does not survive a reboot, so the boot script re-runs `command`.
    """

    command: Callable[[Any, Facts], str]
    record: Callable[[Any, Facts], str]
    boot: bool = False


@dataclass(frozen=True)
class PersistFile:
    """A file that holds several knobs' values across boots (the sysctl drop-in, the profile.d env):
    rendered from `template` with `values` (knob key -> wanted) and installed after the knobs."""

    path: str
    template: str
    mode: str = "0644"


@dataclass(frozen=True)
class Knob:
    """A setting the tune deploy can change and the audit can verify.

    read(facts) -> current value or None (unknown); wanted(profile, facts) -> target or None (not
    computable); applies(facts) -> None, or the reason the knob is n/a on this node; unknown(facts) ->
    None, or why its current value cannot be known here (it is then never set); plan_error(wanted,
    facts, host_data) -> a one-line error that stops the deploy on that host before anything runs.
    setter: how to set it (None: only its persist file sets it); persist: the file that keeps it;
    key: the sysctl name, env var or tool the persist file / setter is about.
    """

    id: str
    category: str
    severity: str
    title: str
    facts: tuple[str, ...]
    read: Callable[[Facts], Any]
    wanted: Callable[[Profile, Facts], Any]
    applies: Callable[[Facts], str | None] = always
    unknown: Callable[[Facts], str | None] = always
    setter: Setter | None = None
    persist: PersistFile | None = None
    key: str | None = None
    plan_error: Callable[[Any, Facts, Any], str | None] = no_error

    @property
    def remedy(self) -> str:
        return f"pyinfra INVENTORY deploys/ai_node.py (sets {self.id})"

    def compare(self, facts: Facts, profile: Profile) -> tuple[str, str, str]:
        """(status, evidence, expected): the one place knob values are normalised and compared."""
        wanted = self.wanted(profile, facts)
        expected = show(wanted)
        reason = self.applies(facts)
        if reason:
            return NA, reason, expected
        if unknown := self.unknown(facts):
            return UNKNOWN, unknown, expected
        current = self.read(facts)
        if current is None:
            return UNKNOWN, f"cannot read {', '.join(self.facts)} on this host", expected
        if _normalise(current) == _normalise(wanted):
            return PASS, show(current), expected
        return FAIL, show(current), expected


def _normalise(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return " ".join(value.split())
    return value


def show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)
