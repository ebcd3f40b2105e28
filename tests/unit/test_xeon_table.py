"""The Intel server generation table: identity, segments, channels, FMA units and DIMM speeds per
generation, and the memory rules on the parts platform teams buy now (Xeon 6, Emerald Rapids)."""

from __future__ import annotations

from typing import Any

import pytest

from xeonfleet.knobs.status import FAIL, PASS, UNKNOWN
from xeonfleet.audit.memory import check_channels, check_rated_speed
from xeonfleet.parsers.memory import channel_problem, populated_channels, unplaced_slots
from xeonfleet.parsers.microarch import (channels_per_socket, fma_units, identify, max_dimm_mts, microarch,
                                         segment)
from xeonfleet.parsers.xeon_table import GENERATIONS

MASKED = "Intel(R) Xeon(R) Processor"
GB = 1 << 30


@pytest.mark.parametrize(("family", "model", "stepping", "name"), [
    (6, 0x55, 4, "skylake-avx512"),
    (6, 0x55, 7, "cascadelake"),
    (6, 0x55, 11, "cooperlake"),
    (6, 0x6A, 6, "icelake-server"),
    (6, 0x6C, 1, "icelake-server"),
    (6, 143, 8, "sapphirerapids"),
    (6, 207, 2, "emeraldrapids"),
    (6, 173, 1, "graniterapids"),
    (6, 174, 1, "graniterapids-d"),
    (6, 175, 3, "sierraforest"),
    (6, 221, 0, "clearwaterforest"),
    (19, 1, 0, "diamondrapids"),  # family 19: nothing may assume family 6
    (6, 1, 0, None),  # family 6 model 1 is a Pentium Pro, not Diamond Rapids
    (19, 0x55, 4, None),
])
def test_every_server_model_of_the_kernel_header_is_named(family: int, model: int, stepping: int,
                                                          name: str | None) -> None:
    assert microarch("GenuineIntel", family, model, stepping) == name


@pytest.mark.parametrize(("arch", "model_name", "channels", "fma"), [
    ("graniterapids", "Intel(R) Xeon(R) 6767P", 8, 2),
    ("graniterapids", "Intel(R) Xeon(R) 6980P", 12, 2),
    ("graniterapids", "Intel(R) Xeon(R) 6520P", 8, 2),
    ("graniterapids", MASKED, None, 2),  # which segment? unknown; every GNR has two FMA units
    ("graniterapids-d", "Intel(R) Xeon(R) 6716P-B", None, None),  # 4 or 8 by package: not published
    ("sierraforest", "Intel(R) Xeon(R) 6780E", 8, 0),
    ("sierraforest", "Intel(R) Xeon(R) 6900E", 12, 0),
    ("sierraforest", MASKED, None, 0),
    ("emeraldrapids", "INTEL(R) XEON(R) PLATINUM 8592+", 8, 2),  # EMR prints its name in capitals
    ("sapphirerapids", "Intel(R) Xeon(R) Platinum 8480+", 8, 2),
    ("sapphirerapids", "Intel(R) Xeon(R) w5-2455X", 4, 2),  # same model 143, a 4-channel workstation
    ("cascadelake", "Intel(R) Xeon(R) Platinum 9282 CPU @ 2.60GHz", 12, 2),
    ("cascadelake", "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", 6, 2),
    ("skylake-avx512", "Intel(R) Xeon(R) Gold 5120 CPU @ 2.20GHz", 6, 1),
    ("icelake-server", "Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz", 8, 2),
    ("icelake-server", "Intel(R) Xeon(R) D-2796NT CPU @ 2.00GHz", 4, None),
    ("clearwaterforest", MASKED, 12, 0),
    ("diamondrapids", MASKED, 16, None),
])
def test_channels_and_fma_units_per_segment(arch: str, model_name: str, channels: int | None,
                                            fma: int | None) -> None:
    assert channels_per_socket(arch, model_name) == channels
    assert fma_units(model_name, arch, fma != 0) == fma


def test_a_masked_segment_says_why_it_is_unknown() -> None:
    found, note = segment("graniterapids", MASKED)
    assert found is None and "6900P" in note and "6700P" in note and "mask" in note


@pytest.mark.parametrize(("arch", "model_name", "dpc", "mrdimm", "mts"), [
    ("graniterapids", "Intel(R) Xeon(R) 6767P", 1, False, 6400),
    ("graniterapids", "Intel(R) Xeon(R) 6767P", 2, False, 5200),
    ("graniterapids", "Intel(R) Xeon(R) 6767P", 1, True, 8000),
    ("graniterapids", "Intel(R) Xeon(R) 6980P", 1, True, 8800),
    ("graniterapids", "Intel(R) Xeon(R) 6980P", 2, False, None),
    ("emeraldrapids", "INTEL(R) XEON(R) PLATINUM 8592+", 2, False, 4400),
    ("emeraldrapids", "INTEL(R) XEON(R) PLATINUM 8592+", 1, False, None),  # 5200 or 5600 by SKU
    ("sapphirerapids", "Intel(R) Xeon(R) Platinum 8480+", 2, False, 4400),
    ("icelake-server", "Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz", 2, False, 3200),
    ("cascadelake", "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", 2, False, 2666),
])
def test_dimm_speed_per_population(arch: str, model_name: str, dpc: int, mrdimm: bool, mts: int | None) -> None:
    assert max_dimm_mts(arch, model_name, dpc, mrdimm)[0] == mts


def test_every_row_names_its_source_and_a_known_intel_family() -> None:
    for generation in GENERATIONS:
        assert generation.family in (6, 19)
        for row in generation.segments:
            assert row.source.strip(), row.name
            assert row.snc_modes is None or "off" in row.snc_modes


def test_a_granite_rapids_guest_with_amx_fp16_is_not_sapphire_rapids() -> None:
    spr_flags = ["avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile", "avx512_fp16"]
    assert identify("GenuineIntel", 6, 167, 0, spr_flags) == ("sapphirerapids", "flags")
    assert identify("GenuineIntel", 6, 167, 0, [*spr_flags, "amx_fp16"]) == ("graniterapids", "flags")


def _board(arch: str, model_name: str, channels: int, filled: int, dpc: int = 1, mts: int = 6400,
           configured: int = 6400, dimm_type: str = "DDR5") -> dict[str, Any]:
    """A 2-socket board with `channels` channels x 2 slots, `filled` channels populated at `dpc`."""
    dimms = []
    for socket in range(2):
        for channel in range(channels):
            for slot in range(2):
                on = channel < filled and slot < dpc
                dimms.append({"locator": f"P{socket}-DIMM{chr(65 + channel)}{slot + 1}", "bank": None,
                              "socket": socket, "channel": chr(65 + channel), "slot_in_channel": slot,
                              "size_bytes": 64 * GB if on else None, "type": dimm_type if on else None,
                              "speed_mts": mts if on else None, "configured_speed_mts": configured if on else None,
                              "manufacturer": "Micron" if on else None, "part_number": "MTC40F2046S1RC64BD2" if on
                              else None, "rank": 2 if on else None, "populated": on})
    per_socket = channels_per_socket(arch, model_name)
    problem = channel_problem(dimms, per_socket, "intel-generic")
    found, note = segment(arch, model_name)
    return {"cpu": {"microarch": arch, "model_name": model_name, "segment": found.name if found else None,
                    "segment_note": note},
            "bios": {"vendor": "American Megatrends International, LLC."},
            "system": {"manufacturer": "Supermicro", "product": "X14DBHM"},
            "memory": {"dimms": dimms, "channels_per_socket": per_socket, "channel_problem": problem,
                       "populated_channels": {} if problem else populated_channels(dimms),
                       "unplaced_slots": unplaced_slots(dimms)}}


def test_a_fully_populated_6700p_passes_channels_not_8_of_12() -> None:
    status, evidence, _ = check_channels(_board("graniterapids", "Intel(R) Xeon(R) 6767P", 8, 8), True)
    assert (status, evidence) == (PASS, "socket 0: 8/8, socket 1: 8/8")


def test_a_6900p_with_8_of_12_channels_fails_naming_the_slots() -> None:
    status, evidence, _ = check_channels(_board("graniterapids", "Intel(R) Xeon(R) 6980P", 12, 8), True)
    assert status == FAIL and evidence.startswith("socket 0: 8/12, socket 1: 8/12; fill P0-DIMMI1")


def test_a_masked_granite_rapids_is_unknown_with_the_reason_never_fail() -> None:
    status, evidence, _ = check_channels(_board("graniterapids", MASKED, 8, 8), True)
    assert status == UNKNOWN and "names none of its segments" in evidence


@pytest.mark.parametrize(("model_name", "dpc", "mts", "configured", "dimm_type", "status", "part"), [
    ("Intel(R) Xeon(R) 6767P", 2, 6400, 5200, "DDR5", PASS, "platform maximum 5200 MT/s"),  # the 2DPC drop
    ("Intel(R) Xeon(R) 6767P", 2, 6400, 4800, "DDR5", FAIL, "P0-DIMMA1 4800/6400 MT/s"),
    ("Intel(R) Xeon(R) 6767P", 1, 8800, 8000, "DDR5", PASS, "MRDIMM at 1DPC"),  # 8800 MRDIMM on an 8000 platform
    ("Intel(R) Xeon(R) 6980P", 1, 8800, 8800, "DDR5", PASS, "platform maximum 8800 MT/s"),
    ("Intel(R) Xeon(R) 6980P", 1, 8800, 6400, "DDR5", FAIL, "P0-DIMMA1 6400/8800 MT/s"),
    ("INTEL(R) XEON(R) PLATINUM 8592+", 1, 5600, 5200, "DDR5", UNKNOWN, "below their rating"),  # SKU's own limit
])
def test_speed_against_the_platform_for_this_population(model_name: str, dpc: int, mts: int, configured: int,
                                                        dimm_type: str, status: str, part: str) -> None:
    arch = "emeraldrapids" if "8592" in model_name else "graniterapids"
    channels = channels_per_socket(arch, model_name) or 8
    result = check_rated_speed(_board(arch, model_name, channels, channels, dpc, mts, configured, dimm_type), True)
    assert result[0] == status and part in result[1], result


def test_the_msr_bit_table_names_generations_the_table_knows() -> None:
    from xeonfleet.knobs.msr import MICROARCH_BITS

    known = {generation.microarch for generation in GENERATIONS}
    assert set(MICROARCH_BITS) <= known  # "skylake-server" was never a name cpu.microarch takes


def test_hyperthreading_is_na_on_e_cores_and_judged_elsewhere() -> None:
    from xeonfleet.knobs.status import NA
    from xeonfleet.audit.rules import _check_hyperthreading

    srf = {"cpu": {"microarch": "sierraforest", "segment": "Xeon 6 6700E (Sierra Forest-SP)", "smt_enabled": False}}
    assert _check_hyperthreading(srf, True)[:2] == (NA, "Xeon 6 6700E (Sierra Forest-SP): E-cores have no SMT")
    gnr = {"cpu": {"microarch": "graniterapids", "segment": None, "smt_enabled": False}}
    assert _check_hyperthreading(gnr, True)[0] == FAIL


@pytest.mark.parametrize(("snc", "mode", "wanted", "status"), [
    (True, "SNC3", ["off", "SNC2", "SNC3"], PASS),  # xeon6-ai: the 6900P's die-aligned default
    (False, "off", ["off", "SNC2", "SNC3"], PASS),
    (True, "SNC4", ["off", "SNC2", "SNC3"], FAIL),  # splits a die
    (True, None, ["off", "SNC3"], UNKNOWN),  # on, but the mode the part offers is not known
    (False, None, ["off"], PASS),
    (True, "SNC3", False, FAIL),  # the guide's Ice Lake advice, as xeon-ai-base asks
])
def test_snc_against_a_list_of_accepted_modes(snc: bool, mode: str | None, wanted: Any, status: str) -> None:
    from xeonfleet.audit.rules import _check_snc

    facts = {"numa": {"snc_enabled": snc, "snc_mode": mode, "nodes_per_socket": 3 if snc else 1}}
    assert _check_snc(facts, wanted)[0] == status
