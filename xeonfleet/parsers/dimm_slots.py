"""Which socket, channel and slot-in-channel each SMBIOS DIMM slot is, by the vendor's own slot names.

Boards name slots their own way ("A7", "PROC 2 DIMM 11", "P1-DIMMC1", "DIMM_P0_A0"), and the names
only mean a socket and a channel through the vendor's population guide. Those guides are data, in
dimm_slots.yaml next to this module (each rule names its source); this module applies them. A slot
no rule can place keeps `None` so the audit says "unknown" instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

TABLE = "dimm_slots.yaml"
_SOCKET_BASES = ("letter", "auto", 0, 1)


class SlotTableError(ValueError):
    """dimm_slots.yaml is malformed (message is one line naming the rule and the fix)."""


@dataclass(frozen=True)
class Place:
    """Where one slot is; any field None when the rule cannot tell."""

    socket: int | None
    channel: str | None
    slot: int | None


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    socket_base: str | int | None  # "letter" (A = 0), "auto", 0 or 1; None: gives no socket
    slot_base: int | None  # None: the slot group is not read

    def read(self, text: str | None) -> dict[str, Any] | None:
        """The groups of a match as socket/channel/slot/number values, or None when it does not match."""
        match = self.regex.match((text or "").strip())
        if not match:
            return None
        groups = {k: v for k, v in match.groupdict().items() if v is not None}
        values: dict[str, Any] = {}
        if "socket" in groups and self.socket_base is not None:
            raw = groups["socket"]
            values["socket"] = ord(raw.upper()) - ord("A") if self.socket_base == "letter" else int(raw)
            if isinstance(self.socket_base, int):
                values["socket"] -= self.socket_base
        if "channel" in groups:
            values["channel"] = groups["channel"].upper()
        if "slot" in groups and self.slot_base is not None:
            values["slot"] = int(groups["slot"]) - self.slot_base
        if "number" in groups:
            values["number"] = int(groups["number"])
        return values


@dataclass(frozen=True)
class SlotRule:
    """One row of dimm_slots.yaml: when it applies and how a slot name maps to socket/channel/slot."""

    id: str
    vendor: str
    source: str
    manufacturer: re.Pattern[str] | None
    product: re.Pattern[str] | None
    locator: _Pattern | None
    bank: _Pattern | None
    channels: tuple[dict[int, tuple[str, int | None]], ...]  # per socket (one entry: every socket): number -> place
    fill_order: bool

    @property
    def auto_socket(self) -> bool:
        return any(p is not None and p.socket_base == "auto" for p in (self.locator, self.bank))

    def applies_to(self, manufacturer: str | None, product: str | None) -> bool:
        return all(pattern is None or pattern.search(value or "")
                   for pattern, value in ((self.manufacturer, manufacturer), (self.product, product)))

    def place(self, locator: str | None, bank: str | None) -> Place:
        """The slot's place by this rule; a socket the locator and bank disagree on is unknown."""
        reads = [r for r in (p.read(t) for p, t in ((self.locator, locator), (self.bank, bank)) if p) if r is not None]
        sockets = {r["socket"] for r in reads if "socket" in r}
        if len(sockets) > 1:
            return Place(None, None, None)
        socket = sockets.pop() if sockets else None
        channel = next((r["channel"] for r in reads if "channel" in r), None)
        slot = next((r["slot"] for r in reads if "slot" in r), None)
        number = next((r["number"] for r in reads if "number" in r), None)
        if number is not None and self.channels:
            socket, channel, slot = self._look_up(number, socket)
        return Place(socket, channel, slot)

    def _look_up(self, number: int, socket: int | None) -> tuple[int | None, str | None, int | None]:
        """Channel and slot of a slot number; with per-socket tables the number may also give the socket."""
        if len(self.channels) == 1:
            found = self.channels[0].get(number)
            return (socket, *found) if found else (socket, None, None)
        candidates = range(len(self.channels)) if socket is None else [socket]
        for index in candidates:
            if index < len(self.channels) and number in self.channels[index]:
                return (index, *self.channels[index][number])
        return socket, None, None


def _fail(rule: str, problem: str, fix: str) -> SlotTableError:
    return SlotTableError(f"xeonfleet/parsers/{TABLE}: rule {rule}: {problem}; {fix}")


def _regex(rule: str, key: str, text: Any) -> re.Pattern[str]:
    try:
        return re.compile(str(text))
    except re.error as exc:
        raise _fail(rule, f"{key} {text!r} is not a regex ({exc})", "fix the pattern") from exc


def _pattern(rule: str, key: str, spec: Any) -> _Pattern | None:
    if spec is None:
        return None
    if not isinstance(spec, dict) or "pattern" not in spec:
        raise _fail(rule, f"{key} must be a mapping with a pattern", f"write {key}: {{pattern: '...'}}")
    regex = _regex(rule, f"{key}.pattern", spec["pattern"])
    socket_base, slot_base = spec.get("socket_base"), spec.get("slot_base")
    if "socket" in regex.groupindex and socket_base not in _SOCKET_BASES:
        raise _fail(rule, f"{key} has a socket group but socket_base is {socket_base!r}",
                    "set socket_base to letter, auto, 0 or 1")
    if "slot" in regex.groupindex and slot_base not in (0, 1):
        raise _fail(rule, f"{key} has a slot group but slot_base is {slot_base!r}", "set slot_base to 0 or 1")
    return _Pattern(regex, socket_base if "socket" in regex.groupindex else None,
                    slot_base if "slot" in regex.groupindex else None)


def _channels(rule: str, spec: Any, fill_order: bool) -> tuple[dict[int, tuple[str, int | None]], ...]:
    """channel -> numbers (one mapping, or one per socket) turned into number -> (channel, slot)."""
    if spec is None:
        return ()
    tables = spec if isinstance(spec, list) else [spec]
    out = []
    for table in tables:
        if not isinstance(table, dict):
            raise _fail(rule, f"channels entry {table!r} is not a mapping", "write channel: [slot numbers]")
        by_number: dict[int, tuple[str, int]] = {}
        for channel, numbers in table.items():
            if not isinstance(numbers, list) or not all(isinstance(n, int) for n in numbers):
                raise _fail(rule, f"channel {channel} lists {numbers!r}", "list the slot numbers, e.g. [1, 7]")
            for index, number in enumerate(numbers):
                if number in by_number:
                    raise _fail(rule, f"slot {number} is in channels {by_number[number][0]} and {channel}",
                                "list every slot number once per socket")
                by_number[number] = (str(channel), index)
        out.append({n: (c, i if fill_order else None) for n, (c, i) in by_number.items()})
    return tuple(out)


def _rule(spec: Any) -> SlotRule:
    if not isinstance(spec, dict):
        raise SlotTableError(f"xeonfleet/parsers/{TABLE}: rule {spec!r} is not a mapping; write id, vendor, source, ...")
    rule = str(spec.get("id", "?"))
    missing = [key for key in ("id", "vendor", "source") if not spec.get(key)]
    if missing:
        raise _fail(rule, f"missing {', '.join(missing)}", "every rule names its id, vendor and source")
    system = spec.get("system") or {}
    locator, bank = _pattern(rule, "locator", spec.get("locator")), _pattern(rule, "bank", spec.get("bank"))
    if locator is None and bank is None:
        raise _fail(rule, "has neither locator nor bank", "give the pattern the slot names follow")
    channels = _channels(rule, spec.get("channels"), bool(spec.get("fill_order")))
    numbered = any(p is not None and "number" in p.regex.groupindex for p in (locator, bank))
    if numbered != bool(channels):
        raise _fail(rule, "a number group needs a channels table and a channels table a number group",
                    "add the one that is missing")
    return SlotRule(
        id=rule, vendor=str(spec["vendor"]), source=" ".join(str(spec["source"]).split()),
        manufacturer=_regex(rule, "system.manufacturer", system["manufacturer"]) if "manufacturer" in system else None,
        product=_regex(rule, "system.product", system["product"]) if "product" in system else None,
        locator=locator, bank=bank, channels=channels, fill_order=bool(spec.get("fill_order")),
    )


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    text = resources.files("xeonfleet.parsers").joinpath(TABLE).read_text()
    # libyaml's safe loader when PyYAML has it: the same data, ~10x faster (70 ms of every facts run otherwise).
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise SlotTableError(f"xeonfleet/parsers/{TABLE}: needs a `rules:` list")
    return data


def parse_rules(specs: list[dict[str, Any]]) -> tuple[SlotRule, ...]:
    """Rules from their YAML form, each checked; a bad one raises SlotTableError naming it and the fix."""
    parsed = tuple(_rule(spec) for spec in specs)
    ids = [r.id for r in parsed]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise SlotTableError(f"xeonfleet/parsers/{TABLE}: duplicate rule ids {', '.join(duplicates)}; rename them")
    return parsed


@lru_cache(maxsize=1)
def rules() -> tuple[SlotRule, ...]:
    """Every rule of dimm_slots.yaml, vendor rows first, validated once."""
    return parse_rules(_table()["rules"])


def _places(rule: SlotRule, slots: list[tuple[str | None, str | None]]) -> list[Place]:
    places = [rule.place(locator, bank) for locator, bank in slots]
    known = [p.socket for p in places if p.socket is not None]
    if rule.auto_socket and known and min(known) >= 1:
        # Boards counting processors from 1 (CPU1, CPU2): the kernel counts from 0.
        places = [Place(p.socket - 1 if p.socket is not None else None, p.channel, p.slot) for p in places]
    return places


def place_slots(slots: list[tuple[str | None, str | None]], manufacturer: str | None,
                product: str | None) -> tuple[SlotRule | None, list[Place]]:
    """The rule that places the most of these (locator, bank) slots on this system, and each slot's place.

    Only rules whose system filter fits apply; a slot is placed when its socket and channel are known,
    a socket alone breaks a tie. No rule placing any socket: (None, all unknown).
    """
    best: tuple[SlotRule | None, list[Place]] = (None, [Place(None, None, None) for _ in slots])
    best_score = (0, 0)
    for rule in rules():
        if not rule.applies_to(manufacturer, product):
            continue
        places = _places(rule, slots)
        score = (sum(1 for p in places if p.socket is not None and p.channel is not None),
                 sum(1 for p in places if p.socket is not None))
        if score > best_score:
            best, best_score = (rule, places), score
    return best


def max_speed_mts(manufacturer: str | None, product: str | None, microarch: str | None,
                  ranks: set[int], dimms_per_channel: int) -> tuple[int, str] | None:
    """The board's published memory speed for this CPU, DIMM ranks and DIMMs per channel, with its source."""
    for board in _table().get("max_speed") or []:
        system = board.get("system") or {}
        if not all(re.search(system[k], v or "") for k, v in (("manufacturer", manufacturer), ("product", product))
                   if k in system):
            continue
        for entry in board.get("entries") or []:
            if entry.get("microarch") == microarch and ranks and ranks <= set(entry.get("ranks") or []):
                mts = (entry.get("mts") or {}).get(dimms_per_channel)
                if mts:
                    return int(mts), " ".join(str(board.get("source", "")).split())
    return None
