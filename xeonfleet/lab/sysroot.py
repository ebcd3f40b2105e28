"""Generate a Xeon-like /proc + /sys tree from a hardware profile, in the `lscpu --sysroot` layout.

The lab fleet mounts this tree over a namespaced host's /proc and /sys paths, and offline tests read
it with `--sysroot`; real tools (lscpu, numactl, dmidecode) must read it as they read a real kernel.
So every file follows the kernel's own format, and CPU numbering follows Linux on a 2S Intel box:
cpus 0..S*C-1 are thread 0 of every core, socket-major; their HT siblings follow (S*C..).

Speed matters (the lab boots 20 hosts on 2 cores): files are written with raw os.open/os.write,
no subprocesses; a 224-CPU tree takes well under 0.3 s on tmpfs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from xeonfleet.parsers import sysfs_paths as paths
from xeonfleet.node.instances import format_cpulist
from xeonfleet.knobs.thp import THP_CHOICES
from xeonfleet.lab.hardware_profile import HardwareProfile
from xeonfleet.lab.hardware_specs import BiosSpec, NumaNodeSpec, PcieLink, SystemSpec, UncoreDies
from xeonfleet.lab.smbios import build_smbios, host_bytes
from xeonfleet.parsers.numa import CXL_BUS, CXL_DAX_REGION, DEMOTION, MEMORY_TIER
from xeonfleet.parsers.cpuid import CPUID_DIR

KERNEL_MAX = 8191  # NR_CPUS - 1 of Debian/Ubuntu generic kernels
_RESERVED_PERMILLE = 15  # the kernel keeps ~1.5 % of RAM (struct pages, firmware): MemTotal < installed
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


@dataclass(frozen=True)
class LogicalCpu:
    id: int
    socket: int
    core: int  # core_id within the socket
    thread: int
    node: int
    apicid: int


def _node_of_core(hw: HardwareProfile) -> dict[tuple[int, int], int]:
    """(socket, core) -> NUMA node: each dram node takes the next `cores` cores of its socket."""
    node_of: dict[tuple[int, int], int] = {}
    taken = [0] * hw.sockets
    for node, spec in enumerate(hw.node_specs()):
        for core in range(taken[spec.socket], taken[spec.socket] + spec.cores):
            node_of[(spec.socket, core)] = node
        taken[spec.socket] += spec.cores
    return node_of


def logical_cpus(hw: HardwareProfile) -> list[LogicalCpu]:
    """All possible CPUs, numbered as Linux numbers them on Intel multi-socket servers."""
    s, c, t = hw.sockets, hw.cores_per_socket, hw.threads_per_core
    node_of = _node_of_core(hw)
    # APIC ids pack thread, core and package bit fields, each rounded up to a power of two.
    thread_bits = (t - 1).bit_length()
    core_bits = (c - 1).bit_length()
    return [
        LogicalCpu(
            id=thread * s * c + socket * c + core,
            socket=socket,
            core=core,
            thread=thread,
            node=node_of[(socket, core)],
            apicid=(socket << (core_bits + thread_bits)) | (core << thread_bits) | thread,
        )
        for thread in range(t)
        for socket in range(s)
        for core in range(c)
    ]


def format_cpumask(cpus: list[int], nbits: int) -> str:
    """The kernel's %*pb format: 32-bit hex words, most significant first, comma separated."""
    value = sum(1 << cpu for cpu in set(cpus))
    words = []
    for _ in range((nbits + 31) // 32):
        words.append(value & 0xFFFFFFFF)
        value >>= 32
    first_width = ((nbits % 32) + 3) // 4 or 8
    text = [f"{words[-1]:0{first_width}x}"] + [f"{w:08x}" for w in reversed(words[:-1])]
    return ",".join(text)


class _TreeWriter:
    """Writes text files under a root, creating each directory once."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self._dirs: set[str] = set()

    def write(self, rel: str, text: str | bytes) -> None:
        path = f"{self.root}/{rel}"
        parent = path.rpartition("/")[0]
        if parent not in self._dirs:
            os.makedirs(parent, exist_ok=True)
            self._dirs.add(parent)
        fd = os.open(path, _OPEN_FLAGS, 0o644)
        try:
            os.write(fd, text.encode() if isinstance(text, str) else text)
        finally:
            os.close(fd)

    def at_offsets(self, rel: str, chunks: dict[int, bytes]) -> None:
        """A sparse file with `chunks` written at their offsets: what pread/pwrite see of a device
        such as /dev/cpu/N/msr, whose offset is the register's address."""
        self.write(rel, b"")
        fd = os.open(f"{self.root}/{rel}", os.O_WRONLY)
        try:
            for offset, data in chunks.items():
                os.pwrite(fd, data, offset)
        finally:
            os.close(fd)

    def lines(self, rel: str, *values: object) -> None:
        """One value per line: most sysfs attributes are a single line with a newline."""
        self.write(rel, "".join(f"{v}\n" for v in values))


def build_sysroot(hw: HardwareProfile, dest: Path, hostname: str) -> None:
    """Write the /proc and /sys files a real kernel on `hw` would show, under `dest`.

    `hostname` seeds the per-machine identity (serial numbers, UUID, MAC addresses) so several
    hosts of the same profile stay distinguishable, as real machines are.
    """
    build_shared_tree(hw, dest)
    write_host_identity(hw, dest, hostname)


def build_shared_tree(hw: HardwareProfile, dest: Path) -> None:
    """Every file of the tree that is the same on all hosts of `hw`: all but `write_host_identity`'s.

    The lab builds this once per profile and lays each host's identity over it, so 1,000 hosts of
    six profiles hold six trees (~35 MB each on tmpfs) instead of 1,000.
    """
    out = _TreeWriter(Path(dest))
    cpus = logical_cpus(hw)
    online = [c for c in cpus if c.id not in hw.offline_cpus]
    node_kb = _node_mem_kb(hw)
    _write_proc(out, hw, online, sum(node_kb))
    _write_cpus(out, hw, cpus, online)
    _write_nodes(out, hw, online, node_kb)
    _write_memory_tiers(out, hw)
    _write_cxl_regions(out, hw)
    _write_mm(out, hw)
    _write_net(out, hw)
    _write_block(out, hw)
    _write_msrs(out, hw, online)
    _write_cpuid(out, hw)
    _write_uncore(out, hw)
    if hw.bios is not None and hw.system is not None:
        _write_dmi_id(out, hw.bios, hw.system)


def write_host_identity(hw: HardwareProfile, dest: Path, hostname: str) -> None:
    """The few files that tell hosts of one profile apart, seeded by `hostname`: the hostname, NIC MAC
    addresses and the SMBIOS table (serials, UUID). Under 10 kB, so it fits a host's own layer."""
    out = _TreeWriter(Path(dest))
    out.lines("proc/sys/kernel/hostname", hostname)
    for nic in hw.nics:
        host_part = host_bytes(hostname, nic.name)[:3]
        out.lines(f"{paths.NET}/{nic.name}/address", nic.mac_prefix + "".join(f":{b:02x}" for b in host_part))
    if hw.bios is not None and hw.system is not None:
        entry_point, table = build_smbios(hw, hostname)
        out.write("sys/firmware/dmi/tables/smbios_entry_point", entry_point)
        out.write("sys/firmware/dmi/tables/DMI", table)


def _node_mem_kb(hw: HardwareProfile) -> list[int]:
    """MemTotal of each NUMA node: the socket's DIMMs split evenly across its SNC/NPS nodes; a node
    without CPUs has its own memory_gb."""
    if hw.memory.total_gb is not None:
        per_socket = [hw.memory.total_gb / hw.sockets] * hw.sockets
    else:
        per_socket = [0.0] * hw.sockets
        for dimm in hw.dimm_slots():
            per_socket[dimm.socket] += dimm.size_gb
    specs = hw.node_specs()
    dram_nodes = [sum(1 for spec in specs if spec.socket == socket and spec.cores) for socket in range(hw.sockets)]
    usable = (1000 - _RESERVED_PERMILLE) / 1000
    return [  # whole 4 kB pages
        int((per_socket[spec.socket] / dram_nodes[spec.socket] if spec.cores else spec.memory_gb)
            * 1024 * 1024 * usable) // 4 * 4
        for spec in specs
    ]


def _write_proc(out: _TreeWriter, hw: HardwareProfile, online: list[LogicalCpu], mem_kb: int) -> None:
    out.write("proc/cpuinfo", _cpuinfo(hw, online))
    out.write("proc/meminfo", _meminfo(mem_kb))
    out.lines("proc/cmdline", hw.kernel.cmdline)
    out.lines("proc/sys/kernel/osrelease", hw.kernel.release)
    for key, value in hw.sysctls.items():
        out.lines(paths.sysctl(key), value)


def _cpuinfo(hw: HardwareProfile, online: list[LogicalCpu]) -> str:
    """/proc/cpuinfo, one stanza per online CPU, in the x86 show_cpuinfo() layout."""
    cpu = hw.cpu
    siblings = {s: sum(1 for c in online if c.socket == s) for s in range(hw.sockets)}
    cores = {s: len({c.core for c in online if c.socket == s}) for s in range(hw.sockets)}
    microcode = f"microcode\t: {cpu.microcode}\n" if cpu.microcode is not None else ""
    tail = (
        f"fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: {cpu.cpuid_level}\nwp\t\t: yes\n"
        f"flags\t\t: {' '.join(cpu.flag_list)}\nbugs\t\t: {cpu.bugs}\n"
        f"bogomips\t: {2 * cpu.mhz:.2f}\nclflush size\t: 64\ncache_alignment\t: 64\n"
        f"address sizes\t: {cpu.address_sizes}\npower management:\n\n"
    )
    stanzas = [
        f"processor\t: {c.id}\nvendor_id\t: {cpu.vendor}\ncpu family\t: {cpu.family}\n"
        f"model\t\t: {cpu.model}\nmodel name\t: {cpu.model_name}\nstepping\t: {cpu.stepping}\n"
        f"{microcode}cpu MHz\t\t: {cpu.mhz:.3f}\ncache size\t: {cpu.cache_kb} KB\n"
        f"physical id\t: {c.socket}\nsiblings\t: {siblings[c.socket]}\ncore id\t\t: {c.core}\n"
        f"cpu cores\t: {cores[c.socket]}\napicid\t\t: {c.apicid}\ninitial apicid\t: {c.apicid}\n" + tail
        for c in sorted(online, key=lambda c: c.id)
    ]
    return "".join(stanzas)


def _kb_line(key: str, kb: int) -> str:
    return f"{key + ':':<16}{kb:>8} kB\n"


def _meminfo(total_kb: int) -> str:
    """A plausible idle server: little used, no swap, no preallocated huge pages."""
    free = total_kb * 96 // 100
    cached = total_kb * 2 // 100
    fields = [
        ("MemTotal", total_kb), ("MemFree", free), ("MemAvailable", free + cached),
        ("Buffers", total_kb // 500), ("Cached", cached), ("SwapCached", 0),
        ("Active", total_kb // 100), ("Inactive", cached), ("SwapTotal", 0), ("SwapFree", 0),
        ("Dirty", 0), ("AnonPages", total_kb // 200), ("Shmem", 0), ("AnonHugePages", 0),
    ]
    text = "".join(_kb_line(k, v) for k, v in fields)
    text += "HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\n"
    text += "HugePages_Surp:        0\n" + _kb_line("Hugepagesize", 2048) + _kb_line("Hugetlb", 0)
    return text


def _write_cpus(out: _TreeWriter, hw: HardwareProfile, cpus: list[LogicalCpu], online: list[LogicalCpu]) -> None:
    ids = [c.id for c in cpus]
    online_ids = [c.id for c in online]
    base = paths.CPU
    out.lines(f"{base}/possible", format_cpulist(ids))
    out.lines(f"{base}/present", format_cpulist(ids))
    out.lines(f"{base}/online", format_cpulist(online_ids))
    out.lines(f"{base}/offline", format_cpulist(hw.offline_cpus))
    out.lines(f"{base}/kernel_max", KERNEL_MAX)
    smt_on = hw.threads_per_core > 1
    out.lines(f"{base}/smt/active", int(smt_on))
    out.lines(f"{base}/smt/control", "on" if smt_on else "notsupported")
    _write_global_power(out, hw, base)
    # Offline CPUs keep only their `online` file: the kernel removes their topology, cpufreq
    # and cpuidle directories (and cpu0 has no `online` file since it cannot be unplugged).
    online_set = set(online_ids)
    for c in cpus:
        if c.id:
            out.lines(f"{base}/cpu{c.id}/online", int(c.id in online_set))
    _write_topology(out, base, online, len(cpus))
    per_cpu_power = _per_cpu_power_files(hw)
    for cpu_id in online_ids:
        for rel, text in per_cpu_power:
            out.write(f"{base}/cpu{cpu_id}/{rel}", text)


def _write_topology(out: _TreeWriter, base: str, online: list[LogicalCpu], nbits: int) -> None:
    """topology/: ids plus sibling sets, each as a mask (lscpu reads these) and as a list."""
    cores: dict[tuple[int, int], list[int]] = {}
    packages: dict[int, list[int]] = {}
    for c in online:
        cores.setdefault((c.socket, c.core), []).append(c.id)
        packages.setdefault(c.socket, []).append(c.id)
    core_text = {k: (format_cpumask(v, nbits), format_cpulist(v)) for k, v in cores.items()}
    package_text = {k: (format_cpumask(v, nbits), format_cpulist(v)) for k, v in packages.items()}
    for c in online:
        d = f"{base}/cpu{c.id}/topology"
        out.lines(f"{d}/physical_package_id", c.socket)
        out.lines(f"{d}/core_id", c.core)
        out.lines(f"{d}/die_id", 0)
        threads, package = core_text[(c.socket, c.core)], package_text[c.socket]
        for name, (mask, cpulist) in (("thread_siblings", threads), ("core_cpus", threads),
                                      ("core_siblings", package), ("package_cpus", package),
                                      ("die_cpus", package)):
            out.lines(f"{d}/{name}", mask)
            out.lines(f"{d}/{name}_list", cpulist)


def _per_cpu_power_files(hw: HardwareProfile) -> list[tuple[str, str]]:
    """cpufreq, EPB and cpuidle files: identical on every online CPU, so built once."""
    power = hw.power
    files: list[tuple[str, str]] = []
    if hw.has_cpufreq:
        turbo = power.turbo_enabled or power.base_khz == 0
        max_khz = power.max_khz if turbo else power.base_khz  # the kernel drops turbo from the range
        freq = {
            paths.SCALING_DRIVER: power.driver,
            paths.GOVERNOR: power.governor,
            paths.GOVERNORS_AVAILABLE: power.governors_available,
            "cpufreq/cpuinfo_min_freq": power.min_khz,
            "cpufreq/cpuinfo_max_freq": max_khz,
            "cpufreq/scaling_min_freq": power.min_khz,
            "cpufreq/scaling_max_freq": max_khz,
            "cpufreq/scaling_cur_freq": max_khz if power.governor == "performance" else power.min_khz,
        }
        if power.base_khz:
            freq["cpufreq/base_frequency"] = power.base_khz
        if power.epp is not None:
            freq[paths.EPP] = power.epp
            freq[paths.EPP_AVAILABLE] = power.epp_available
        files += [(leaf, f"{v}\n") for leaf, v in freq.items()]
    if power.epb is not None:
        files.append((paths.EPB, f"{power.epb}\n"))
    for index, state in enumerate(power.cstates):
        attrs = {"name": state.name, "desc": state.desc, "latency": state.latency,
                 "residency": state.residency, "disable": int(state.disabled),
                 "usage": 0 if state.disabled else 1000 * (index + 1), "time": 0}
        files += [(paths.cstate(index, k), f"{v}\n") for k, v in attrs.items()]
    return files


def _write_global_power(out: _TreeWriter, hw: HardwareProfile, base: str) -> None:
    power = hw.power
    if power.cpuidle_driver is not None:
        out.lines(paths.CPUIDLE_DRIVER, power.cpuidle_driver)
        out.lines(f"{base}/cpuidle/current_governor_ro", power.cpuidle_governor)
        out.lines(f"{base}/cpuidle/current_governor", power.cpuidle_governor)
    if power.driver == "intel_pstate":
        pstate = f"{base}/intel_pstate"
        out.lines(paths.PSTATE_STATUS, power.pstate_status or "active")
        out.lines(paths.NO_TURBO, power.no_turbo or 0)
        out.lines(f"{pstate}/max_perf_pct", 100)
        out.lines(f"{pstate}/min_perf_pct", power.min_khz * 100 // power.max_khz)
        out.lines(f"{pstate}/hwp_dynamic_boost", 0)
        out.lines(f"{pstate}/turbo_pct", (power.max_khz - power.base_khz) * 100 // power.max_khz)
    if power.boost is not None:
        out.lines(paths.BOOST, power.boost)


def _write_nodes(out: _TreeWriter, hw: HardwareProfile, online: list[LogicalCpu], node_kb: list[int]) -> None:
    base = paths.NODE
    specs = hw.node_specs()
    every = format_cpulist(list(range(hw.numa_nodes)))
    with_cpus = format_cpulist([node for node, spec in enumerate(specs) if spec.cores])
    with_memory = format_cpulist([n for n, kb in enumerate(node_kb) if kb])
    for name, value in (("online", every), ("possible", every), ("has_cpu", with_cpus),
                        ("has_memory", with_memory), ("has_normal_memory", with_memory)):
        out.lines(f"{base}/{name}", value)
    nbits = hw.logical_cpus
    for node in range(hw.numa_nodes):
        members = [c.id for c in online if c.node == node]
        d = f"{base}/node{node}"
        out.lines(f"{d}/cpulist", format_cpulist(members))
        out.lines(f"{d}/cpumap", format_cpumask(members, nbits))
        out.lines(f"{d}/distance", " ".join(str(_distance(specs, node, other)) for other in range(hw.numa_nodes)))
        out.write(f"{d}/meminfo", _node_meminfo(node, node_kb[node]))


def _distance(specs: list[NumaNodeSpec], a: int, b: int) -> int:
    """SLIT distances as Intel firmware reports them: local 10, same socket (SNC) 12, remote 21. Memory
    without CPUs: 14 from its socket, 24 from the other (the lab's choice: nearer than the other socket's
    DRAM, as firmware places it; real tables vary)."""
    if a == b:
        return 10
    same_socket = specs[a].socket == specs[b].socket
    if specs[a].cores and specs[b].cores:
        return 12 if same_socket else 21
    return 14 if same_socket else 24


def _write_memory_tiers(out: _TreeWriter, hw: HardwareProfile) -> None:
    """memory_tierN/nodelist for every tier in use and demotion_enabled, on kernels that have them."""
    if hw.memory_tiering is None:
        return
    tiers: dict[int, list[int]] = {}
    for node, spec in enumerate(hw.node_specs()):
        tiers.setdefault(spec.default_tier, []).append(node)
    for tier, nodes in tiers.items():
        out.lines(f"{MEMORY_TIER}{tier}/nodelist", format_cpulist(nodes))
    out.lines(DEMOTION, "true" if hw.memory_tiering.demotion_enabled else "false")


def _write_cxl_regions(out: _TreeWriter, hw: HardwareProfile) -> None:
    """One CXL RAM region per cxl node, onlined through its DAX device into that node
    (Documentation/driver-api/cxl/linux/cxl-driver.rst: regionZ, dax_regionZ/daxZ.0/target_node)."""
    cxl = [(node, spec) for node, spec in enumerate(hw.node_specs()) if spec.kind == "cxl"]
    for region, (node, spec) in enumerate(cxl):
        d = f"{CXL_BUS}region{region}"
        out.lines(f"{d}/mode", "ram")
        out.lines(f"{d}/size", hex(spec.memory_gb * 2**30))
        out.lines(f"{d}/interleave_ways", 1)
        out.lines(f"{CXL_DAX_REGION}{region}/dax{region}.0/target_node", node)


def _node_meminfo(node: int, total_kb: int) -> str:
    free = total_kb * 96 // 100
    fields = [("MemTotal", total_kb), ("MemFree", free), ("MemUsed", total_kb - free),
              ("Active", total_kb // 100), ("Inactive", total_kb // 50), ("FilePages", total_kb // 50),
              ("AnonPages", total_kb // 200), ("AnonHugePages", 0)]
    text = "".join(f"Node {node} {_kb_line(k, v)}" for k, v in fields)
    hugepages = ("HugePages_Total", "HugePages_Free", "HugePages_Surp")
    return text + "".join(f"Node {node} {k}: {0:>5}\n" for k in hugepages)


def _write_mm(out: _TreeWriter, hw: HardwareProfile) -> None:
    """THP in the kernel's "always [madvise] never" format: the active choice in brackets."""
    for name, current in (("enabled", hw.thp.enabled), ("defrag", hw.thp.defrag)):
        out.lines(f"{paths.THP_DIR}/{name}", " ".join(f"[{c}]" if c == current else c for c in THP_CHOICES[name]))


def _write_net(out: _TreeWriter, hw: HardwareProfile) -> None:
    for index, nic in enumerate(hw.nics):
        d = f"{paths.NET}/{nic.name}"
        out.lines(f"{d}/speed", nic.speed if nic.operstate == "up" else -1)
        out.lines(f"{d}/operstate", nic.operstate)
        out.lines(f"{d}/mtu", nic.mtu)
        out.lines(f"{d}/type", 1)  # ARPHRD_ETHER
        # A device/ link is what tells a physical NIC from lo, bridges and veths.
        out.lines(f"{d}/device/uevent", f"PCI_SLOT_NAME=0000:{0x17 + index:02x}:00.0")
        if nic.pcie is not None:
            _write_pcie_link(out, f"{d}/device", nic.pcie)


def _write_block(out: _TreeWriter, hw: HardwareProfile) -> None:
    for disk in hw.disks:
        d = f"sys/block/{disk.name}"
        out.lines(f"{d}/size", disk.size_gb * 10**9 // 512)  # 512-byte sectors, vendor GB
        out.lines(f"{d}/queue/rotational", int(disk.rotational))
        out.lines(f"{d}/device/model", "NVMe SSD" if disk.name.startswith("nvme") else "SATA SSD")
        if disk.pcie is not None and disk.name.startswith("nvme"):
            _write_pcie_link(out, paths.nvme_device(disk.name), disk.pcie)


def _write_pcie_link(out: _TreeWriter, device_dir: str, link: PcieLink) -> None:
    """The PCI device's link attributes, in the kernel's "16.0 GT/s PCIe" format."""
    values = {"current_link_speed": f"{link.speed_gts:.1f} GT/s PCIe", "current_link_width": link.width,
              "max_link_speed": f"{link.max_speed_gts:.1f} GT/s PCIe", "max_link_width": link.max_width,
              "numa_node": link.numa_node}
    for name in paths.PCIE_LINK:
        out.lines(f"{device_dir}/{name}", values[name])


def _write_msrs(out: _TreeWriter, hw: HardwareProfile, online: list[LogicalCpu]) -> None:
    """/dev/cpu/N/msr of every online CPU: each register's 8 little-endian bytes at its address."""
    if not hw.msrs:
        return
    chunks = {int(address, 16): int(value, 16).to_bytes(8, "little") for address, value in hw.msrs.items()}
    for cpu in online:
        out.at_offsets(paths.msr_device(cpu.id), chunks)


def _write_cpuid(out: _TreeWriter, hw: HardwareProfile) -> None:
    """CPU 0's CPUID leaves as a snapshot stores them: one text file "EAX EBX ECX EDX" per leaf. Text, not a
    device stand-in like the MSR files: nothing writes CPUID, and the probe reads both forms."""
    for leaf, registers in hw.cpuid.items():
        out.lines(f"{CPUID_DIR}/{leaf}", registers)


def _write_uncore_limits(out: _TreeWriter, name: str, initial: tuple[int, int], current: tuple[int, int]) -> None:
    for prefix, (low, high) in (("initial_", initial), ("", current)):
        out.lines(paths.uncore_die(name, f"{prefix}min_freq_khz"), low)
        out.lines(paths.uncore_die(name, f"{prefix}max_freq_khz"), high)


def _limits(dies: UncoreDies) -> tuple[tuple[int, int], tuple[int, int]]:
    """(initial, current) (min, max) kHz of a kind of die; an unset current limit is the initial one."""
    return ((dies.initial_min_khz, dies.initial_max_khz),
            (dies.min_khz or dies.initial_min_khz, dies.max_khz or dies.initial_max_khz))


def _write_tpmi_die(out: _TreeWriter, name: str, package: int, domain: int, die: UncoreDies) -> None:
    """One uncoreNN directory: limits, the die's ids (one fabric cluster per domain), agents, ELC."""
    _write_uncore_limits(out, name, *_limits(die))
    for leaf, value in (("package_id", package), ("domain_id", domain), ("fabric_cluster_id", 0)):
        out.lines(paths.uncore_die(name, leaf), value)
    if die.agent_types:  # the kernel ends every agent with a space (show_agent_types)
        out.lines(paths.uncore_die(name, "agent_types"), "".join(f"{a} " for a in die.agent_types.split()))
    if die.elc:
        elc = (die.elc.floor_khz, die.elc.low_threshold_percent, die.elc.high_threshold_percent,
               int(die.elc.high_threshold_enable))
        for leaf, value in zip(paths.UNCORE_ELC, elc):
            out.lines(paths.uncore_die(name, leaf), value)


def _span(pairs: list[tuple[int, int]]) -> tuple[int, int]:
    return min(low for low, _ in pairs), max(high for _, high in pairs)


def _write_uncore(out: _TreeWriter, hw: HardwareProfile) -> None:
    """intel_uncore_frequency: the MSR driver's package_PP_die_DD per die, or (layout tpmi) the TPMI
    driver's uncoreNN per die, numbered package by package and within one compute dies then I/O dies
    (what pepc's guide-uncore.md shows on Granite Rapids), plus its package_PP_die_00 aggregate per
    package (lowest min, highest max of the package's dies: uncore-frequency-tpmi.c root_domain)."""
    uncore = hw.uncore
    if uncore is None:
        return
    if uncore.layout == "package_die":
        for package in range(hw.sockets):
            for die in range(uncore.dies_per_package):
                _write_uncore_limits(out, paths.uncore_package_die(package, die), *_limits(uncore))
        return
    kinds = [uncore] + ([uncore.io] if uncore.io else [])
    dies = [kind for kind in kinds for _ in range(kind.dies_per_package)]
    for package in range(hw.sockets):
        for domain, die in enumerate(dies):
            _write_tpmi_die(out, paths.uncore_tpmi_die(package * len(dies) + domain), package, domain, die)
        limits = [_limits(die) for die in dies]
        _write_uncore_limits(out, paths.uncore_package_die(package, 0),
                             _span([initial for initial, _ in limits]), _span([current for _, current in limits]))


def _write_dmi_id(out: _TreeWriter, bios: BiosSpec, system: SystemSpec) -> None:
    """The kernel's parsed copy of the SMBIOS table in /sys/class/dmi/id (the raw table, which holds the
    serials, is per host: see write_host_identity)."""
    dmi = "sys/class/dmi/id"
    for name, value in (("bios_vendor", bios.vendor), ("bios_version", bios.version),
                        ("bios_date", bios.date), ("sys_vendor", system.manufacturer),
                        ("product_name", system.product), ("product_family", system.family)):
        out.lines(f"{dmi}/{name}", value)
