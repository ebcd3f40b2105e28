"""The pure SMBIOS decoder on tables packed here byte by byte (DSP0134 layouts)."""

from __future__ import annotations

import struct

from xeonfleet.parsers.smbios import decode_smbios


def structure(kind: int, body: bytes, strings: list[str]) -> bytes:
    """Header + formatted area + string set (double NUL terminated)."""
    header = struct.pack("<BBH", kind, 4 + len(body), 0x100 + kind)
    text = b"".join(s.encode() + b"\0" for s in strings) + b"\0" if strings else b"\0\0"
    return header + body + text


def dimm(locator: str, bank: str, size_word: int, extended_mb: int = 0, speed: int = 3200,
         configured: int = 3200, kind: int = 0x1A, rank: int = 0) -> bytes:
    """A type 17 of SMBIOS 3.3 length (0x5C) with strings 1..4: locator, bank, maker, part."""
    body = bytearray(0x5C - 4)
    def put(offset: int, fmt: str, value: int) -> None:
        struct.pack_into(fmt, body, offset - 4, value)
    put(0x0C, "<H", size_word)
    put(0x10, "<B", 1)
    put(0x11, "<B", 2)
    put(0x12, "<B", kind)
    put(0x15, "<H", 0xFFFF if speed > 0xFFFE else speed)
    put(0x17, "<B", 3)
    put(0x1A, "<B", 4)
    put(0x1B, "<B", rank)
    put(0x1C, "<I", extended_mb)
    put(0x20, "<H", configured)
    put(0x54, "<I", speed)
    return structure(17, bytes(body), [locator, bank, "Samsung", "M393A4K40DB3-CWE"])


def bios_and_system(manufacturer: str = "Intel Corporation", product: str = "M50CYP2SBSTD") -> bytes:
    bios = structure(0, bytes([1, 2, 0, 0, 3]) + bytes(0x18 - 9), ["Intel Corporation", "SE5C620.86B", "02/16/2022"])
    system = structure(1, bytes([1, 2, 0, 0]) + bytes(0x1B - 8), [manufacturer, product])
    cpu_populated = bytearray(0x30 - 4)
    cpu_populated[0x18 - 4] = 0x41
    cpu_empty = bytearray(0x30 - 4)
    return bios + system + structure(4, bytes(cpu_populated), []) + structure(4, bytes(cpu_empty), [])


END = structure(127, b"", [])


def test_bios_system_and_sockets():
    errors: list[str] = []
    table = decode_smbios(bios_and_system() + END, errors)
    assert table["bios"] == {"vendor": "Intel Corporation", "version": "SE5C620.86B", "date": "02/16/2022"}
    assert table["system"] == {"manufacturer": "Intel Corporation", "product": "M50CYP2SBSTD"}
    assert table["cpu_sockets_populated"] == 1 and errors == []


def test_dimm_sizes_speeds_and_empty_slots():
    errors: list[str] = []
    table = bios_and_system() + b"".join([
        dimm("CPU1_DIMM_A1", "NODE 1", 0x7FFF, extended_mb=64 * 1024),  # 64 GB: extended size
        dimm("CPU1_DIMM_B1", "NODE 1", 16384),                          # 16 GB in MB
        dimm("CPU2_DIMM_A1", "NODE 2", 0x8000 | 512, kind=0x22, speed=0x10000),  # 512 KB, KB units
        dimm("CPU2_DIMM_B1", "NODE 2", 0),                               # empty slot
        dimm("CPU2_DIMM_C1", "NODE 2", 0xFFFF),                          # size unknown
    ]) + END
    dimms = decode_smbios(table, errors)["dimms"]
    assert [d["size_bytes"] for d in dimms] == [64 * 1024**3, 16 * 1024**3, 512 * 1024, None, None]
    assert [d["populated"] for d in dimms] == [True, True, True, False, True]
    # Boards that count from 1 (CPU1, CPU2) are shifted to the kernel's 0-based socket ids.
    assert [(d["socket"], d["channel"]) for d in dimms] == [(0, "A"), (0, "B"), (1, "A"), (1, "B"), (1, "C")]
    assert dimms[0]["type"] == "DDR4" and dimms[2]["type"] == "DDR5"
    assert dimms[2]["speed_mts"] == 0x10000  # extended speed field
    assert dimms[3]["type"] is None and dimms[3]["manufacturer"] is None
    assert dimms[0]["part_number"] == "M393A4K40DB3-CWE" and errors == []


def test_amd_style_bank_names_give_socket_and_channel():
    dimms = decode_smbios(dimm("DIMM 0", "P0_Node0_Channel3_Dimm0", 32768) + END, [])["dimms"]
    assert (dimms[0]["socket"], dimms[0]["channel"]) == (0, "3")


def test_truncated_table_keeps_what_decoded_and_says_why():
    errors: list[str] = []
    whole = bios_and_system()
    table = decode_smbios(whole + dimm("DIMM_A1", "", 16384)[:30], errors)
    assert table["bios"]["vendor"] == "Intel Corporation" and table["dimms"] == []
    assert errors and "SMBIOS" in errors[0]


def test_empty_table():
    errors: list[str] = []
    table = decode_smbios(b"", errors)
    assert table["bios"]["vendor"] is None and table["dimms"] == [] and table["cpu_sockets_populated"] is None


def test_rank_and_slot_in_channel():
    table = bios_and_system() + dimm("CPU1_DIMM_A2", "NODE 1", 16384, rank=2) + dimm("CPU1_DIMM_B1", "NODE 1", 0) + END
    populated, empty = decode_smbios(table, [])["dimms"]
    assert (populated["rank"], populated["slot_in_channel"]) == (2, 1)  # A2: the channel's second slot
    assert (empty["rank"], empty["slot_in_channel"], empty["channel"]) == (None, 0, "B")


def test_the_type_1_system_picks_the_vendor_rule():
    """Dell's "A1" means processor 1, channel 0 on a PowerEdge R740 and nothing on an unknown board."""
    slots = dimm("A1", "Not Specified", 16384) + dimm("B7", "Not Specified", 16384)
    dell = decode_smbios(bios_and_system("Dell Inc.", "PowerEdge R740") + slots + END, [])
    assert dell["slot_rule"] == "dell-poweredge-14g"
    assert [(d["socket"], d["channel"], d["slot_in_channel"]) for d in dell["dimms"]] == [(0, "0", 0), (1, "0", 1)]
    other = decode_smbios(bios_and_system("Some OEM", "Board") + slots + END, [])
    assert other["slot_rule"] is None
    assert [(d["socket"], d["channel"]) for d in other["dimms"]] == [(None, None), (None, None)]
