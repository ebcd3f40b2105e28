"""Time booting a lab of N hosts and measure what each host costs in memory.

Boots in a temp lab dir on free ports, so a running user lab is untouched; prints the seconds
for the first boot, an idempotent second `up`, and `down`, then downs the lab even on failure.
Memory per host, three ways (the machine is shared, so no single figure is exact):
  tmpfs     bytes used on the lab's trees tmpfs (the generated /proc + /sys), divided by N; split
            into the shared trees (one per hardware profile) and the hosts' own layers;
  pss       proportional set size of each host's processes (`unshare` and its sshd), averaged;
  avail     the drop of MemAvailable from before the boot to after it, divided by N (everything:
            tmpfs, processes, kernel namespaces and mounts; others' work on the machine adds noise).
The 1-minute load average is printed too: on a shared 2-core VM it explains most of the spread.

    .venv/bin/python perf/lab_boot.py [--hosts 20] [--hardware NAME ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from xeonfleet.lab.errors import LabError
from xeonfleet.lab.fleet import DEFAULT_HARDWARE, Lab
from xeonfleet.lab.hosts import LabHost
from xeonfleet.lab.ports import find_free_port_base

MB = 1024 * 1024


def mem_available() -> int:
    """MemAvailable in bytes."""
    line = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemAvailable:"))
    return int(line.split()[1]) * 1024


def tmpfs_used(path: Path) -> int:
    """Bytes in use on the filesystem at `path` (0 when the lab has no trees mount)."""
    if not os.path.ismount(path):
        return 0
    stat = os.statvfs(path)
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize


def disk_usage(top: Path) -> int:
    """Bytes allocated under `top` (st_blocks, as du counts), not following mounts or links."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


def _host_pids(host: LabHost) -> list[int]:
    """A host's `unshare` and its direct children (the sshd that serves the host's sessions)."""
    pids = [host.pid]
    try:
        pids += [int(pid) for pid in Path(f"/proc/{host.pid}/task/{host.pid}/children").read_text().split()]
    except OSError:
        pass
    return pids


def hosts_cpu_seconds(hosts: list[LabHost]) -> float:
    """CPU seconds the hosts' processes used so far, ended sessions included (sshd reaps each session, so its
    time lands in sshd's cutime/cstime): the difference across a tool's run is the node-side work of that run.
    The lab's nodes share this machine's cores with the controller, so this work is on the same clock."""
    ticks = 0
    for host in hosts:
        for pid in _host_pids(host):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def host_pss(host: LabHost) -> int:
    """PSS in bytes of a host's `unshare` and of every process in its PID namespace."""
    total = 0
    for pid in _host_pids(host):
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(line.split()[1]) * 1024 for line in rollup if line.startswith("Pss:"))
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--hardware", action="append", help="profile, repeatable (default: the standard mix)")
    args = parser.parse_args()
    hardware = args.hardware or list(DEFAULT_HARDWARE)

    with tempfile.TemporaryDirectory(prefix="xeonfleet-lab-bench-") as tmp:
        lab = Lab(tmp)
        try:
            base = find_free_port_base(args.hosts, 25000)
            avail_before = mem_available()
            start = time.monotonic()
            statuses = lab.up(args.hosts, hardware, base)
            boot_s = time.monotonic() - start
            failed = [f"{s.host.name}: {s.error}" for s in statuses if not s.answering]
            if failed:
                print(f"lab_boot: {len(failed)} hosts did not boot: {'; '.join(failed[:5])}", file=sys.stderr)
                return 1
            avail_drop = avail_before - mem_available()
            tmpfs = tmpfs_used(lab.trees_dir)
            layers = sum(disk_usage(host.tree_dir.with_name("upper")) for host in lab.hosts)
            pss = sum(host_pss(host) for host in lab.hosts)
            start = time.monotonic()
            lab.up(args.hosts, hardware, base)
            again_s = time.monotonic() - start
        except LabError as exc:
            print(f"lab_boot: {exc}", file=sys.stderr)
            return 2
        finally:
            start = time.monotonic()
            lab.down()
            down_s = time.monotonic() - start
    count = args.hosts
    print(f"hosts={count} hardware={','.join(hardware)} load_1min={os.getloadavg()[0]:.1f}")
    print(f"boot_s={boot_s:.2f} up_again_s={again_s:.2f} down_s={down_s:.2f} boot_ms_per_host={boot_s / count * 1000:.0f}")
    print(f"trees tmpfs {tmpfs / MB:.0f} MB: shared trees {(tmpfs - layers) / MB:.0f} MB, "
          f"host layers {layers / MB:.1f} MB")
    print(f"per host: tmpfs={tmpfs / count / MB:.2f} MB (own layer {layers / count / 1024:.0f} kB)  "
          f"pss={pss / count / MB:.2f} MB  avail_drop={avail_drop / count / MB:.2f} MB  "
          f"(total avail_drop {avail_drop / MB:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
