"""/proc as the kernel shows it: cpuinfo (x86 show_cpuinfo layout), meminfo, cmdline, the kernel release and
the profile's sysctls."""

from __future__ import annotations

from xeonfleet.lab.hardware_profile import HardwareProfile
from xeonfleet.lab.sysroot_cpus import LogicalCpu
from xeonfleet.lab.sysroot_writer import TreeWriter
from xeonfleet.parsers import sysfs_paths as paths


def write_proc(out: TreeWriter, hw: HardwareProfile, online: list[LogicalCpu], mem_kb: int) -> None:
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


def kb_line(key: str, kb: int) -> str:
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
    text = "".join(kb_line(k, v) for k, v in fields)
    text += "HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\n"
    text += "HugePages_Surp:        0\n" + kb_line("Hugepagesize", 2048) + kb_line("Hugetlb", 0)
    return text
