"""Small pure parsers: CPU lists, cpuinfo shapes, microarch tables, THP and key=value files."""

from __future__ import annotations

import pytest

from xeonfleet.parsers.cpuinfo import parse_cpuinfo_blocks, summarize_cpuinfo
from xeonfleet.parsers.cpulist import format_cpulist, parse_cpulist
from xeonfleet.parsers.microarch import channels_per_socket, fma_units, microarch
from xeonfleet.parsers.os import bracketed_choice, parse_key_values
from xeonfleet.parsers.sections import parse_probe_output


@pytest.mark.parametrize("text, cpus", [
    ("0-3,8", [0, 1, 2, 3, 8]), ("", []), ("5", [5]), ("0-1,1-2\n", [0, 1, 2]), ("x-1", None), (None, None),
])
def test_parse_cpulist(text, cpus):
    assert parse_cpulist(text) == cpus


def test_format_cpulist_round_trips():
    for text in ("0-39,80-119", "0", "0,2,4", "1-2,7-9"):
        assert format_cpulist(parse_cpulist(text)) == text
    assert format_cpulist([]) == ""


@pytest.mark.parametrize("vendor, family, model, stepping, name", [
    ("GenuineIntel", 6, 0x55, 4, "skylake-avx512"),
    ("GenuineIntel", 6, 0x55, 7, "cascadelake"),
    ("GenuineIntel", 6, 0x55, 11, "cooperlake"),
    ("GenuineIntel", 6, 0x55, 9, None),
    ("GenuineIntel", 6, 106, 6, "icelake-server"),
    ("GenuineIntel", 6, 143, 8, "sapphirerapids"),
    ("GenuineIntel", 6, 207, 2, "emeraldrapids"),
    ("GenuineIntel", 6, 173, 1, "graniterapids"),
    ("GenuineIntel", 6, 0x9E, 10, None),
    ("AuthenticAMD", 23, 0x31, 0, "zen2"),
    ("AuthenticAMD", 25, 0x01, 1, "zen3"),
    ("AuthenticAMD", 25, 0x11, 1, "zen4"),
    ("AuthenticAMD", 26, 0x02, 1, "zen5"),
    (None, None, None, None, None),
])
def test_microarch(vendor, family, model, stepping, name):
    assert microarch(vendor, family, model, stepping) == name


@pytest.mark.parametrize("model_name, arch, avx512f, units", [
    ("Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz", "icelake-server", True, 2),
    ("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "cascadelake", True, 2),
    ("Intel(R) Xeon(R) Gold 5218 CPU @ 2.30GHz", "cascadelake", True, 1),
    ("Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz", "icelake-server", True, None),  # not in ark's table here
    ("Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz", "cascadelake", True, 1),
    ("Intel(R) Xeon(R) Gold 5222 CPU @ 3.80GHz", "cascadelake", True, 2),  # ark: the Gold 5 exception
    ("Intel(R) Xeon(R) Gold 5122 CPU @ 3.60GHz", "skylake-avx512", True, 2),
    ("Intel(R) Xeon(R) Gold 5218R CPU @ 2.10GHz", "cascadelake", True, None),  # SKU not listed: never a guess
    ("Intel(R) Xeon(R) Platinum 8480+", "sapphirerapids", True, 2),
    ("Intel(R) Xeon(R) Gold 5418Y", "sapphirerapids", True, 2),
    ("AMD EPYC 7763 64-Core Processor", "zen3", False, 0),
    ("Intel Xeon Processor (Icelake)", "icelake-server", True, None),
    ("whatever", None, None, None),
])
def test_fma_units(model_name, arch, avx512f, units):
    assert fma_units(model_name, arch, avx512f) == units


def test_channels_per_socket():
    assert channels_per_socket("icelake-server", "Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz") == 8
    assert channels_per_socket("cascadelake", "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz") == 6
    assert channels_per_socket("zen3", "AMD EPYC 7763 64-Core Processor") == 8
    assert channels_per_socket(None, None) is None


def test_cpuinfo_without_blank_lines_and_with_a_header():
    lines = ["Hardware : foo", "processor : 0", "flags : lm avx2", "processor : 1", "flags : lm"]
    blocks = parse_cpuinfo_blocks(lines)
    assert [b["processor"] for b in blocks] == ["0", "1"]
    errors: list[str] = []
    summary = summarize_cpuinfo(blocks, errors)
    assert summary["isa"]["avx2"] is True and summary["isa"]["avx512f"] is False
    assert summary["arch"] == "x86_64" and summary["microcode_uniform"] is None and errors == []


def test_bracketed_choice():
    assert bracketed_choice("always [madvise] never") == "madvise"
    assert bracketed_choice("always madvise never") is None and bracketed_choice(None) is None


def test_key_values_tolerate_comments_export_and_bad_quotes():
    lines = ["# c", "export A=1", 'B="x y"', "C='unterminated", "not a pair", "D=2 # trailing"]
    assert parse_key_values(lines) == {"A": "1", "B": "x y", "D": "2"}


def test_probe_sections():
    out = parse_probe_output([
        "@@@ xeonfleet-probe 1", "@@@ text", "proc/cmdline:ro quiet", "etc/os-release:", "etc/os-release:ID=x",
        "@@@ hex sys/firmware/dmi/tables/DMI", " 7f 04 00", " 00 00 00", "@@@ virtual sys/devices/virtual/net/lo",
        "@@@ tool numactl /usr/bin/numactl", "@@@ end",
    ])
    assert out.files["etc/os-release"] == ["", "ID=x"] and out.value("proc/cmdline") == "ro quiet"
    assert out.binary["sys/firmware/dmi/tables/DMI"] == bytes([0x7F, 4, 0, 0, 0, 0])
    assert out.virtual_devices == {"sys/devices/virtual/net/lo"} and out.tools == {"numactl": "/usr/bin/numactl"} and out.complete
