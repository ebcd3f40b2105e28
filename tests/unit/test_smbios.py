"""SMBIOS tables we write must decode with the real dmidecode, from a dump file and from sysfs."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from xeonfleet.lab.hardware import list_hardware, load_hardware
from xeonfleet.lab.smbios import DUMP_TABLE_OFFSET, build_smbios, entry_point, to_dump

DMI_PROFILES = [name for name in list_hardware() if load_hardware(name).has_dmi]
needs_dmidecode = pytest.mark.skipif(shutil.which("dmidecode") is None, reason="dmidecode not installed")


def dmidecode(dump: Path, *args: str) -> str:
    return subprocess.run(["dmidecode", "--from-dump", str(dump), *args],
                          check=True, capture_output=True, text=True).stdout


def records(text: str) -> list[dict[str, str]]:
    """dmidecode output as one dict per structure (indented `Key: value` lines)."""
    out = []
    for block in text.split("\n\n"):
        lines = [line.strip() for line in block.splitlines() if line.startswith("\t") and ": " in line]
        fields = dict(line.split(": ", 1) for line in lines)
        if fields:
            out.append(fields)
    return out


def structures(table: bytes) -> list[tuple[int, int, int]]:
    """Walk a table the way a decoder does: (type, length, handle) for each structure."""
    found, offset = [], 0
    while offset < len(table):
        kind, length, handle = table[offset], table[offset + 1], int.from_bytes(table[offset + 2:offset + 4], "little")
        found.append((kind, length, handle))
        offset = table.index(b"\0\0", offset + length) + 2
    return found


def test_entry_point_is_a_valid_sm3_anchor() -> None:
    ep = entry_point(1234, 0x6F0000)
    assert len(ep) == 24 and ep[:5] == b"_SM3_" and ep[6] == 24 and sum(ep) % 256 == 0
    assert (ep[7], ep[8]) == (3, 3)
    assert int.from_bytes(ep[12:16], "little") == 1234 and int.from_bytes(ep[16:24], "little") == 0x6F0000


@pytest.mark.parametrize("name", DMI_PROFILES)
def test_table_structure_and_order(name: str) -> None:
    hw = load_hardware(name)
    ep, table = build_smbios(hw, "host-1")
    assert int.from_bytes(ep[12:16], "little") == len(table) and sum(ep) % 256 == 0
    found = structures(table)
    kinds = [k for k, _, _ in found]
    assert kinds == [0, 1] + [4] * hw.sockets + [16] * hw.sockets + [17] * len(hw.dimm_slots()) + [127]
    assert [h for _, _, h in found] == list(range(len(found)))  # unique handles
    lengths = {k: length for k, length, _ in found}
    assert lengths == {0: 0x1A, 1: 0x1B, 4: 0x30, 16: 0x17, 17: 0x28, 127: 4}
    assert table.endswith(b"\x7f\x04" + found[-1][2].to_bytes(2, "little") + b"\0\0")


@needs_dmidecode
@pytest.mark.parametrize("name", DMI_PROFILES)
def test_dmidecode_decodes_bios_system_processors_and_dimms(tmp_path: Path, name: str) -> None:
    hw = load_hardware(name)
    assert hw.bios is not None and hw.system is not None
    dump = tmp_path / "dmi.bin"
    dump.write_bytes(to_dump(build_smbios(hw, "host-1")[1]))
    text = dmidecode(dump)
    assert "SMBIOS 3.3.0 present." in text and "Invalid" not in text and "wrong" not in text.lower()
    bios = records(dmidecode(dump, "-t", "0"))[0]
    assert (bios["Vendor"], bios["Version"], bios["Release Date"]) == (hw.bios.vendor, hw.bios.version, hw.bios.date)
    system = records(dmidecode(dump, "-t", "1"))[0]
    assert (system["Manufacturer"], system["Product Name"]) == (hw.system.manufacturer, hw.system.product)
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", system["UUID"])
    cpus = records(dmidecode(dump, "-t", "4"))
    assert [c["Version"] for c in cpus] == [hw.cpu.model_name] * hw.sockets
    assert {c["Core Count"] for c in cpus} == {str(hw.cores_per_socket)}
    assert {c["Thread Count"] for c in cpus} == {str(hw.cores_per_socket * hw.threads_per_core)}
    assert cpus[0]["Signature"].endswith(f"Family {hw.cpu.family}, Model {hw.cpu.model}, Stepping {hw.cpu.stepping}")
    dimms = records(dmidecode(dump, "-t", "17"))
    slots = hw.dimm_slots()
    assert [d["Locator"] for d in dimms] == [s.locator for s in slots]
    assert [d["Bank Locator"] for d in dimms] == [s.bank or "Not Specified" for s in slots]  # no string
    mem = hw.memory
    for dimm, slot in zip(dimms, slots):
        if slot.size_gb:
            assert dimm["Size"] == f"{slot.size_gb} GB"
            assert dimm["Type"] == mem.type
            assert dimm["Speed"] == f"{mem.speed_mts} MT/s"
            assert dimm["Configured Memory Speed"] == f"{mem.configured_speed_mts} MT/s"
            assert (dimm["Manufacturer"], dimm["Part Number"]) == (mem.manufacturer, mem.part_number)
        else:
            assert dimm["Size"] == "No Module Installed"
    installed = sum(1 for d in dimms if d["Size"] != "No Module Installed")
    assert installed == hw.expect["memory.populated"]


@needs_dmidecode
def test_mistuned_shows_empty_channels_g_and_h(tmp_path: Path) -> None:
    dump = tmp_path / "dmi.bin"
    dump.write_bytes(to_dump(build_smbios(load_hardware("icx-8380-2s-mistuned"), "m")[1]))
    empty = [d["Locator"] for d in records(dmidecode(dump, "-t", "17")) if d["Size"] == "No Module Installed"]
    assert empty == ["CPU0_DIMM_G1", "CPU0_DIMM_H1", "CPU1_DIMM_G1", "CPU1_DIMM_H1"]


@needs_dmidecode
def test_small_dimms_use_the_plain_size_word(tmp_path: Path) -> None:
    """Below 32 GB the size fits the 16-bit MB word; the extended field is only for >= 32 GB."""
    path = tmp_path / "small.yaml"
    path.write_text("include: icx-8380-2s\nmemory: {size_gb: 16}\n")
    table = build_smbios(load_hardware(path), "s")[1]
    dump = tmp_path / "dmi.bin"
    dump.write_bytes(to_dump(table))
    assert {d["Size"] for d in records(dmidecode(dump, "-t", "17"))} == {"16 GB"}


def test_dump_layout_points_the_entry_point_at_offset_32() -> None:
    table = build_smbios(load_hardware("icx-8380-2s"), "h")[1]
    dump = to_dump(table)
    assert dump[DUMP_TABLE_OFFSET:] == table and int.from_bytes(dump[16:24], "little") == DUMP_TABLE_OFFSET
    assert sum(dump[:24]) % 256 == 0


def test_identity_is_per_host_and_stable() -> None:
    hw = load_hardware("icx-8380-2s")
    assert build_smbios(hw, "a") == build_smbios(hw, "a") != build_smbios(hw, "b")


def test_profile_without_dmi_is_refused() -> None:
    with pytest.raises(ValueError, match="cloud-vm has no DMI"):
        build_smbios(load_hardware("cloud-vm"), "vm")


@needs_dmidecode
def test_dmidecode_reads_the_tree_from_sysfs_in_a_mount_namespace(tmp_path: Path) -> None:
    """What the lab does: the generated sys/firmware mounted over /sys/firmware, plain `dmidecode`."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare not installed")
    hw = load_hardware("spr-8480-2s")
    ep, table = build_smbios(hw, "ns-host")
    tables = tmp_path / "dmi" / "tables"
    tables.mkdir(parents=True)
    (tables / "smbios_entry_point").write_bytes(ep)
    (tables / "DMI").write_bytes(table)
    script = f"mount --bind {tmp_path} /sys/firmware && dmidecode -s bios-vendor && dmidecode -t 17"
    run = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                         capture_output=True, text=True)
    if run.returncode != 0 and "Operation not permitted" in run.stderr:
        pytest.skip("no CAP_SYS_ADMIN for a mount namespace")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == "American Megatrends International, LLC."
    assert run.stdout.count("Size: 64 GB") == 16 and "Getting SMBIOS data from sysfs." in run.stdout
