"""What a knob declares (read, profile key, compare, set, record, boot), and the one compare.

A knob area module (power.py, cstates.py, ...) declares its knobs with these types, like a tuned
plugin declares its options; the audit, the tune plan, the generic tune operation, the boot script, the
undo log and the profile schema all read the declarations, so adding a knob is one declaration.
Comparison is written once (`Knob.compare`, like tuned's `_verify_value`), not once per knob, and the
KnobVerdict it returns is what the audit reports and the tune plan acts on: one comparison per knob per host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

from xeonfleet.knobs import commands
from xeonfleet.knobs.status import FAIL, NA, PASS, UNKNOWN

Facts = dict[str, Any]


class ProfileValues(Protocol):
    """What a knob reads from a profile (xeonfleet.profiles.Profile is one): declared here, at the bottom,
    so the knobs need not import the profile loader, which imports them for its schema."""

    def get(self, dotted: str, default: Any = None) -> Any:
        """The value at `section.key`, or `default` when the profile does not set it."""


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


class EntryError(ValueError):
    """Raised by a ProfileKey's `valid` to blame one entry of a mapping value (`vm.swappiness` of os.sysctl)
    with that entry's own "must be ..." wording, where the mapping's wording would not say what is wrong."""

    def __init__(self, entry: str, wording: str) -> None:
        super().__init__(f"{entry} must be {wording}")
        self.entry = entry
        self.wording = wording


@dataclass(frozen=True)
class ProfileKey:
    """A profile key a knob area reads, with its allowed values; the profile schema is built from these.

    valid(value) says whether a profile value is allowed (or raises EntryError naming the entry of a mapping
    at fault); wording is the "must be ..." of the error.
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

    command(wanted, facts): the shell that sets it (a HelperCall when the undo-log helper sets it, so the
    deploy can run several in one helper start); record(knob_id, wanted, facts): the undo-log command run
    first (given the knob's id, under which the undo log keeps the prior value); boot: the setting does not
    survive a reboot, so the boot script re-runs `command`.
    """

    command: Callable[[Any, Facts], str]
    record: Callable[[str, Any, Facts], commands.HelperCall]
    boot: bool = False


def records_files(files: Callable[[Facts], list[str]]) -> Callable[[str, Any, Facts], commands.HelperCall]:
    """`Setter.record` of a knob whose prior value is the content of the sysfs files (globs) it writes."""
    return lambda knob_id, wanted, facts: commands.record_values(knob_id, files(facts))


@dataclass(frozen=True)
class PersistFile:
    """A file that holds several knobs' values across boots (the sysctl drop-in, the profile.d env):
    rendered from `template` with `values` (knob key -> wanted) and installed after the knobs."""

    path: str
    template: str
    mode: str = "0644"


@dataclass(frozen=True)
class KnobVerdict:
    """One knob compared on one host, once: the audit reports status/evidence/expected, the tune plan acts
    on the rest. `settable` is False when the deploy must leave the knob alone (n/a here, or its value
    cannot be known); `current` is None when its facts could not be read (the deploy then sets it)."""

    status: str
    evidence: str
    expected: str
    wanted: Any
    current: Any = None
    settable: bool = True


@dataclass(frozen=True)
class Knob:
    """A setting the tune deploy can change and the audit can verify, declared by its id once.

    The id names the rest unless told otherwise: its category is the id's first part; `facts` (the
    NodeFacts paths it reads) defaults to the id itself; `read(facts)` -> current value or None (unknown)
    defaults to the value of its one fact; `wanted(profile, facts)` -> target or None (not computable)
    defaults to the profile's value at the id. applies(facts) -> None, or the reason the knob is n/a on
    this node; unknown(facts) -> None, or why its current value cannot be known here (it is then never
    set); plan_error(wanted, facts, host_data) -> a one-line error that stops the deploy on that host
    before anything runs. setter: how to set it (None: only its persist file sets it); persist: the file
    that keeps it; key: the sysctl name, env var or tool the persist file / setter is about.
    """

    id: str
    severity: str
    title: str
    facts: tuple[str, ...] = ()
    read: Callable[[Facts], Any] = None  # type: ignore[assignment]  # None: __post_init__ fills in the default
    wanted: Callable[[ProfileValues, Facts], Any] = None  # type: ignore[assignment]  # likewise
    applies: Callable[[Facts], str | None] = always
    unknown: Callable[[Facts], str | None] = always
    setter: Setter | None = None
    persist: PersistFile | None = None
    key: str | None = None
    plan_error: Callable[[Any, Facts, Any], str | None] = no_error

    def __post_init__(self) -> None:
        facts = self.facts or (self.id,)
        object.__setattr__(self, "facts", facts)
        if self.read is None:
            if len(facts) != 1:
                raise ValueError(f"knob {self.id} reads {', '.join(facts)}: it must say how (read=)")
            object.__setattr__(self, "read", lambda node_facts: fact(node_facts, facts[0]))
        if self.wanted is None:
            object.__setattr__(self, "wanted", lambda profile, node_facts: profile.get(self.id))

    @property
    def category(self) -> str:
        return self.id.split(".")[0]

    @property
    def remedy(self) -> str:
        return f"pyinfra INVENTORY deploys/ai_node.py (sets {self.id})"

    def record_command(self, wanted: Any, facts: Facts) -> commands.HelperCall:
        """The undo-log command run before the knob's set command (it has a setter)."""
        assert self.setter is not None, f"knob {self.id} has no setter"
        return self.setter.record(self.id, wanted, facts)

    def compare(self, facts: Facts, profile: ProfileValues) -> KnobVerdict:
        """The one place knob values are normalised and compared."""
        wanted = self.wanted(profile, facts)
        expected = show(wanted)
        if reason := self.applies(facts):
            return KnobVerdict(NA, reason, expected, wanted, settable=False)
        if unknown := self.unknown(facts):
            return KnobVerdict(UNKNOWN, unknown, expected, wanted, settable=False)
        current = self.read(facts)
        if current is None:
            return KnobVerdict(UNKNOWN, f"cannot read {', '.join(self.facts)} on this host", expected, wanted)
        status = PASS if _normalise(current) == _normalise(wanted) else FAIL
        return KnobVerdict(status, show(current), expected, wanted, current)


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
