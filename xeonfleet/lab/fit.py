"""Whether more lab hosts fit on this machine, checked before anything is built or booted.

A lab that does not fit must not start half-way and then fail with ENOSPC or a fork error on host 400:
`lab up` reads what is left (memory, the trees tmpfs, the lab dir's filesystem, pids, open files), and
refuses in one line naming the first limit that is short and how to lift it. The per-host costs start
from perf/lab_boot.py's figures (2-core, 24 GiB VM: ~3.9 MB of RAM per idle host at 200 hosts, shared
trees included; 1,000 hosts booted) and allow for one SSH session per host at once, what an audit of the
whole lab opens.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

GiB = 1 << 30
MiB = 1 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")
# Left to the rest of the machine: a lab that takes the last of the memory starves the controller.
MEMORY_RESERVE = 1 * GiB


@dataclass(frozen=True)
class Cost:
    """What one host, or one profile's shared tree, takes of each resource."""

    memory: int  # bytes of RAM: processes, kernel objects, tmpfs pages
    tree_bytes: int  # on the trees tmpfs
    tree_inodes: int
    state_bytes: int  # on the lab dir's filesystem (the upper dir of the host's overlay of /)
    state_inodes: int
    pids: int
    files: int  # open files, system-wide


# An idle host: ~4 MB of RAM (sshd, namespaces, two overlays), 2 pids; the rest is an allowance for an SSH
# session (sshd-session and a shell, 3 pids). Its tree layer starts as its identity files (~21 kB), then
# grows by the files its deploys copy up.
HOST = Cost(memory=8 * MiB, tree_bytes=256 * 1024, tree_inodes=200, state_bytes=256 * 1024, state_inodes=50,
            pids=5, files=40)
# The largest shipped profile's tree (spr-8480-2s, 224 CPUs) is 51 MB and 14,713 inodes on tmpfs.
SHARED_TREE = Cost(memory=64 * MiB, tree_bytes=64 * MiB, tree_inodes=16_000, state_bytes=0, state_inodes=0,
                   pids=0, files=0)


@dataclass(frozen=True)
class Limit:
    """One resource: how much is left, what it is called in the message, and how to get more."""

    name: str
    room: int
    source: str
    fix: str


def fit_error(hosts: int, trees: int, limits: list[tuple[Limit, str]]) -> str | None:
    """The one-line refusal when `hosts` more hosts and `trees` more shared trees exceed a limit, else None.

    `limits` pairs each Limit with the Cost field it is charged against (see `room_now`)."""
    for limit, field in limits:
        per_host, fixed = getattr(HOST, field), getattr(SHARED_TREE, field) * trees
        need = per_host * hosts + fixed
        if need > limit.room:
            fits = max(0, (limit.room - fixed) // per_host)
            return (f"{hosts} more lab hosts need ~{_amount(need, field)} of {limit.name} and "
                    f"{_amount(limit.room, field)} is left ({limit.source}): {fits} fit; "
                    f"boot fewer hosts or {limit.fix}")
    return None


def room_now(trees_dir: Path, lab_dir: Path) -> list[tuple[Limit, str]]:
    """What this machine has left of each resource a lab host takes, with the Cost field it answers to."""
    meminfo = _meminfo()
    trees = _statvfs_or_default(trees_dir, meminfo["MemTotal"])
    state = os.statvfs(_existing_parent(lab_dir))
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    threads_max = int(Path("/proc/sys/kernel/threads-max").read_text())
    threads = int(Path("/proc/loadavg").read_text().split()[3].split("/")[1])
    allocated, _, file_max = (int(v) for v in Path("/proc/sys/fs/file-nr").read_text().split())
    return [
        (Limit("memory", meminfo["MemAvailable"] - MEMORY_RESERVE,
               f"MemAvailable less a {MEMORY_RESERVE // GiB} GiB reserve", "free memory"), "memory"),
        (Limit(f"the trees tmpfs {trees_dir}", trees[0], "its free space",
               f"remount it bigger: mount -o remount,size=... {trees_dir}"), "tree_bytes"),
        (Limit(f"inodes on the trees tmpfs {trees_dir}", trees[1], "its free inodes",
               f"remount it with more: mount -o remount,nr_inodes=... {trees_dir}"), "tree_inodes"),
        (Limit(f"space under {lab_dir}", state.f_bavail * state.f_frsize, "its filesystem's free space",
               "put the lab on a bigger filesystem (--lab-dir)"), "state_bytes"),
        (Limit(f"inodes under {lab_dir}", state.f_favail, "its filesystem's free inodes",
               "put the lab on another filesystem (--lab-dir)"), "state_inodes"),
        (Limit("pids", min(pid_max, threads_max) - threads, f"kernel.pid_max={pid_max}, {threads} in use",
               "raise it: sysctl -w kernel.pid_max=4194304"), "pids"),
        (Limit("open files", file_max - allocated, f"fs.file-max={file_max}",
               "raise it: sysctl -w fs.file-max=..."), "files"),
    ]


def _amount(value: int, field: str) -> str:
    if field in ("memory", "tree_bytes", "state_bytes"):
        return f"{value / GiB:.1f} GiB" if value >= GiB else f"{value // MiB} MiB"
    return f"{value:,}"


def _meminfo() -> dict[str, int]:
    """/proc/meminfo in bytes."""
    fields = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = int(value.split()[0]) * (1024 if value.strip().endswith("kB") else 1)
    return fields


def _statvfs_or_default(trees_dir: Path, mem_total: int) -> tuple[int, int]:
    """Free bytes and inodes on the trees tmpfs; before it is mounted, what a new one will have
    (trees.TREES_MOUNT_OPTIONS: half the RAM, the kernel's default of one inode per two pages)."""
    if os.path.ismount(trees_dir):
        stat = os.statvfs(trees_dir)
        return stat.f_bavail * stat.f_frsize, stat.f_favail
    return mem_total // 2, mem_total // PAGE // 2


def _existing_parent(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path
