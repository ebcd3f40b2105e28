"""Hardware profiles: every shipped profile loads, is self-consistent, and bad ones fail in one clear line."""

from pathlib import Path

import pytest

from xeonfleet.parsers.cpuid import decode, merge_isa, parse_leaves
from xeonfleet.lab.hardware import HardwareProfileError, list_hardware, load_hardware
from xeonfleet.lab.hardware_profile import HardwareProfile

REQUIRED = {"icx-8380-2s", "icx-8380-2s-mistuned", "clx-6248-2s", "spr-8480-2s", "epyc-7763-2s", "cloud-vm"}


def write_profile(tmp_path: Path, text: str, name: str = "custom.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_required_profiles_are_shipped() -> None:
    assert REQUIRED <= set(list_hardware())


@pytest.mark.parametrize("name", list_hardware())
def test_profile_expectations_agree_with_its_data(name: str) -> None:
    """The expect: block is what the fact collectors are tested against, so it must match the data."""
    hw = load_hardware(name)
    expect = hw.expect
    assert isinstance(hw, HardwareProfile) and hw.name == name
    assert expect["cpu.sockets"] == hw.sockets
    assert expect["cpu.cores_per_socket"] == hw.cores_per_socket
    assert expect["cpu.threads_per_core"] == hw.threads_per_core
    assert expect["cpu.logical_cpus"] == hw.logical_cpus
    assert expect["cpu.physical_cores"] == hw.sockets * hw.cores_per_socket
    assert expect["cpu.vendor"] == hw.cpu.vendor
    assert expect["numa.node_count"] == hw.numa_nodes
    assert expect["numa.nodes_per_socket"] == hw.nodes_per_socket
    assert expect["bios.vendor"] == (hw.bios.vendor if hw.bios else None)
    assert expect["power.driver"] == hw.power.driver
    assert expect["power.governor"] == (hw.power.governor if hw.has_cpufreq else None)
    assert expect["power.turbo_enabled"] == (hw.power.turbo_enabled if hw.has_cpufreq else None)
    assert expect["os.thp"] == hw.thp.enabled
    slots = hw.dimm_slots() if hw.has_dmi else []
    assert expect["memory.slots"] == (len(slots) if hw.has_dmi else None)  # no DMI: cannot tell
    if slots:
        populated = [s for s in slots if s.size_gb]
        assert expect["memory.populated"] == len(populated)
        per_socket = {str(k): len({s.channel for s in populated if s.socket == k}) for k in range(hw.sockets)}
        assert expect["memory.populated_channels"] == per_socket
    cpuid = decode(parse_leaves({name: [regs] for name, regs in hw.cpuid.items()}, [])) if hw.cpuid else None
    isa, _ = merge_isa(hw.cpu.flag_list, cpuid)
    for key, wanted in expect.items():
        if key.startswith("cpu.isa."):
            assert isa[key.removeprefix("cpu.isa.")] == wanted, key  # from the flags line, or CPUID where it says more
    if "numa.balancing" in expect:
        assert str(expect["numa.balancing"]) == hw.sysctls["kernel.numa_balancing"]


@pytest.mark.parametrize("name", list_hardware())
def test_flags_are_a_real_cpuinfo_list(name: str) -> None:
    flags = load_hardware(name).cpu.flag_list
    assert len(flags) == len(set(flags)), "duplicate flags"
    assert {"fpu", "sse2", "avx2", "fma", "lm"} <= set(flags)


def test_interface_attributes_other_helpers_use() -> None:
    hw = load_hardware("icx-8380-2s")
    assert (hw.sockets, hw.cores_per_socket, hw.threads_per_core, hw.numa_nodes) == (2, 40, 2, 2)
    assert hw.has_dmi and hw.has_cpufreq
    assert hw.sysctls["kernel.numa_balancing"] == "0"
    assert all(isinstance(v, str) for v in hw.sysctls.values())


def test_mistuned_differs_from_compliant_where_the_guide_cares() -> None:
    good, bad = load_hardware("icx-8380-2s"), load_hardware("icx-8380-2s-mistuned")
    assert (good.numa_nodes, bad.numa_nodes) == (2, 4)
    assert (good.power.governor, bad.power.governor) == ("performance", "powersave")
    assert (good.power.turbo_enabled, bad.power.turbo_enabled) == (True, False)
    assert [c.disabled for c in good.power.cstates if c.name in ("C1E", "C6")] == [True, True]
    assert [c.disabled for c in bad.power.cstates if c.name in ("C1E", "C6")] == [False, False]
    assert sum(1 for s in bad.dimm_slots() if s.size_gb) == 12
    assert bad.power.epp == "balance_power" and bad.sysctls["kernel.numa_balancing"] == "1"
    assert bad.cpu == good.cpu and bad.bios == good.bios  # same box, only its settings differ


def test_cloud_vm_has_no_cpufreq_no_dmi_and_says_hypervisor() -> None:
    hw = load_hardware("cloud-vm")
    assert not hw.has_cpufreq and not hw.has_dmi and hw.numa_nodes == 1
    assert "hypervisor" in hw.cpu.flag_list and hw.power.cpuidle_driver == "haltpoll"
    assert hw.installed_gb == 32


def test_dimm_locators_name_socket_channel_and_slot() -> None:
    slots = load_hardware("clx-6248-2s").dimm_slots()
    assert [s.locator for s in slots[:4]] == ["CPU0_DIMM_A1", "CPU0_DIMM_A2", "CPU0_DIMM_B1", "CPU0_DIMM_B2"]
    assert slots[-1].locator == "CPU1_DIMM_F2" and slots[-1].bank == "NODE 1"
    assert [s.size_gb for s in slots[:2]] == [32, 0]  # 1DPC: the second slot stays empty


def test_load_by_path_and_include_override(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "include: icx-8380-2s\nsockets: 1\npower: {governor: powersave}\n")
    hw = load_hardware(path)
    assert hw.name == "custom" and hw.sockets == 1 and hw.power.governor == "powersave"
    assert hw.power.epp == "performance"  # untouched keys come from the parent


def test_unknown_name_lists_known_profiles() -> None:
    with pytest.raises(HardwareProfileError, match="unknown hardware profile 'icx-9999'.*icx-8380-2s"):
        load_hardware("icx-9999")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("cores_per_sockets: 4\n", 2, r"cores_per_sockets: unknown key; did you mean 'cores_per_socket'\?"),
        ("sockets: two\n", 2, r"sockets: expected int, got 'two'; write an integer"),
        ("sockets: 0\n", 2, r"sockets: must be >= 1, got 0; use a positive count"),
        ("cpu: {family: true}\n", 2, r"cpu\.family: expected int, got True"),
        ("power: {governor: ondemand}\n", 2, r"power\.governor: 'ondemand' is not in governors_available"),
        ("nodes_per_socket: 3\n", 2, r"nodes_per_socket: 3 does not divide 40 cores"),
        ("memory: {populated: ABZ}\n", 2, r"memory\.populated: channels Z do not exist"),
        ("offline_cpus: [0]\n", 2, r"offline_cpus: CPU 0 is not in 1\.\.159"),
        ("sysctls: {swappiness: '10'}\n", 2, r"sysctls\.swappiness: is not a dotted sysctl name"),
        ("sysctls:\n  vm.swappiness: 10\n  vm.dirty_ratio: [5]\n", 4, r"sysctls\.vm\.dirty_ratio: expected a string"),
        ("thp: {enabled: sometimes}\n", 2, r"thp\.enabled: 'sometimes' is not a kernel choice"),
        ("bios: null\n", 2, r"bios: bios and system must be given together"),
        ("msrs: {'0x1a4': 0x0}\n", 2, r"msrs\.0x1a4: '0' is not a 64-bit hex number"),
        ("uncore: {initial_min_khz: 5, initial_max_khz: 1}\n", 2, r"uncore: initial_min_khz must be > 0 and <="),
        ("nics:\n  - name: eth0\n    speed: 1000\n    pcie: {speed_gts: fast}\n", 5,
         r"nics\[0\]\.pcie\.speed_gts: expected float, got 'fast'"),
        # The typo is named, not the key it left missing.
        ("power:\n  cstates:\n    - {name: C1, descr: x, latency: 1, residency: 1}\n", 4,
         r"power\.cstates\[0\]\.descr: unknown key; did you mean 'desc'\?"),
        ("power:\n  cstates:\n    - {name: C1, latency: 1, residency: 1}\n", 4,
         r"power\.cstates\[0\]\.desc: missing; add it"),
        # numa_layout: uneven splits and CPU-less memory, each mistake named at its key.
        ("numa_layout:\n  - {socket: 0, cores: 40}\n  - {socket: 1, cores: 39}\n", 2,
         r"numa_layout: the dram nodes of socket 1 hold 39 cores, cores_per_socket is 40; make them add up"),
        ("numa_layout:\n  - {socket: 0, cores: 40}\n  - {socket: 2, cores: 40}\n", 4,
         r"numa_layout\[1\]\.socket: socket 2 does not exist; use sockets 0\.\.1"),
        ("numa_layout:\n  - {socket: 0, cores: 40}\n  - {socket: 1, cores: 40}\n  - {kind: cxl}\n", 5,
         r"numa_layout\[2\]: a cxl node has no CPUs and needs memory_gb >= 1; set memory_gb and drop cores"),
        ("numa_layout:\n  - {socket: 0, cores: 40, memory_gb: 8}\n  - {socket: 1, cores: 40}\n", 3,
         r"numa_layout\[0\]: a dram node needs cores >= 1 and takes its memory from its socket's DIMMs"),
        ("numa_layout:\n  - {socket: 0, cores: 40}\n  - {socket: 1, cores: 40}\n"
         "  - {kind: cxl, memory_gb: 64, memory_tier: 22}\n", 5,
         r"numa_layout\[2\]\.memory_tier: needs the kernel's memory tiers; add memory_tiering"),
        ("numa_layout:\n  - {socket: 0, cores: 40}\n  - {socket: 1, cores: 40}\n  - {kind: pmem, memory_gb: 64}\n",
         5, r"numa_layout\[2\]\.kind: literal error"),
        ("nodes_per_socket: 2\nnuma_layout:\n  - {socket: 0, cores: 40}\n  - {socket: 1, cores: 40}\n", 2,
         r"nodes_per_socket: socket 0 has 1 dram nodes in numa_layout; make them agree"),
    ],
)
def test_bad_values_fail_with_file_line_key_and_fix(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write_profile(tmp_path, "include: icx-8380-2s\n" + text)
    with pytest.raises(HardwareProfileError, match=message) as info:
        load_hardware(path)
    assert str(info.value).startswith(f"{path}:{line}: ") and "\n" not in str(info.value)


def test_error_names_the_file_of_the_include_chain_that_holds_the_key(tmp_path: Path) -> None:
    """A child can make its parent's value wrong: the line is where that value is written."""
    parent = write_profile(tmp_path, "include: icx-8380-2s\ndescription: snc4\nnodes_per_socket: 4\n", "snc4.yaml")
    child = write_profile(tmp_path, f"include: {parent}\ncores_per_socket: 6\n", "small.yaml")
    with pytest.raises(HardwareProfileError, match=rf"^{parent}:3: nodes_per_socket: 4 does not divide 6 cores"):
        load_hardware(child)


def test_missing_key_and_broken_yaml_and_cycle(tmp_path: Path) -> None:
    with pytest.raises(HardwareProfileError, match=r"custom\.yaml:1: cpu: missing; add it"):
        load_hardware(write_profile(tmp_path, "description: x\nsockets: 1\ncores_per_socket: 1\n"
                                    "threads_per_core: 1\nnodes_per_socket: 1\n"))
    with pytest.raises(HardwareProfileError, match=r"broken\.yaml:\d+: cannot read YAML"):
        load_hardware(write_profile(tmp_path, "sockets: [1,\n", "broken.yaml"))
    with pytest.raises(HardwareProfileError, match="does not exist"):
        load_hardware(tmp_path / "absent.yaml")
    loop = write_profile(tmp_path, f"include: {tmp_path / 'loop.yaml'}\n", "loop.yaml")
    with pytest.raises(HardwareProfileError, match="loops back"):
        load_hardware(loop)


def test_numa_layout_allows_uneven_splits_and_cpu_less_nodes(tmp_path: Path) -> None:
    """nodes_per_socket alone must divide the cores; an explicit layout may not (SNC3 on 128 cores)."""
    path = write_profile(tmp_path, "include: icx-8380-2s\nnodes_per_socket: 3\nnuma_layout:\n"
                         "  - {socket: 0, cores: 14}\n  - {socket: 0, cores: 13}\n  - {socket: 0, cores: 13}\n"
                         "  - {socket: 1, cores: 14}\n  - {socket: 1, cores: 13}\n  - {socket: 1, cores: 13}\n"
                         "  - {socket: 1, kind: hbm, memory_gb: 64, memory_tier: 3}\nmemory_tiering: {}\n")
    hw = load_hardware(path)
    assert hw.numa_nodes == 7 and [n.cores for n in hw.node_specs()] == [14, 13, 13, 14, 13, 13, 0]
    assert [n.default_tier for n in hw.node_specs()] == [4] * 6 + [3]
    assert hw.memory_tiering is not None and hw.memory_tiering.demotion_enabled is False
    even = load_hardware("icx-8380-2s-mistuned").node_specs()  # no layout: nodes_per_socket splits evenly
    assert [(n.socket, n.cores, n.kind) for n in even] == [(0, 20, "dram"), (0, 20, "dram"), (1, 20, "dram"),
                                                           (1, 20, "dram")]
