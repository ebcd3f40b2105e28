"""`xeonfleet recommend`: a profile per node from its facts, on sysroots of the lab hardware profiles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from xeonfleet.cli.main import main
from xeonfleet.lab.hardware import load_hardware
from xeonfleet.lab.sysroot import build_sysroot
from xeonfleet.parsers.node import node_facts_from_lines
from xeonfleet.facts.probe import run_probe_local
from xeonfleet.profiles import list_profiles
from xeonfleet.tune.recommend import recommend


@pytest.fixture(scope="module")
def sysroot(tmp_path_factory: pytest.TempPathFactory):
    def build(hardware: str) -> Path:
        root = tmp_path_factory.getbasetemp() / f"recommend-{hardware}"
        if not root.exists():
            build_sysroot(load_hardware(hardware), root, "unit")
        return root

    return build


@pytest.mark.parametrize(("hardware", "profile", "reason"), [
    ("spr-8480-2s", "training", "ens3f0np0 at 100 Gb/s on NUMA node 1 and 1009 GiB of memory"),
    ("clx-6248-2s", "inference-offline", "20 physical cores per NUMA node"),
    ("cloud-vm", "inference-online", "virtual machine (hypervisor:"),
])
def test_profile_follows_nics_cores_and_virtualization(sysroot, hardware: str, profile: str, reason: str) -> None:
    chosen = recommend(node_facts_from_lines(run_probe_local(sysroot(hardware))))
    assert chosen.profile == profile and reason in chosen.reason
    assert chosen.profile in list_profiles()


def test_small_bare_metal_node_gets_online_inference(sysroot) -> None:
    facts = node_facts_from_lines(run_probe_local(sysroot("clx-6248-2s")))
    facts["numa"]["nodes"] = [dict(n, cpus=n["cpus"][:16]) for n in facts["numa"]["nodes"]]  # 8 cores per node
    assert recommend(facts).profile == "inference-online"


def test_cli_prints_json_and_refuses_bad_input_in_one_line(sysroot) -> None:
    result = CliRunner().invoke(main, ["recommend", "--sysroot", str(sysroot("spr-8480-2s")), "--format", "json"])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.output).values()
    assert entry["profile"] == "training"
    neither = CliRunner().invoke(main, ["recommend"])
    assert neither.exit_code == 2 and neither.output.strip().startswith("error: give either an INVENTORY")
