"""The memory population checks of the audit: channels, DIMMs per channel, matched DIMMs, speed, sockets.

Each check reads memory.dimms (docs/facts.md), where every slot carries the socket and channel its
vendor's naming gives it (xeonfleet/parsers/dimm_slots.yaml). A FAIL names the slots to fill or swap
in the board's own slot names; a slot nobody could place makes the check UNKNOWN, naming the slot.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from xeonfleet.knobs.status import FAIL, PASS, UNKNOWN
from xeonfleet.knobs import Facts, fact
from xeonfleet.parsers.dimm_slots import max_speed_mts
from xeonfleet.parsers.microarch import max_dimm_mts
from xeonfleet.parsers.sections import root_refusal

Verdict = tuple[str, str, str]  # (status, evidence, expected), as xeonfleet.rules
Channel = tuple[int, str]  # (socket, channel name)


def no_dmi(facts: Facts) -> str | None:
    """Why no memory check can run, or None: the SMBIOS read refused to this login (and the grant that allows
    it), else no SMBIOS at all."""
    if not fact(facts, "memory.dimms") and fact(facts, "bios.vendor") is None:
        return (root_refusal(facts.get("errors") or [], "SMBIOS")
                or "no SMBIOS on this host (VM or /sys/firmware/dmi not readable)")
    return None


def _populated(facts: Facts) -> list[dict[str, Any]]:
    return [d for d in fact(facts, "memory.dimms") or [] if d.get("populated")]


def _unplaced(dimms: list[dict[str, Any]], need_channel: bool = True) -> str | None:
    """The populated slots without a socket (or channel), as UNKNOWN evidence."""
    missing = [str(d.get("locator")) for d in dimms
               if d.get("socket") is None or (need_channel and d.get("channel") is None)]
    if not missing:
        return None
    what = "socket/channel" if need_channel else "socket"
    return f"no {what} for slot(s) {', '.join(missing)}: their names match no rule of xeonfleet/parsers/dimm_slots.yaml"


def _judgeable(facts: Facts, need_channel: bool) -> tuple[list[dict[str, Any]], str | None]:
    """The populated DIMMs, or why a rule cannot judge them (its UNKNOWN evidence): no SMBIOS, no
    populated DIMM, or slots no rule could place on a socket (and channel)."""
    if reason := no_dmi(facts):
        return [], reason
    dimms = _populated(facts)
    if not dimms:
        return [], "no populated DIMMs reported"
    return dimms, _unplaced(dimms, need_channel)


def _by_channel(dimms: list[dict[str, Any]]) -> dict[Channel, list[dict[str, Any]]]:
    channels: dict[Channel, list[dict[str, Any]]] = defaultdict(list)
    for dimm in dimms:
        channels[(dimm["socket"], dimm["channel"])].append(dimm)
    return dict(channels)


def _names(dimms: list[dict[str, Any]]) -> str:
    return ", ".join(str(d.get("locator")) for d in dimms)


def _first_slots(slots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The slot of a channel to fill first (slot 0 when the board's guide says which); else all of them."""
    first = [s for s in slots if s.get("slot_in_channel") == 0]
    return first or slots


def check_channels(facts: Facts, wanted: Any) -> Verdict:
    """Every channel of every socket holds a DIMM; a FAIL names the first slot of each empty channel."""
    expected = "every channel populated"
    if reason := no_dmi(facts):
        return UNKNOWN, reason, expected
    per_socket = fact(facts, "memory.channels_per_socket")
    if not per_socket:
        why = fact(facts, "cpu.segment_note") or f"CPU {fact(facts, 'cpu.microarch') or '?'} not in the table"
        return UNKNOWN, f"channels per socket unknown: {why}", expected
    if problem := fact(facts, "memory.channel_problem"):
        return UNKNOWN, problem, expected
    populated = fact(facts, "memory.populated_channels") or {}
    if not populated:
        return UNKNOWN, "DIMM locators do not name sockets/channels", expected
    if any(count is None or count > per_socket for count in populated.values()):
        return UNKNOWN, f"channel counts {populated} do not fit a {per_socket}-channel CPU", expected
    slots = [d for d in fact(facts, "memory.dimms") or [] if d.get("socket") is not None and d.get("channel")]
    empty = []
    for (socket, _), channel_slots in sorted(_by_channel(slots).items()):
        if str(socket) in populated and not any(d.get("populated") for d in channel_slots):
            empty += _first_slots(channel_slots)
    short = {s: n for s, n in sorted(populated.items()) if n < per_socket}
    evidence = ", ".join(f"socket {s}: {n}/{per_socket}" for s, n in sorted(populated.items()))
    if short:
        evidence += f"; fill {_names(empty)}" if empty else "; the board lists no empty slot for the missing channels"
    return (FAIL if short else PASS), evidence, f"{per_socket}/{per_socket} channels per socket"


def check_dimms_per_channel(facts: Facts, wanted: Any) -> Verdict:
    """Every populated channel, on every socket, holds the same number of DIMMs (1DPC or 2DPC, not both)."""
    expected = "the same DIMMs per channel on every channel"
    dimms, reason = _judgeable(facts, need_channel=True)
    if reason:
        return UNKNOWN, reason, expected
    channels = _by_channel(dimms)
    counts = Counter(len(slots) for slots in channels.values())
    if len(counts) == 1:
        (dpc, n), = counts.items()
        return PASS, f"{dpc} DIMM(s) per channel on all {n} populated channels", expected
    usual = counts.most_common(1)[0][0]
    odd = [f"socket {s} channel {c} {len(slots)}DPC ({_names(slots)})"
           for (s, c), slots in sorted(channels.items()) if len(slots) != usual]
    mix = ", ".join(f"{n} channels at {dpc}DPC" for dpc, n in sorted(counts.items()))
    return FAIL, f"{mix}; unlike the rest: {'; '.join(odd)}", expected


def _kind(dimm: dict[str, Any]) -> str:
    rank = f" {dimm['rank']}R" if dimm.get("rank") else ""
    return f"{(dimm.get('size_bytes') or 0) >> 30} GB{rank} {dimm.get('type')} {dimm.get('part_number')}"


def check_matched(facts: Facts, wanted: Any) -> Verdict:
    """Within each socket every DIMM has the same part number, size, rank and type."""
    expected = "identical DIMMs within each socket"
    dimms, reason = _judgeable(facts, need_channel=False)
    if reason:
        return UNKNOWN, reason, expected
    odd = []
    for socket in sorted({d["socket"] for d in dimms}):
        mine = [d for d in dimms if d["socket"] == socket]
        kinds = Counter(_kind(d) for d in mine)
        usual = kinds.most_common(1)[0][0]
        odd += [f"socket {socket}: {d.get('locator')} holds {_kind(d)} (the others {usual})"
                for d in mine if _kind(d) != usual]
    if odd:
        return FAIL, "; ".join(odd), expected
    return PASS, "; ".join(sorted({_kind(d) for d in dimms})), expected


# JEDEC DDR5 RDIMMs top out at 6400 MT/s on every platform of xeonfleet/parsers/xeon_table.py; MRDIMMs
# (MCR DIMMs on Xeon 6) are rated 8000-8800. SMBIOS type 17 has no MRDIMM type, so the rating tells.
MRDIMM_MIN_MTS = 7200


def _is_mrdimm(dimm: dict[str, Any]) -> bool:
    return dimm.get("type") == "DDR5" and (dimm.get("speed_mts") or 0) >= MRDIMM_MIN_MTS


@dataclass(frozen=True)
class SpeedLimit:
    """The fastest a population may run: `mts` None when no source publishes it; `from_board` when the board
    vendor's table (dimm_slots.yaml) says it, which also holds DIMMs rated below it to account."""

    dpc: int | None
    mts: int | None
    from_board: bool
    text: str  # the limit and its source, or why there is none, for the evidence


def _speed_limit(facts: Facts, dimms: list[dict[str, Any]]) -> SpeedLimit:
    """The board's published speed where dimm_slots.yaml has the board, else the CPU segment's (2DPC and
    MRDIMM speeds included), else none with the reason."""
    if _unplaced(dimms):
        return SpeedLimit(None, None, False, "DIMMs per channel unknown (unplaced slots)")
    dpc = max(len(slots) for slots in _by_channel(dimms).values())
    ranks = {d.get("rank") for d in dimms}
    if None not in ranks:
        board = max_speed_mts(fact(facts, "system.manufacturer"), fact(facts, "system.product"),
                              fact(facts, "cpu.microarch"), ranks, dpc)
        if board:
            return SpeedLimit(dpc, board[0], True, f"board maximum {board[0]} MT/s at {dpc}DPC ({board[1]})")
    mts, note = max_dimm_mts(fact(facts, "cpu.microarch"), fact(facts, "cpu.model_name"), dpc,
                             any(_is_mrdimm(d) for d in dimms))
    if mts:
        return SpeedLimit(dpc, mts, False, f"platform maximum {mts} MT/s: {note}")
    return SpeedLimit(dpc, None, False,
                      f"the board's maximum for this population is not in xeonfleet/parsers/dimm_slots.yaml; {note}")


def check_rated_speed(facts: Facts, wanted: Any) -> Verdict:
    """DIMMs run as fast as both their rating and the platform allow for this population: 2DPC and
    MRDIMM speeds are the platform's, so a 6400 DIMM at 5200 on a 2DPC Xeon 6 board passes."""
    expected = "configured speed = the lower of the DIMM's rating and the platform's maximum"
    if reason := no_dmi(facts):
        return UNKNOWN, reason, expected
    dimms = _populated(facts)
    known = [d for d in dimms if d.get("speed_mts") and d.get("configured_speed_mts")]
    if not known:
        return UNKNOWN, "DIMM speeds not reported", expected
    limit = _speed_limit(facts, dimms)
    slow = [d for d in known if d["configured_speed_mts"] < min(d["speed_mts"], limit.mts or d["speed_mts"])]
    problems = [f"{d.get('locator')} {d['configured_speed_mts']}/{d['speed_mts']} MT/s" for d in slow]
    if limit.from_board:
        problems += [f"{d.get('locator')} is rated {d['speed_mts']} MT/s, below the board's {limit.mts} at "
                     f"{limit.dpc}DPC" for d in known if d["speed_mts"] < limit.mts]
    if problems and limit.mts is None:  # below their rating, but maybe at the SKU's own limit: cannot tell
        return UNKNOWN, "; ".join(problems) + f": below their rating, but {limit.text}", expected
    if problems:
        return FAIL, "; ".join(problems) + f"; {limit.text}", expected
    return PASS, f"{known[0]['configured_speed_mts']} MT/s on {len(known)} DIMMs; {limit.text}", expected


def _fill_to_match(small: list[dict[str, Any]], large: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Empty slots of the smaller socket whose counterpart (same channel and slot) is filled on the larger."""
    filled = {(d.get("channel"), d.get("slot_in_channel")) for d in large if d.get("populated")}
    return [d for d in small if not d.get("populated") and (d.get("channel"), d.get("slot_in_channel")) in filled]


def check_socket_balance(facts: Facts, wanted: Any) -> Verdict:
    """Every socket holds the same amount of memory (else one socket's threads read remote memory)."""
    expected = "the same memory on every socket"
    dimms, reason = _judgeable(facts, need_channel=False)
    if reason:
        return UNKNOWN, reason, expected
    slots = [d for d in fact(facts, "memory.dimms") or [] if d.get("socket") is not None]
    totals = {s: sum(d.get("size_bytes") or 0 for d in dimms if d["socket"] == s)
              for s in sorted({d["socket"] for d in slots})}
    evidence = ", ".join(f"socket {s}: {total >> 30} GB" for s, total in totals.items())
    largest = max(totals, key=lambda s: totals[s])
    short = [s for s, total in totals.items() if total < totals[largest]]
    if not short:
        return PASS, evidence, expected
    fixes = []
    for socket in short:
        fill = _fill_to_match([d for d in slots if d["socket"] == socket], [d for d in slots if d["socket"] == largest])
        fixes.append(f"socket {socket}: fill {_names(fill)} to match socket {largest}" if fill
                     else f"socket {socket}: swap in larger DIMMs to match socket {largest}")
    return FAIL, f"{evidence}; {'; '.join(fixes)}", expected
