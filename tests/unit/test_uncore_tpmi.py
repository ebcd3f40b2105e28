"""Uncore frequency through the TPMI driver (uncoreNN per die: compute and I/O dies, ELC), end to end
without SSH: the lab model writes the tree, the real probe and parsers read it, the knob plans on the
facts, its set command runs in sh on the tree's files, and the undo log puts every byte back.

The Granite Rapids-like package below follows pepc's docs/guide-uncore.md example: 3 compute dies at
0.8-2.2 GHz and 2 I/O dies at 0.8-2.5 GHz per package, ELC floor 1.2 GHz (compute) / 0.8 GHz (I/O),
thresholds 11 % / 95 %, high threshold on.
"""

from __future__ import annotations

import copy
import shlex
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from xeonfleet.knobs.status import FAIL, NA, PASS
from xeonfleet.audit.rules import evaluate_node
from xeonfleet.parsers.contract import validate_facts
from xeonfleet.knobs import uncore
from xeonfleet.lab.hardware import HardwareProfileError, load_hardware
from xeonfleet.lab.sysroot import build_sysroot
from xeonfleet.parsers.node import node_facts_from_lines
from xeonfleet.facts.probe import run_probe_local
from xeonfleet.profiles import load_profile
from xeonfleet.node import undo_log as node_state
from xeonfleet.tune.plan import plan_host

UNCORE = "sys/devices/system/cpu/intel_uncore_frequency"
ELC = "elc: {floor_khz: %d, low_threshold_percent: 11, high_threshold_percent: 95, high_threshold_enable: true}"
TPMI = f"""\
include: spr-8480-2s
uncore:
  layout: tpmi
  initial_min_khz: 800000
  initial_max_khz: 2200000
  max_khz: 2000000            # compute dies capped below their firmware top: the base profile fails them
  dies_per_package: 3
  agent_types: core cache memory
  {ELC % 1200000}
  io:
    initial_min_khz: 800000
    initial_max_khz: 2500000
    dies_per_package: 2
    agent_types: io
    {ELC % 800000}
"""
COMPUTE = ["uncore00", "uncore01", "uncore02", "uncore05", "uncore06", "uncore07"]
IO = ["uncore03", "uncore04", "uncore08", "uncore09"]
BASE = load_profile("xeon-ai-base")  # uncore_max: max
NO_TOOLS = {"xeonfleet_skip": ["os.tool"]}  # the sysroot has no distro to install cpupower/numactl from


@pytest.fixture
def tree() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None,
                                     prefix="xeonfleet-tpmi-") as tmp:
        yield Path(tmp)


def build(tmp: Path, text: str = TPMI) -> Path:
    hardware = tmp / "gnr-tpmi.yaml"
    hardware.write_text(text)
    build_sysroot(load_hardware(hardware), tmp / "root", "unit")
    return tmp / "root"


def probe(root: Path) -> dict:
    return node_facts_from_lines(run_probe_local(root))


def uncore_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / UNCORE).rglob("*")) if p.is_file()}


def on_tree(root: Path, command: str) -> str:
    """A node command with its /sys paths moved under the tree (the globs stay unquoted, so sh expands them)."""
    return command.replace("/sys/", f"{root}/sys/")


def test_the_lab_writes_the_tpmi_layout_as_the_driver_does(tree: Path) -> None:
    root = build(tree)
    dirs = sorted(p.name for p in (root / UNCORE).iterdir())
    assert dirs == ["package_00_die_00", "package_01_die_00", *(f"uncore{i:02d}" for i in range(10))]
    die = root / UNCORE / "uncore06"  # package 1, domain 1
    assert [(die / f).read_text() for f in ("package_id", "domain_id", "fabric_cluster_id")] == ["1\n", "1\n", "0\n"]
    assert (die / "agent_types").read_text() == "core cache memory \n"  # show_agent_types: a space after each
    assert (root / UNCORE / "uncore08" / "agent_types").read_text() == "io \n"
    assert (die / "elc_floor_freq_khz").read_text() == "1200000\n"
    assert (die / "elc_high_threshold_enable").read_text() == "1\n"
    aggregate = root / UNCORE / "package_01_die_00"  # the driver's root domain: lowest min, highest max
    assert [(aggregate / f"{n}_freq_khz").read_text() for n in ("initial_min", "initial_max", "min", "max")] == [
        "800000\n", "2500000\n", "800000\n", "2500000\n"]
    assert not (aggregate / "agent_types").exists() and not (aggregate / "package_id").exists()


def test_the_old_layout_is_the_default_and_tpmi_keys_need_the_tpmi_layout(tree: Path) -> None:
    root = build(tree, "include: spr-8480-2s\n")
    assert sorted(p.name for p in (root / UNCORE).iterdir()) == ["package_00_die_00", "package_01_die_00"]
    bad = tree / "bad.yaml"
    bad.write_text("include: spr-8480-2s\nuncore:\n  agent_types: io\n")
    with pytest.raises(HardwareProfileError, match=r"bad\.yaml:3: uncore\.agent_types: only the TPMI driver has it; "
                                                   r"set uncore\.layout: tpmi or remove it"):
        load_hardware(bad)


def test_facts_list_each_die_with_its_ids_kind_and_elc_and_leave_the_aggregate_out(tree: Path) -> None:
    facts = probe(build(tree))
    dies = facts["power"]["uncore"]
    assert [d["die"] for d in dies] == [f"uncore{i:02d}" for i in range(10)]
    assert [(d["package_id"], d["domain_id"], d["kind"]) for d in dies[:5]] == [
        (0, 0, "compute"), (0, 1, "compute"), (0, 2, "compute"), (0, 3, "io"), (0, 4, "io")]
    assert dies[5]["package_id"] == 1 and dies[0]["agent_types"] == ["core", "cache", "memory"]
    assert dies[3]["agent_types"] == ["io"] and (dies[3]["initial_max_khz"], dies[3]["max_khz"]) == (2500000, 2500000)
    assert (dies[0]["initial_max_khz"], dies[0]["max_khz"]) == (2200000, 2000000)
    assert {k: dies[0][k] for k in dies[0] if k.startswith("elc_")} == {
        "elc_floor_khz": 1200000, "elc_low_threshold_percent": 11, "elc_high_threshold_percent": 95,
        "elc_high_threshold_enabled": True}
    assert dies[3]["elc_floor_khz"] == 800000
    assert not [e for e in facts["errors"] if "uncore" in e]
    validate_facts(facts)


def test_the_old_layout_reads_as_before_with_nulls_for_what_it_lacks(tree: Path) -> None:
    (first, second) = probe(build(tree, "include: icx-8380-2s-mistuned\n"))["power"]["uncore"]
    assert (first["die"], first["package_id"], second["package_id"]) == ("package_00_die_00", 0, 1)
    assert (first["max_khz"], first["initial_max_khz"]) == (1800000, 2400000)
    assert all(first[k] is None for k in ("domain_id", "agent_types", "kind", "elc_floor_khz",
                                          "elc_high_threshold_enabled"))


def test_the_limit_goes_to_compute_dies_only(tree: Path) -> None:
    facts = probe(build(tree))
    (finding,) = [f for f in evaluate_node("h", facts, BASE) if f.rule == "power.uncore_max"]
    assert (finding.status, finding.evidence, finding.expected) == (FAIL, ", ".join(["2000000"] * 6),
                                                                   ", ".join(["2200000"] * 6))
    (step,) = [s for s in plan_host("h", BASE, facts, NO_TOOLS).steps if s.knob.id == "power.uncore_max"]
    command = step.knob.setter.command(step.wanted, facts)
    for name in COMPUTE:
        assert f"/{name}/max_freq_khz;" in command
    assert not any(f"/{name}/" in command for name in IO) and "package_" not in command
    record = step.knob.record_command(step.wanted, facts)
    assert shlex.split(record)[4:] == [f"/{UNCORE}/{name}/max_freq_khz" for name in COMPUTE]


def test_a_number_is_checked_against_each_compute_dies_firmware_range_only(tree: Path) -> None:
    facts = probe(build(tree))
    custom = tree / "uncore.yaml"
    custom.write_text("include: xeon-ai-base\npower:\n  uncore_max: 2400000\n")  # within the I/O dies' 2.5 GHz
    assert plan_host("h", load_profile(str(custom)), facts, NO_TOOLS).errors == [
        "power.uncore_max 2400000 kHz is outside uncore00's firmware range 800000-2200000 kHz; "
        "use max, default or a value in that range"]


def test_set_rerun_and_restore_on_the_trees_files(tree: Path) -> None:
    """The knob's own commands in sh on the tree: compute dies reach 2.2 GHz, the I/O dies and aggregates
    are untouched, a re-run writes nothing, and the undo log puts every file back byte for byte."""
    root = build(tree)
    before = uncore_bytes(root)
    facts = probe(root)
    (step,) = [s for s in plan_host("h", BASE, facts, NO_TOOLS).steps if s.knob.id == "power.uncore_max"]
    state = {"values": {}, "files": {}, "packages": [], "msrs": {}}
    recorded = shlex.split(step.knob.record_command(step.wanted, facts))[4:]
    node_state.save_values(state, "power.uncore_max", [on_tree(root, path) for path in recorded])
    subprocess.run(["sh", "-c", on_tree(root, step.knob.setter.command(step.wanted, facts))], check=True)

    after = probe(root)["power"]["uncore"]
    assert [d["max_khz"] for d in after] == [2200000, 2200000, 2200000, 2500000, 2500000] * 2
    changed = {path for path, data in uncore_bytes(root).items() if data != before[path]}
    assert changed == {f"{UNCORE}/{name}/max_freq_khz" for name in COMPUTE}
    assert [s for s in plan_host("h", BASE, probe(root), NO_TOOLS).steps if s.knob.id == "power.uncore_max"][0].in_place
    stamps = {p: p.stat().st_mtime_ns for p in (root / UNCORE).rglob("max_freq_khz")}
    subprocess.run(["sh", "-c", on_tree(root, step.knob.setter.command(step.wanted, facts))], check=True)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps, "the re-run wrote a file"

    assert node_state.restore(state) == []
    assert uncore_bytes(root) == before


def test_before_kernel_6_16_every_die_gets_the_limit_and_the_facts_say_why(tree: Path) -> None:
    root = build(tree)
    for path in (root / UNCORE).glob("uncore*/agent_types"):
        path.unlink()
    facts = probe(root)
    assert {d["kind"] for d in facts["power"]["uncore"]} == {None}
    assert ("intel_uncore_frequency has no agent_types (kernel older than 6.16): power.uncore kind is null and the "
            "uncore limits treat every die as a compute die") in facts["errors"]
    assert uncore.target_dies(facts) == facts["power"]["uncore"]
    (step,) = [s for s in plan_host("h", BASE, facts, NO_TOOLS).steps if s.knob.id == "power.uncore_max"]
    assert step.wanted == [2200000, 2200000, 2200000, 2500000, 2500000] * 2  # `max` is each die's own top


def test_root_only_ids_unreadable_are_null_with_a_reason(tree: Path) -> None:
    root = build(tree)
    for path in [*(root / UNCORE).glob("uncore*/package_id"), *(root / UNCORE).glob("uncore*/domain_id")]:
        path.unlink()  # what a non-root probe sees: the driver makes them 0400
    facts = probe(root)
    assert {(d["package_id"], d["domain_id"]) for d in facts["power"]["uncore"]} == {(None, None)}
    assert any("package_id/domain_id unreadable" in e for e in facts["errors"])
    validate_facts(facts)


def test_only_io_dies_is_na_and_compute_dies_at_their_top_pass(tree: Path) -> None:
    facts = probe(build(tree))
    io_only = copy.deepcopy(facts)
    io_only["power"]["uncore"] = [d for d in facts["power"]["uncore"] if d["kind"] == "io"]
    verdicts = {f.rule: (f.status, f.evidence) for f in evaluate_node("h", io_only, BASE)}
    assert verdicts["power.uncore_max"] == (NA, "intel_uncore_frequency lists only I/O dies here "
                                                "(no compute die to limit)")
    facts["power"]["uncore"] = [dict(d, max_khz=d["initial_max_khz"]) for d in facts["power"]["uncore"]]
    assert {f.rule: f.status for f in evaluate_node("h", facts, BASE)}["power.uncore_max"] == PASS
