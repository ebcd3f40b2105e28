"""The probe + parsers on hand-written messy trees (tests/unit/fixtures/*): never a crash,
the best honest answer or null, and the reason in `errors`."""

from __future__ import annotations

from pathlib import Path

import pytest

from xeonfleet.parsers.node import node_facts_from_lines
from xeonfleet.facts.probe import run_probe_local

FIXTURES = Path(__file__).with_name("fixtures")


def facts_of(name: str) -> dict:
    return node_facts_from_lines(run_probe_local(FIXTURES / name))


def test_offline_cpus_counted_but_not_placed():
    facts = facts_of("offline-cpus")
    cpu = facts["cpu"]
    assert (cpu["logical_cpus"], cpu["online_cpus"], cpu["offline_cpus"]) == (4, 2, [2, 3])
    assert (cpu["sockets"], cpu["physical_cores"], cpu["threads_per_core"]) == (1, 2, 1)
    assert cpu["smt_enabled"] is False
    assert cpu["microcode_uniform"] is False
    assert cpu["fma_units"] is None  # Gold 5318Y: Ice Lake Gold 53xx is not in the ark table: unknown, never a guess
    power = facts["power"]
    assert power["governor"] == "mixed"
    assert power["epp"] == "balance_performance"
    assert power["epb"] is None and any("energy_perf_bias" in e for e in facts["errors"])
    assert power["turbo_enabled"] is False and power["hwp"] is True
    c6 = power["cstates"][2]
    assert (c6["name"], c6["latency_us"], c6["disabled_cpus"], c6["cpus"], c6["disabled"]) == (
        "C6", 170, 1, 2, False)


def test_no_physical_id_assumes_one_socket_and_says_so():
    facts = facts_of("no-physical-id")
    cpu = facts["cpu"]
    assert cpu["sockets"] == 1 and cpu["online_cpus"] == 3 and cpu["threads_per_core"] == 1
    assert cpu["microarch"] == "cascadelake" and cpu["fma_units"] == 2
    assert any("assuming 1 socket" in e for e in facts["errors"])
    numa = facts["numa"]
    assert numa["node_count"] == 1 and numa["nodes"][0]["cpus"] == [0, 1, 2]
    assert numa["nodes"][0]["mem_total_bytes"] == 8000000 * 1024
    assert any("assuming one NUMA node" in e for e in facts["errors"])


def test_memoryless_and_cpuless_nodes():
    numa = facts_of("memoryless-node")["numa"]
    by_id = {node["id"]: node for node in numa["nodes"]}
    assert by_id[1]["cpus"] == [2, 3] and by_id[1]["mem_total_bytes"] == 0
    assert by_id[2]["cpus"] == [] and by_id[2]["cpulist"] == "" and by_id[2]["mem_total_bytes"] > 0
    assert numa["node_count"] == 3
    # Only nodes with CPUs count towards SNC: 2 CPU nodes over 2 sockets is SNC off.
    assert numa["nodes_per_socket"] == 1 and numa["snc_enabled"] is False


def test_cloud_vm_without_cpufreq_or_dmi():
    facts = facts_of("cloud-vm")
    assert facts["cpu"]["microarch"] == "icelake-server"
    assert facts["cpu"]["fma_units"] is None  # a VM model name names no SKU
    assert (facts["cpu"]["physical_cores"], facts["cpu"]["threads_per_core"]) == (2, 2)
    power = facts["power"]
    assert power["driver"] is None and power["governor"] is None and power["turbo_enabled"] is None
    assert power["cpuidle_driver"] is None and power["cstates"] == []
    assert facts["bios"] == {"vendor": None, "version": None, "date": None}
    assert facts["memory"]["dimms"] == [] and facts["memory"]["slots"] is None
    assert any("DMI" in e for e in facts["errors"])
    assert facts["os"]["distro"] == {
        "id": "debian", "version_id": "12", "pretty_name": "Debian GNU/Linux 12 (bookworm)"}
    assert (facts["os"]["thp"], facts["os"]["thp_defrag"]) == ("madvise", "madvise")
    assert facts["os"]["sysctl"] == {"kernel.numa_balancing": "0", "vm.swappiness": "60"}
    assert facts["numa"]["balancing"] == 0
    assert facts["os"]["runtime_env"] == {
        "OMP_NUM_THREADS": "2", "KMP_AFFINITY": "granularity=fine,verbose,compact,1,0"}
    assert facts["frameworks"]["envs"] == [{"name": "pt", "backend": "venv", "ok": True}]
    assert any("broken" in e and "JSON" in e for e in facts["errors"])
    assert facts["nics"] == [
        {"name": "eth0", "speed_mbps": 25000, "operstate": "up", "pcie": None},
        {"name": "eth1", "speed_mbps": None, "operstate": "down", "pcie": None},
    ]
    assert facts["disks"] == [
        {"name": "nvme0n1", "rotational": False, "nvme": True, "size_bytes": 512000000, "pcie": None},
        {"name": "vda", "rotational": True, "nvme": False, "size_bytes": 104857600 * 512, "pcie": None},
    ]
    assert facts["tools"] == {"numactl": True, "cpupower": False, "dmidecode": False}


def test_aarch64_tree():
    facts = facts_of("aarch64")
    cpu = facts["cpu"]
    # Vendor as lscpu names the implementer (0x41); x86 ISA fields do not exist on arm: null.
    assert cpu["arch"] == "aarch64" and cpu["vendor"] == "ARM" and cpu["microarch"] is None
    assert cpu["isa"]["avx512f"] is None and cpu["fma_units"] is None and "asimd" in cpu["flags"]
    assert (cpu["sockets"], cpu["physical_cores"], cpu["online_cpus"]) == (1, 2, 2)
    assert facts["os"]["kernel"] == "6.1.0-18-arm64"


@pytest.mark.parametrize("name", ["empty-files", "does-not-exist"])
def test_empty_or_missing_tree_gives_nulls_not_a_crash(name):
    facts = facts_of(name)
    cpu = facts["cpu"]
    assert cpu["vendor"] is None and cpu["sockets"] is None and cpu["logical_cpus"] is None
    assert facts["memory"]["total_bytes"] is None and facts["os"]["thp"] is None
    assert facts["numa"]["nodes_per_socket"] is None
    assert any("cpuinfo" in e for e in facts["errors"])


def test_every_documented_key_is_present_even_on_an_empty_tree():
    facts = facts_of("empty-files")
    full = facts_of("offline-cpus")
    for section in ("cpu", "numa", "memory", "bios", "system", "power", "os", "tools", "frameworks"):
        assert set(facts[section]) == set(full[section]), section
    assert set(facts) == set(full)


def test_old_kernel_without_cpu_lists_uses_per_cpu_online_flags():
    facts = facts_of("no-online-list")
    cpu = facts["cpu"]
    assert (cpu["online_cpus"], cpu["logical_cpus"], cpu["offline_cpus"]) == (2, 3, [2])
    assert cpu["microarch"] == "zen3" and cpu["fma_units"] == 0 and cpu["physical_cores"] == 2
    assert facts["numa"]["nps"] == 1 and facts["numa"]["snc_enabled"] is None


@pytest.mark.parametrize("name", sorted(path.name for path in FIXTURES.iterdir() if path.is_dir()))
def test_trimmed_cpuinfo_gives_the_whole_files_facts(name):
    full = node_facts_from_lines(run_probe_local(FIXTURES / name, full_cpuinfo=True))
    assert facts_of(name) == full
