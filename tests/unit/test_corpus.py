"""Our facts against lscpu (and numactl -H) on every tree of the real-tree corpus, field by field.

tests/corpus/NAME/ holds root/ (a sysroot), lscpu.txt (the machine's own lscpu for captured trees,
`lscpu --sysroot root` for hand-made ones), optionally numactl-H.txt, and expected.yaml for what lscpu
cannot tell (the architecture: `lscpu --sysroot` prints the running machine's; hypervisor, microarch).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from xeonfleet.parsers.cpuinfo import ISA_FLAGS
from xeonfleet.parsers.node import node_facts_from_lines
from xeonfleet.facts.probe import probe_command, run_probe_local

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
TREES = sorted(path.name for path in CORPUS.iterdir() if (path / "root").is_dir())

# lscpu label -> our cpu.* key; "Core(s) per cluster" is what lscpu prints on arm instead of per socket.
_LSCPU_FIELDS = {
    "CPU(s)": "logical_cpus",
    "Socket(s)": "sockets",
    "Core(s) per socket": "cores_per_socket",
    "Core(s) per cluster": "cores_per_socket",
    "Thread(s) per core": "threads_per_core",
    "Vendor ID": "vendor",
}


def parse_lscpu(text: str) -> dict[str, str]:
    """lscpu's "Label:   value" lines -> {label: value}."""
    fields = {}
    for line in text.splitlines():
        label, sep, value = line.partition(":")
        if sep:
            fields.setdefault(label.strip(), value.strip())
    return fields


def expected_values(tree: Path) -> dict:
    """The fields to check: from lscpu.txt and numactl-H.txt, then expected.yaml (which wins)."""
    lscpu = parse_lscpu((tree / "lscpu.txt").read_text())
    expected: dict = {}
    for label, key in _LSCPU_FIELDS.items():
        if label in lscpu:
            expected[key] = lscpu[label] if key == "vendor" else int(lscpu[label])
    if "NUMA node(s)" in lscpu:
        expected["numa_nodes"] = int(lscpu["NUMA node(s)"])
    if "Flags" in lscpu:
        flags = set(lscpu["Flags"].split())
        x86 = lscpu.get("Vendor ID") in ("GenuineIntel", "AuthenticAMD")
        expected["isa"] = {name: (flag in flags if x86 else None) for name, flag in ISA_FLAGS.items()}
    numactl = tree / "numactl-H.txt"
    if numactl.exists():
        available = numactl.read_text().splitlines()[0]  # "available: 2 nodes (0-1)"
        expected["numa_nodes_numactl"] = int(available.split()[1])
    expected.update(yaml.safe_load((tree / "expected.yaml").read_text()) or {})
    return expected


@pytest.fixture(scope="module", params=TREES)
def tree_facts(request: pytest.FixtureRequest) -> tuple[str, dict, dict]:
    tree = CORPUS / request.param
    facts = node_facts_from_lines(run_probe_local(tree / "root"))
    return request.param, facts, expected_values(tree)


def test_the_corpus_has_a_captured_machine_and_every_architecture() -> None:
    arches = {yaml.safe_load((CORPUS / name / "expected.yaml").read_text())["arch"] for name in TREES}
    assert {"x86_64", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64", "loongarch64", "sparc64"} <= arches
    assert any((CORPUS / name / "numactl-H.txt").exists() for name in TREES), "no captured real machine"


def test_facts_match_lscpu_field_by_field(tree_facts: tuple[str, dict, dict]) -> None:
    name, facts, expected = tree_facts
    cpu = facts["cpu"]
    ours = {key: cpu[key] for key in ("logical_cpus", "sockets", "cores_per_socket", "threads_per_core",
                                      "vendor", "arch")}
    # lscpu prints cpuinfo's flags, so it tells the keys the kernel prints (the CPUID-only ones: test_cpuid.py).
    ours["isa"] = {name: cpu["isa"][name] for name in ISA_FLAGS}
    ours["numa_nodes"] = ours["numa_nodes_numactl"] = facts["numa"]["node_count"]
    for key in ("hypervisor", "microarch", "microarch_source", "base_ghz", "base_ghz_source", "fma_units"):
        ours[key] = cpu[key]
    checked = {key: value for key, value in expected.items() if key in ours}
    assert {key: ours[key] for key in checked} == checked, name
    assert len(checked) >= 6, f"{name}: only {sorted(checked)} compared"


def test_every_tree_gives_an_online_cpu_list_and_no_crash(tree_facts: tuple[str, dict, dict]) -> None:
    name, facts, _ = tree_facts
    assert facts["cpu"]["online_cpus"] == facts["cpu"]["logical_cpus"], name
    assert sum(len(node["cpus"]) for node in facts["numa"]["nodes"]) == facts["cpu"]["online_cpus"], name


@pytest.mark.parametrize("wrapping_base64", [False, True], ids=["base64 -w 0", "base64 without -w"])
def test_the_packed_output_gives_the_same_facts(tree_facts: tuple[str, dict, dict], wrapping_base64: bool,
                                                 tmp_path: Path) -> None:
    """PACK=1 (over SSH) sends one line of gzip + base64; a base64 without -w (older busybox) refuses the option
    before reading, and tr joins its wrapped lines instead."""
    name, facts, _ = tree_facts
    env = dict(os.environ)
    if wrapping_base64:
        (tmp_path / "base64").write_text('#!/bin/sh\ncase "$1" in -w*) echo "base64: unrecognized option: w" >&2; '
                                         f'exit 1 ;; esac\nexec {shutil.which("base64")} "$@"\n')
        (tmp_path / "base64").chmod(0o755)
        env["PATH"] = f"{tmp_path}:{env['PATH']}"
    result = subprocess.run(["sh", "-c", probe_command(root=str(CORPUS / name / "root"), pack=True)],
                            capture_output=True, text=True, check=True, env=env)
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0] == "@@@ packed gzip base64", lines[:3]
    assert node_facts_from_lines(lines) == facts, name


def test_a_node_without_awk_gives_the_same_facts(tree_facts: tuple[str, dict, dict], tmp_path: Path) -> None:
    """awk trims cpuinfo and builds the per-CPU paths; without it (a minimal image) the probe sends cpuinfo whole
    and globs the per-CPU files: the corpus's sibling-list-only and cpumap-only trees take those fallbacks too."""
    name, facts, _ = tree_facts
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("sh", "grep", "od", "cat", "id", "gzip", "base64", "tr"):
        found = shutil.which(tool)
        assert found, f"{tool} is not on this machine's PATH"
        os.symlink(found, tools / tool)
    result = subprocess.run(["sh", "-c", probe_command(root=str(CORPUS / name / "root"), pack=False)],
                            capture_output=True, text=True, check=True, env={**os.environ, "PATH": str(tools)})
    assert "@@@ file proc/cpuinfo" in result.stdout and node_facts_from_lines(result.stdout.splitlines()) == facts, name
