"""CPU numbering and /sys/devices/system/cpu: topology, SMT, online/offline, cpufreq, intel_pstate, EPB
and cpuidle, in the kernel's formats.

CPU numbering follows Linux on a 2S Intel box: cpus 0..S*C-1 are thread 0 of every core, socket-major;
their HT siblings follow (S*C..). The other writers (proc, nodes, MSRs) place CPUs by this numbering.
"""

from __future__ import annotations

from dataclasses import dataclass

from xeonfleet.lab.hardware_profile import HardwareProfile
from xeonfleet.lab.sysroot_writer import TreeWriter
from xeonfleet.node.instances import format_cpulist
from xeonfleet.parsers import sysfs_paths as paths

KERNEL_MAX = 8191  # NR_CPUS - 1 of Debian/Ubuntu generic kernels


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



def write_cpus(out: TreeWriter, hw: HardwareProfile, cpus: list[LogicalCpu], online: list[LogicalCpu]) -> None:
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


def _write_topology(out: TreeWriter, base: str, online: list[LogicalCpu], nbits: int) -> None:
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


def _write_global_power(out: TreeWriter, hw: HardwareProfile, base: str) -> None:
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
