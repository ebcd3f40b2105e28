"""The probe + parsers on a tree generated from each hardware profile match its `expect:` block."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.facts_expect import expect_mismatches
from xeonfleet.lab.hardware import list_hardware, load_hardware
from xeonfleet.lab.sysroot import build_sysroot
from xeonfleet.parsers.node import node_facts_from_lines
from xeonfleet.facts.probe import run_probe_local

# A big profile is ~15,000 small files: on tmpfs it takes a second, on a busy disk ten times that.
SCRATCH = "/dev/shm" if Path("/dev/shm").is_dir() else None


@pytest.mark.parametrize("name", list_hardware())
def test_generated_tree_matches_profile_expectations(name):
    hw = load_hardware(name)
    assert hw.expect, f"hardware/{name}.yaml has no expect: block"
    with tempfile.TemporaryDirectory(dir=SCRATCH, prefix="xeonfleet-sysroot-") as tmp:
        build_sysroot(hw, Path(tmp) / "root", f"{name}-host")
        lean = run_probe_local(Path(tmp) / "root")
        full = run_probe_local(Path(tmp) / "root", full_cpuinfo=True)
    facts = node_facts_from_lines(lean)
    assert expect_mismatches(facts, hw.expect) == []
    # The trimmed cpuinfo the fleet gather reads gives the facts a snapshot's whole file gives.
    assert len(lean) < len(full)
    assert node_facts_from_lines(full) == facts
    # Whatever the profile does not pin down must still be consistent with itself.
    cpu = facts["cpu"]
    assert cpu["physical_cores"] == cpu["sockets"] * cpu["cores_per_socket"]
    assert cpu["online_cpus"] == cpu["physical_cores"] * cpu["threads_per_core"]
    assert sum(len(node["cpus"]) for node in facts["numa"]["nodes"]) == cpu["online_cpus"]
