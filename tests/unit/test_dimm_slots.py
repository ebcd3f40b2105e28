"""Every row of xeonfleet/parsers/dimm_slots.yaml on SMBIOS tables named the way its vendor's guide names slots.

Each case writes the board's slots with the lab's SMBIOS writer (xeonfleet/lab/smbios.py), decodes the
table with the node parser and compares socket / channel / slot-in-channel of every slot with what the
vendor's population guide says, transcribed here in the guide's own shape ("channel 0: A1 and A7").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from xeonfleet.lab.hardware import load_hardware
from xeonfleet.lab.smbios import build_smbios
from xeonfleet.parsers.dimm_slots import SlotTableError, max_speed_mts, parse_rules, rules
from xeonfleet.parsers.memory import parse_memory
from xeonfleet.parsers.smbios import decode_smbios

Slot = tuple[str, int | None, str | None, int | None]  # locator, socket, channel, slot in channel


@dataclass
class Board:
    """A board as its guide describes it: per socket, channel -> the slots on it, first-filled first."""

    manufacturer: str
    product: str
    channels: list[dict[str, list[str]]]
    fill_order: bool = True  # False: the guide does not say which slot of a channel is filled first
    bank: dict[str, str] = field(default_factory=dict)  # locator -> Bank Locator
    known_channels: bool = True  # False: the table only knows the socket (no public channel table)

    def slots(self) -> list[Slot]:
        """Every slot with its expected place, in the order the writer puts them into SMBIOS."""
        out = []
        for socket, table in enumerate(self.channels):
            for channel, locators in table.items():
                for index, locator in enumerate(locators):
                    out.append((locator, socket, channel if self.known_channels else None,
                                index if self.fill_order and self.known_channels else None))
        return out


def decoded(tmp_path: Path, board: Board, empty: list[str] = (), channels_per_socket: int | None = None) -> dict:
    """The memory.* facts of the SMBIOS table the lab's writer builds for this board."""
    slots = [{"socket": s, "channel": c or "?", "slot": 1, "locator": loc, "bank": board.bank.get(loc, "")}
             for loc, s, c, _ in board.slots()]
    profile = {
        "include": "icx-8380-2s", "sockets": len(board.channels),
        "system": {"manufacturer": board.manufacturer, "product": board.product},
        "memory": {"channels_per_socket": 0, "slots_per_channel": 1, "slots": slots, "empty": list(empty)},
    }
    path = tmp_path / "board.yaml"
    path.write_text(yaml.safe_dump(profile))
    errors: list[str] = []
    table = decode_smbios(build_smbios(load_hardware(path), "board")[1], errors)
    assert errors == []
    return parse_memory(["MemTotal: 1 kB"], table, channels_per_socket, errors)


def places(memory: dict) -> list[Slot]:
    return [(d["locator"], d["socket"], d["channel"], d["slot_in_channel"]) for d in memory["dimms"]]


def per_processor(letters: str, table: dict[str, list[int]]) -> list[dict[str, list[str]]]:
    """A Dell-style table (channel -> slot numbers) for processors named A, B, ..."""
    return [{ch: [f"{letter}{n}" for n in numbers] for ch, numbers in table.items()} for letter in letters]


# Dell R740/R740xd manual, Table 1: channel 0 = A1 and A7 ... channel 5 = A6 and A12; B the same.
DELL_14G = {"0": [1, 7], "1": [2, 8], "2": [3, 9], "3": [4, 10], "4": [5, 11], "5": [6, 12]}
# Dell XC750xa (R750xa) manual, Table 18: channel A = B1 and B9, B = B5 and B13, ...
DELL_15G = {"A": [1, 9], "B": [5, 13], "C": [3, 11], "D": [7, 15], "E": [2, 10], "F": [6, 14], "G": [4, 12],
            "H": [8, 16]}
HPE_GEN10_P1 = {"6": [1, 2], "5": [3, 4], "4": [5, 6], "1": [7, 8], "2": [9, 10], "3": [11, 12]}
HPE_GEN10_P2 = {"3": [1, 2], "2": [3, 4], "1": [5, 6], "4": [7, 8], "5": [9, 10], "6": [11, 12]}
HPE_GEN10_PLUS = {"6": [1, 2], "5": [3, 4], "8": [5, 6], "7": [7, 8], "3": [9, 10], "4": [11, 12], "1": [13, 14],
                  "2": [15, 16]}


def hpe(table: dict[str, list[int]], processor: int) -> dict[str, list[str]]:
    return {ch: [f"PROC {processor} DIMM {n}" for n in numbers] for ch, numbers in table.items()}


def lenovo(tables: list[dict[str, list[int]]]) -> tuple[list[dict[str, list[str]]], dict[str, str]]:
    """Lenovo tables (channel -> DIMM numbers, numbered across processors) and the "CPU n" banks."""
    channels = [{ch: [f"DIMM {n}" for n in numbers] for ch, numbers in t.items()} for t in tables]
    banks = {loc: f"CPU {s + 1}" for s, t in enumerate(channels) for locs in t.values() for loc in locs}
    return channels, banks


# SR860 V2 Table 25: DIMM 1-2 channel 2, 3-4 channel 1, 5-6 channel 0, 7-8 channel 0, 9-10 channel 1,
# 11-12 channel 2, slots 0 1 0 1 0 1 1 0 1 0 1 0; processor 2 = 13-24.
SR860 = [{"iMC0 CH2": [b + 1, b + 2], "iMC0 CH1": [b + 3, b + 4], "iMC0 CH0": [b + 5, b + 6],
          "iMC1 CH0": [b + 8, b + 7], "iMC1 CH1": [b + 10, b + 9], "iMC1 CH2": [b + 12, b + 11]} for b in (0, 12)]
# ST650 V2 Table 18: channels F E H G C D A B over DIMM 2 1 4 3 6 5 8 7 9 10 11 12 13 14 15 16 (slots 1 0 ...).
ST650_V2 = [{"F": [1, 2], "E": [3, 4], "H": [5, 6], "G": [7, 8], "C": [10, 9], "D": [12, 11], "A": [14, 13],
             "B": [16, 15]},
            {"F": [32, 31], "E": [30, 29], "H": [28, 27], "G": [26, 25], "C": [23, 24], "D": [21, 22], "A": [19, 20],
             "B": [17, 18]}]
# SR630 V3 / SR650 V3: iMC3 CH1 CH0, iMC2 CH1 CH0, iMC0 CH0 CH1, iMC1 CH0 CH1 over DIMM 16 .. 1.
SR650_V3 = [{"iMC3 CH1": [b + 16, b + 15], "iMC3 CH0": [b + 14, b + 13], "iMC2 CH1": [b + 12, b + 11],
             "iMC2 CH0": [b + 10, b + 9], "iMC0 CH0": [b + 7, b + 8], "iMC0 CH1": [b + 5, b + 6],
             "iMC1 CH0": [b + 3, b + 4], "iMC1 CH1": [b + 1, b + 2]} for b in (0, 16)]
# SR680a V3: the same controllers over DIMM 1 .. 16 (slots 0 1 0 1 0 1 0 1 1 0 1 0 1 0 1 0).
SR680A_V3 = [{"iMC3 CH1": [b + 1, b + 2], "iMC3 CH0": [b + 3, b + 4], "iMC2 CH1": [b + 5, b + 6],
              "iMC2 CH0": [b + 7, b + 8], "iMC0 CH0": [b + 10, b + 9], "iMC0 CH1": [b + 12, b + 11],
              "iMC1 CH0": [b + 14, b + 13], "iMC1 CH1": [b + 16, b + 15]} for b in (0, 16)]


def supermicro_x11dpi() -> Board:
    """rasdaemon X11DPi-N: P1-DIMMA1..F1 one per channel, A2 and D2 the second slot of A and D."""
    channels = [{c: [f"P{p}-DIMM{c}1"] + ([f"P{p}-DIMM{c}2"] if c in "AD" else []) for c in "ABCDEF"} for p in (1, 2)]
    banks = {loc: f"P{s}_Node{s}_Channel{'ABCDEF'.index(loc[-2])}_Dimm{int(loc[-1]) - 1}"
             for s, t in enumerate(channels) for locs in t.values() for loc in locs}
    return Board("Supermicro", "SYS-6029P-WTRT", channels, bank=banks)


def lenovo_board(product: str, tables: list[dict[str, list[int]]], fill_order: bool = True) -> Board:
    channels, banks = lenovo(tables)
    return Board("Lenovo", product, channels, fill_order=fill_order, bank=banks)


CASES: dict[str, Board] = {
    "dell-poweredge-14g": Board("Dell Inc.", "PowerEdge R740", per_processor("AB", DELL_14G)),
    "dell-poweredge-r540": Board("Dell Inc.", "PowerEdge R540", [
        {"0": ["A1", "A7"], "1": ["A2", "A8"], "2": ["A3"], "3": ["A4", "A9"], "4": ["A5", "A10"], "5": ["A6"]},
        {"0": ["B1"], "1": ["B2"], "2": ["B3"], "3": ["B4"], "4": ["B5"], "5": ["B6"]}]),
    "dell-poweredge-15g-r750xa": Board("Dell Inc.", "PowerEdge R750xa", per_processor("AB", DELL_15G)),
    # XR5610 Table 96: channel A = A1, B = A7, C = A3, D = A5, E = A4, F = A6, G = A2, H = A8.
    "dell-poweredge-16g-xr5610": Board("Dell Inc.", "PowerEdge XR5610", [
        {"A": ["A1"], "B": ["A7"], "C": ["A3"], "D": ["A5"], "E": ["A4"], "F": ["A6"], "G": ["A2"], "H": ["A8"]}]),
    # R6615 Table 86: A = A1, B = A5, C = A3, D = A9, E = A7, F = A11, G = A2, H = A6, I = A4, J = A10, ...
    "dell-poweredge-16g-r6615": Board("Dell Inc.", "PowerEdge R6615", [
        {"A": ["A1"], "B": ["A5"], "C": ["A3"], "D": ["A9"], "E": ["A7"], "F": ["A11"], "G": ["A2"], "H": ["A6"],
         "I": ["A4"], "J": ["A10"], "K": ["A8"], "L": ["A12"]}]),
    "dell-poweredge-socket-only": Board("Dell Inc.", "PowerEdge R760",
                                        [{"?": [f"{p}{n}" for n in range(1, 17)]} for p in "AB"],
                                        known_channels=False),
    "hpe-gen10": Board("HPE", "ProLiant DL380 Gen10", [hpe(HPE_GEN10_P1, 1), hpe(HPE_GEN10_P2, 2)], fill_order=False),
    "hpe-gen10-plus": Board("HPE", "ProLiant DL360 Gen10 Plus", [hpe(HPE_GEN10_PLUS, 1), hpe(HPE_GEN10_PLUS, 2)],
                            fill_order=False),
    "hpe-socket-only": Board("HPE", "ProLiant DL380 Gen11",
                             [{"?": [f"PROC {p} DIMM {n}" for n in range(1, 17)]} for p in (1, 2)],
                             known_channels=False),
    "lenovo-thinksystem-v1-sr860": lenovo_board("ThinkSystem SR860 -[7X69CTO1WW]-", SR860),
    # SN550 Table 2: controller 0 channels 2 1 0, controller 1 channels 0 1 2 over DIMM 1-12 / 24-13.
    "lenovo-thinksystem-v1-sn550": lenovo_board("ThinkSystem SN550 -[7X16CTO1WW]-", [
        {"iMC0 CH2": [1, 2], "iMC0 CH1": [3, 4], "iMC0 CH0": [5, 6], "iMC1 CH0": [7, 8], "iMC1 CH1": [9, 10],
         "iMC1 CH2": [11, 12]},
        {"iMC0 CH2": [24, 23], "iMC0 CH1": [22, 21], "iMC0 CH0": [20, 19], "iMC1 CH0": [18, 17], "iMC1 CH1": [16, 15],
         "iMC1 CH2": [14, 13]}], fill_order=False),
    "lenovo-thinksystem-v2-st650": lenovo_board("ThinkSystem ST650 V2 -[7Z74CTO1WW]-", ST650_V2),
    # SD630 V2 Table 1: controller 0 channel 0/1 = DIMM 2/1, 1 = 4/3, 2 = 7/8, 3 = 5/6; processor 2 15/16 ...
    "lenovo-thinksystem-v2-sd630": lenovo_board("ThinkSystem SD630 V2 -[7D1KCTO1WW]-", [
        {"iMC0 CH0": [2], "iMC0 CH1": [1], "iMC1 CH0": [4], "iMC1 CH1": [3], "iMC2 CH0": [7], "iMC2 CH1": [8],
         "iMC3 CH0": [5], "iMC3 CH1": [6]},
        {"iMC0 CH0": [15], "iMC0 CH1": [16], "iMC1 CH0": [13], "iMC1 CH1": [14], "iMC2 CH0": [10], "iMC2 CH1": [9],
         "iMC3 CH0": [12], "iMC3 CH1": [11]}]),
    "lenovo-thinksystem-v3-sr650": lenovo_board("ThinkSystem SR650 V3 -[7D75CTO1WW]-", SR650_V3),
    "lenovo-thinksystem-v3-sr680a": lenovo_board("ThinkSystem SR680a V3 -[7DHECTO1WW]-", SR680A_V3),
    "supermicro": supermicro_x11dpi(),
    # rasdaemon MZ62-HD0: DIMM_P0_A0..H1 on processor 0, DIMM_P1_I0..P1 on processor 1.
    "gigabyte": Board("GIGABYTE", "R282-Z91-00", [{c: [f"DIMM_P{p}_{c}0", f"DIMM_P{p}_{c}1"] for c in letters}
                                                 for p, letters in ((0, "ABCDEFGH"), (1, "IJKLMNOP"))]),
    "quanta": Board("Quanta Cloud Technology Inc.", "QuantaPlex T22HF-1U",
                    [{c: [f"CPU{p}_{c}1"] for c in "ABCDEFGH"} for p in (0, 1)], fill_order=False),
    "intel-server-board": Board("Intel Corporation", "M50CYP2SBSTD",
                                [{c: [f"CPU{p}_DIMM_{c}1", f"CPU{p}_DIMM_{c}2"] for c in "ABCDEFGH"} for p in (1, 2)]),
    "asus": Board("ASUSTeK COMPUTER INC.", "Z9PH-D16 Series",
                  [{c: [f"CPU{p}_DIMM_{c}1", f"CPU{p}_DIMM_{c}2"] for c in letters}
                   for p, letters in ((1, "ABCD"), (2, "EFGH"))]),
    "generic-cpu-dimm-letter": Board("To Be Filled By O.E.M.", "To Be Filled By O.E.M.",
                                     [{c: [f"CPU{p}_DIMM_{c}1"] for c in "ABCDEF"} for p in (0, 1)]),
}


def cisco() -> Board:
    """Cisco UCS (netbox-agent #103): DIMM_H2 = NODE 1 CHANNEL 1 DIMM 1, DIMM_J1 = NODE 1 CHANNEL 2 DIMM 0."""
    letters = ["ABCDEF", "GHJKLM"]
    channels = [{str(c): [f"DIMM_{letters[s][c]}1", f"DIMM_{letters[s][c]}2"] for c in range(6)} for s in (0, 1)]
    banks = {loc: f"NODE {s} CHANNEL {c} DIMM {int(loc[-1]) - 1}"
             for s, t in enumerate(channels) for c, locs in ((int(k), v) for k, v in t.items()) for loc in locs}
    return Board("Cisco Systems Inc", "UCSC-C240-M5SX", channels, bank=banks)


def aptio() -> Board:
    """Supermicro H12 (rasdaemon #64): DIMMG2 = P0_Node0_Channel6_Dimm1, single socket."""
    channels = [{str(c): [f"DIMM{letter}1", f"DIMM{letter}2"] for c, letter in enumerate("ABCDEFGH")}]
    banks = {loc: f"P0_Node0_Channel{'ABCDEFGH'.index(loc[4])}_Dimm{int(loc[-1]) - 1}"
             for locs in channels[0].values() for loc in locs}
    return Board("To Be Filled By O.E.M.", "H12SSL-i", channels, bank=banks)


def agesa() -> list[Slot]:
    return [(f"DIMM {d}", 0, c, d) for c in "AB" for d in (0, 1)]


CASES["generic-node-channel-dimm"] = cisco()
CASES["generic-aptio-bank"] = aptio()


def test_every_row_has_a_source_and_a_case() -> None:
    """A row added to dimm_slots.yaml without a test here fails: every vendor row is exercised."""
    ids = [rule.id for rule in rules()]
    assert all(rule.source and rule.vendor for rule in rules())
    assert set(ids) == set(CASES) | {"generic-amd-agesa"}  # AMD AGESA: test_amd_agesa_bank_and_locator


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_full_population_places_every_slot_as_the_guide_says(tmp_path: Path, rule_id: str) -> None:
    board = CASES[rule_id]
    memory = decoded(tmp_path, board)
    assert memory["slot_rule"] == rule_id
    assert places(memory) == board.slots()
    if board.known_channels:
        counts = {str(s): len(t) for s, t in enumerate(board.channels)}
        assert memory["populated_channels"] == counts and memory["unplaced_slots"] == []
    else:  # socket only: the channels stay unknown and say which slots
        assert memory["populated_channels"] == {} and len(memory["unplaced_slots"]) == len(board.slots())
        assert memory["channel_problem"].startswith(f"no socket/channel for populated slot(s) {board.slots()[0][0]}, ")


@pytest.mark.parametrize("rule_id", sorted(rule for rule, board in CASES.items() if board.known_channels))
def test_partial_population_counts_the_channels_left(tmp_path: Path, rule_id: str) -> None:
    """Empty every slot of socket 0's last two channels: two channels fewer there, socket 1 unchanged."""
    board = CASES[rule_id]
    last_two = list(board.channels[0].values())[-2:]
    memory = decoded(tmp_path, board, empty=[loc for locs in last_two for loc in locs])
    expected = {str(s): len(t) - (2 if s == 0 else 0) for s, t in enumerate(board.channels)}
    assert memory["populated_channels"] == expected
    assert places(memory) == board.slots()  # an empty slot is still placed


def test_amd_agesa_bank_and_locator(tmp_path: Path) -> None:
    """AMD boards: Bank "P0 CHANNEL A" names socket and channel, Locator "DIMM 0" the slot."""
    slots = [{"socket": 0, "channel": c, "slot": d + 1, "locator": f"DIMM {d}", "bank": f"P0 CHANNEL {c}"}
             for c in "AB" for d in (0, 1)]
    path = tmp_path / "amd.yaml"
    path.write_text(yaml.safe_dump({"include": "icx-8380-2s", "sockets": 1,
                                    "system": {"manufacturer": "Micro-Star International Co., Ltd.",
                                               "product": "MS-7D75"},
                                    "memory": {"channels_per_socket": 0, "slots_per_channel": 2, "slots": slots}}))
    table = decode_smbios(build_smbios(load_hardware(path), "amd")[1], [])
    assert table["slot_rule"] == "generic-amd-agesa"
    assert [(d["locator"], d["socket"], d["channel"], d["slot_in_channel"]) for d in table["dimms"]] == agesa()


def test_hpe_gen10_full_2dpc_is_six_channels_not_twelve(tmp_path: Path) -> None:
    """PROC 1 DIMM 1..12 on a 6-channel CPU: distinct locators are not channels."""
    memory = decoded(tmp_path, CASES["hpe-gen10"], channels_per_socket=6)
    assert memory["populated_channels"] == {"0": 6, "1": 6} and memory["channel_problem"] is None


def test_gigabyte_socket_part_is_not_read_as_a_channel(tmp_path: Path) -> None:
    """DIMM_P0_A0: six DIMMs on four channels of processor 0 are four channels, not one channel "P"."""
    board = CASES["gigabyte"]
    keep = {"DIMM_P0_A0", "DIMM_P0_A1", "DIMM_P0_B0", "DIMM_P0_B1", "DIMM_P0_C0", "DIMM_P0_D0"}
    empty = [loc for loc, _, _, _ in board.slots() if loc not in keep and loc.startswith("DIMM_P0")]
    memory = decoded(tmp_path, board, empty=empty, channels_per_socket=8)
    assert memory["populated_channels"] == {"0": 4, "1": 8}


def test_dell_slots_land_on_their_socket_not_unknown(tmp_path: Path) -> None:
    memory = decoded(tmp_path, CASES["dell-poweredge-14g"], empty=["A6", "A12"], channels_per_socket=6)
    assert memory["populated_channels"] == {"0": 5, "1": 6}
    assert {d["socket"] for d in memory["dimms"]} == {0, 1}


def test_more_channels_than_the_cpu_has_is_unknown_not_a_number(tmp_path: Path) -> None:
    """An 8-channel slot table on a 6-channel CPU does not fit: no count at all, and the reason."""
    memory = decoded(tmp_path, CASES["hpe-gen10-plus"], channels_per_socket=6)
    assert memory["populated_channels"] == {}
    assert memory["channel_problem"] == ("socket 0: the slot names give 8 channels but the CPU has 6 "
                                         "(slot rule hpe-gen10-plus does not fit this board)")


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_no_count_is_ever_above_the_cpus_channels(tmp_path: Path, rule_id: str) -> None:
    for channels_per_socket in (4, 6, 8, 12):
        memory = decoded(tmp_path, CASES[rule_id], channels_per_socket=channels_per_socket)
        assert all(n <= channels_per_socket for n in memory["populated_channels"].values())


def test_vendor_rules_need_their_vendor(tmp_path: Path) -> None:
    """"A7" on a board that is not a PowerEdge is no slot anyone can place: unknown, named."""
    board = Board("To Be Filled By O.E.M.", "X", per_processor("AB", DELL_14G))
    memory = decoded(tmp_path, board, channels_per_socket=6)
    assert memory["slot_rule"] is None and memory["populated_channels"] == {}
    assert memory["unplaced_slots"][:2] == ["A1", "A7"]


def test_lenovo_bank_must_agree_with_the_slot_table(tmp_path: Path) -> None:
    """DIMM 1 is processor 1's by the table: a bank saying CPU 2 leaves it without a channel."""
    channels, banks = lenovo(SR650_V3)
    banks["DIMM 1"] = "CPU 2"
    memory = decoded(tmp_path, Board("Lenovo", "ThinkSystem SR650 V3 -[7D75CTO1WW]-", channels, bank=banks))
    dimm1 = next(d for d in memory["dimms"] if d["locator"] == "DIMM 1")
    assert (dimm1["socket"], dimm1["channel"]) == (1, None) and memory["unplaced_slots"] == ["DIMM 1"]


def test_platform_speed_by_board_cpu_rank_and_dpc() -> None:
    c4140 = ("Dell Inc.", "PowerEdge C4140")
    assert max_speed_mts(*c4140, "cascadelake", {2}, 1)[0] == 2933
    assert max_speed_mts(*c4140, "cascadelake", {2}, 2)[0] == 2666
    assert max_speed_mts(*c4140, "cascadelake", {1}, 1)[0] == 2666
    assert max_speed_mts(*c4140, "cascadelake", {1, 2}, 1) is None  # mixed ranks: no single published speed
    assert max_speed_mts("Dell Inc.", "PowerEdge R740", "cascadelake", {2}, 1) is None  # not published
    assert "C4140" in max_speed_mts(*c4140, "skylake-avx512", {2}, 2)[1]
    assert max_speed_mts("Dell Inc.", "PowerEdge R860", "sapphirerapids", {8}, 2)[0] == 4400
    assert max_speed_mts("Dell Inc.", "PowerEdge XR5610", "sapphirerapids", {2}, 2) is None  # 1DPC board


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"id": "x", "vendor": "v"}, r"rule x: missing source"),
        ({"id": "x", "vendor": "v", "source": "s"}, r"rule x: has neither locator nor bank"),
        ({"id": "x", "vendor": "v", "source": "s", "locator": {"pattern": "(?P<socket>\\d)"}},
         r"rule x: locator has a socket group but socket_base is None; set socket_base"),
        ({"id": "x", "vendor": "v", "source": "s", "locator": {"pattern": "(?P<number>\\d)"}},
         r"rule x: a number group needs a channels table"),
        ({"id": "x", "vendor": "v", "source": "s", "locator": {"pattern": "(?P<number>\\d)"},
          "channels": {"0": [1, 2], "1": [2]}}, r"rule x: slot 2 is in channels 0 and 1"),
        ({"id": "x", "vendor": "v", "source": "s", "locator": {"pattern": "("}}, r"rule x: locator.pattern"),
        ("just text", r"is not a mapping"),
    ],
)
def test_bad_rows_fail_in_one_line_naming_rule_and_fix(spec, message: str) -> None:
    with pytest.raises(SlotTableError, match=message) as info:
        parse_rules([spec])
    assert "\n" not in str(info.value) and "dimm_slots.yaml" in str(info.value)
