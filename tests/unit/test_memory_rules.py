"""The memory population checks on hand-written memory facts (docs/facts.md): verdicts and the slots they name."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from xeonfleet.knobs.status import FAIL, PASS, UNKNOWN
from xeonfleet.audit.memory import (check_channels, check_dimms_per_channel, check_matched, check_rated_speed,
                                    check_socket_balance)
from xeonfleet.parsers.memory import channel_problem, populated_channels, unplaced_slots

GB = 1 << 30


def slot(locator: str, socket: int | None, channel: str | None, index: int | None = 0, gb: int = 32,
         part: str = "HMA84GR7CJR4N-WM", rank: int | None = 2, mts: int = 2933, configured: int = 2933) -> dict[str, Any]:
    """One memory.dimms item; gb 0 = an empty slot."""
    on = gb > 0
    return {"locator": locator, "bank": None, "socket": socket, "channel": channel, "slot_in_channel": index,
            "size_bytes": gb * GB if on else None, "type": "DDR4" if on else None, "speed_mts": mts if on else None,
            "configured_speed_mts": configured if on else None, "manufacturer": "Hynix" if on else None,
            "part_number": part if on else None, "rank": rank if on else None, "populated": on}


def dell_r740(empty: tuple[str, ...] = (), **kwargs: Any) -> list[dict[str, Any]]:
    """A PowerEdge R740: channel c = A(c+1) (white, first) and A(c+7); processor 2 the same with B."""
    return [slot(f"{letter}{n}", s, str((n - 1) % 6), (n - 1) // 6, gb=0 if f"{letter}{n}" in empty or n > 6 else 32,
                 **kwargs)
            for s, letter in enumerate("AB") for n in range(1, 13)]


def facts(dimms: list[dict[str, Any]], channels: int = 6, microarch: str = "cascadelake",
          product: str = "PowerEdge R740") -> dict[str, Any]:
    """NodeFacts with the memory block parse_memory would build from these slots."""
    problem = channel_problem(dimms, channels, "dell-poweredge-14g")
    return {"cpu": {"microarch": microarch}, "bios": {"vendor": "Dell Inc."},
            "system": {"manufacturer": "Dell Inc.", "product": product},
            "memory": {"dimms": dimms, "channels_per_socket": channels, "channel_problem": problem,
                       "populated_channels": {} if problem else populated_channels(dimms),
                       "unplaced_slots": unplaced_slots(dimms)}}


CHECKS = (check_channels, check_dimms_per_channel, check_matched, check_rated_speed, check_socket_balance)


def test_fully_populated_1dpc_box_passes_every_check() -> None:
    node = facts(dell_r740())
    assert {check.__name__: check(node, True)[0] for check in CHECKS} == dict.fromkeys(
        (c.__name__ for c in CHECKS), PASS)


def test_empty_channels_are_named_by_their_first_slot() -> None:
    status, evidence, expected = check_channels(facts(dell_r740(empty=("A5", "A6"))), True)
    assert status == FAIL and expected == "6/6 channels per socket"
    assert evidence == "socket 0: 4/6, socket 1: 6/6; fill A5, A6"  # not A11, A12: the black second slots


def test_channel_slot_order_unknown_names_every_slot_of_the_channel() -> None:
    dimms = [slot(f"PROC 1 DIMM {n}", 0, str((n + 1) // 2), None, gb=0 if n > 10 else 32) for n in range(1, 13)]
    status, evidence, _ = check_channels(facts(dimms), True)
    assert (status, evidence) == (FAIL, "socket 0: 5/6; fill PROC 1 DIMM 11, PROC 1 DIMM 12")


def test_unplaced_slot_is_unknown_and_named() -> None:
    dimms = dell_r740()
    dimms[3] = slot("A4", 0, None)  # a slot no rule could give a channel
    node = facts(dimms)
    for check in (check_channels, check_dimms_per_channel):
        status, evidence, _ = check(node, True)
        assert status == UNKNOWN and "A4" in evidence, check.__name__
    assert check_matched(node, True)[0] == PASS  # matching needs the socket only


def test_a_count_above_the_cpus_channels_is_unknown_even_if_the_facts_say_so() -> None:
    node = facts(dell_r740())
    node["memory"]["populated_channels"] = {"0": 12, "1": 12}  # e.g. facts from an old snapshot
    assert check_channels(node, True)[0] == UNKNOWN


def test_mixed_1dpc_and_2dpc_names_the_odd_channels() -> None:
    dimms = dell_r740()
    dimms[6] = slot("A7", 0, "0", 1)  # the black slot of channel 0 filled: 2DPC there only
    status, evidence, _ = check_dimms_per_channel(facts(dimms), True)
    assert status == FAIL
    assert evidence == "11 channels at 1DPC, 1 channels at 2DPC; unlike the rest: socket 0 channel 0 2DPC (A1, A7)"


def test_one_odd_dimm_in_a_socket_is_named() -> None:
    dimms = dell_r740()
    dimms[2] = slot("A3", 0, "2", 0, gb=16, part="HMA82GR7CJR8N-WM", rank=1)
    status, evidence, _ = check_matched(facts(dimms), True)
    assert status == FAIL
    assert evidence == ("socket 0: A3 holds 16 GB 1R DDR4 HMA82GR7CJR8N-WM "
                        "(the others 32 GB 2R DDR4 HMA84GR7CJR4N-WM)")


@pytest.mark.parametrize(
    ("dimms_per_channel", "configured", "status", "evidence_part"),
    [
        (1, 2933, PASS, "board maximum 2933 MT/s at 1DPC"),
        (1, 2666, FAIL, "A1 2666/2933 MT/s"),
        (2, 2666, PASS, "board maximum 2666 MT/s at 2DPC"),  # 2DPC lowers it: the board's speed, no FAIL
        (2, 2400, FAIL, "A1 2400/2933 MT/s"),
    ],
)
def test_speed_against_rating_and_the_boards_published_maximum(dimms_per_channel: int, configured: int,
                                                                status: str, evidence_part: str) -> None:
    dimms = [slot(f"A{n}", 0, str((n - 1) % 6), (n - 1) // 6, configured=configured,
                  gb=32 if n <= 6 * dimms_per_channel else 0) for n in range(1, 13)]
    result = check_rated_speed(facts(dimms, product="PowerEdge C4140"), True)
    assert result[0] == status and evidence_part in result[1], result


def test_dimms_rated_below_the_board_maximum_fail() -> None:
    dimms = [slot(f"A{n}", 0, str(n - 1), 0, mts=2666, configured=2666) for n in range(1, 7)]
    status, evidence, _ = check_rated_speed(facts(dimms, product="PowerEdge C4140"), True)
    assert status == FAIL and "A1 is rated 2666 MT/s, below the board's 2933 at 1DPC" in evidence


def test_board_without_published_speed_checks_the_rating_only() -> None:
    status, evidence, _ = check_rated_speed(facts(dell_r740()), True)
    assert status == PASS and "not in xeonfleet/parsers/dimm_slots.yaml" in evidence


def test_uneven_sockets_name_the_slots_to_fill() -> None:
    status, evidence, _ = check_socket_balance(facts(dell_r740(empty=("A5", "A6"))), True)
    assert status == FAIL
    assert evidence == "socket 0: 128 GB, socket 1: 192 GB; socket 0: fill A5, A6 to match socket 1"


def test_uneven_sockets_with_the_same_slots_filled_say_swap() -> None:
    dimms = [copy.copy(d) for d in dell_r740()]
    for d in dimms[12:18]:
        d["size_bytes"] = 64 * GB
    status, evidence, _ = check_socket_balance(facts(dimms), True)
    assert (status, evidence) == (FAIL, "socket 0: 192 GB, socket 1: 384 GB; socket 0: swap in larger DIMMs "
                                        "to match socket 1")


def test_no_smbios_is_unknown_for_every_check() -> None:
    node = {"cpu": {}, "bios": {"vendor": None}, "memory": {"dimms": [], "channels_per_socket": 8}}
    assert {check(node, True)[0] for check in CHECKS} == {UNKNOWN}
    assert all("no SMBIOS" in check(node, True)[1] for check in CHECKS)
