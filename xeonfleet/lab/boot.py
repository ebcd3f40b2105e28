"""Booting lab hosts: spawn them a few at a time and wait for each one's sshd to answer.

A host is up when its sshd sends its banner, not when its process starts: host_init.sh still has to
mount its root and trees and start sshd. Booting hundreds at once on a small machine is slower than a
few per core at a time, and one stuck host must not hold the others up, so the boot loop bounds both
the hosts booting at once and the wait since the last one came up, and says why each that failed did.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from xeonfleet.lab.hosts import LabHost
from xeonfleet.lab.ports import answering_ports
from xeonfleet.lab.processes import kill, running, spawn

BOOT_TIMEOUT_S = 60.0
# Hosts booting at once. Every mount a booting host makes, and the copy of the controller's mounts its
# new namespace starts with, takes the kernel's one mount lock: 500 at once on 2 cores drove the load
# past 600 and booted slower than a few per core at a time.
BOOT_CONCURRENCY = 8 * (os.cpu_count() or 1)


def boot(hosts: list[LabHost], timeout: float, ssh_dir: Path, trees_dir: Path, login: str) -> dict[str, str]:
    """Spawn the hosts, BOOT_CONCURRENCY at a time, and wait for each one's sshd banner;
    returns {name: why it did not come up}. `ssh_dir` and `trees_dir` are the lab's, bound into each host;
    `login` the user SSH logs in as.

    Gives up on the hosts still pending once none has come up for `timeout` s: 1,000 hosts
    on 2 cores boot for minutes, but one that is stuck is found as fast as in a small lab."""
    waiting = list(reversed(hosts))  # popped from the end: booted in the given order
    pending: dict[str, LabHost] = {}
    errors: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while pending or waiting:
        while waiting and len(pending) < BOOT_CONCURRENCY:
            host = waiting.pop()
            spawn(host, ssh_dir, trees_dir, login)
            pending[host.name] = host
        answering = answering_ports([host.port for host in pending.values()])
        if answering:
            deadline = time.monotonic() + timeout
        for name, host in list(pending.items()):
            if host.port in answering:
                del pending[name]
            elif not running(host):
                errors[name] = f"exited: {_last_log_line(host.log_path)}"
                host.pid = None
                del pending[name]
        if pending and time.monotonic() > deadline:
            kill(list(pending.values()))
            for name, host in pending.items():
                errors[name] = f"no ssh banner after {timeout:.0f} s: {_last_log_line(host.log_path)}"
                host.pid = None
            for host in waiting:
                errors[host.name] = f"not started: the hosts booting before it gave no ssh banner in {timeout:.0f} s"
            break
        if pending:
            time.sleep(0.05)
    return errors


def _last_log_line(path: Path) -> str:
    """The last message in a host log; indented lines continue the one before (mount's dmesg hint)."""
    try:
        lines = [line.rstrip() for line in path.read_text(errors="replace").splitlines() if line[:1].strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"
