"""The processes of lab hosts: start one in its own namespaces, tell whether it runs, find it, kill it.

A host is `unshare -m -u -p -f --kill-child` running host_init.sh; the `unshare` pid is what lab.json
records, the namespaces' PID 1 is its only child, and killing that PID 1 tears the whole host down.
These helpers read /proc to follow those pids across CLI calls (guarding against pid reuse by the
argv), and say up front why this machine cannot run hosts at all (no root, no CAP_SYS_ADMIN, a
missing tool), so `lab up` fails in one line instead of half-way.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from xeonfleet.lab.errors import LabError
from xeonfleet.lab.hosts import LabHost
from xeonfleet.resources import packaged

KILL_TIMEOUT_S = 10.0
KILL_TIMEOUT_PER_HOST_S = 0.05  # and this much more per host killed at once
HOST_INIT = packaged("lab/host_init.sh")
REQUIRED_TOOLS = ("unshare", "nsenter", "pivot_root", "mountpoint", "mount", "ssh-keygen")
SSHD = "/usr/sbin/sshd"  # host_init.sh runs this path inside the host's root
CAP_SYS_ADMIN = 21


def lab_unavailable_reason() -> str | None:
    """Why this machine cannot run lab hosts (one line), or None when it can."""
    if os.geteuid() != 0:
        return "the lab fleet needs root (namespaces, overlay and bind mounts); run it as root"
    cap_line = next(
        line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("CapEff:")
    )
    if not int(cap_line.split()[1], 16) >> CAP_SYS_ADMIN & 1:
        return "the lab fleet needs CAP_SYS_ADMIN (mount/unshare); run it in a privileged container or VM"
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not found; install util-linux, coreutils and openssh-client"
    if not os.access(SSHD, os.X_OK):
        return f"{SSHD} not found; install openssh-server (apt-get install openssh-server)"
    return None

# Popen objects of the hosts this process started, kept so their exit is reaped (no zombie
# that looks alive) and so Python does not warn about them. Hosts started by another process
# (a CLI call) are found through /proc instead.
_spawned: dict[int, subprocess.Popen] = {}


def _process_alive(pid: int, state_dir: Path) -> bool:
    """True when `pid` is still the `unshare` of the host at state_dir (guards against pid reuse)."""
    proc = _spawned.get(pid)
    if proc is not None:
        if proc.poll() is None:
            return True
        del _spawned[pid]
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(state_dir).encode() in argv


def ns_init_pid(pid: int) -> int | None:
    """The PID 1 of the host's namespaces: the only child of its `unshare` (None before the fork)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def _pid_gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def spawn(host: LabHost, ssh_dir: Path, trees_dir: Path, login: str) -> None:
    """Start the host's namespaces without waiting; `pid` becomes its `unshare` process. `login`: the user
    SSH logs in as (host_init.sh creates it when it is not root)."""
    argv = ["unshare", "-m", "-u", "-p", "-f", "--kill-child", "sh", str(HOST_INIT), str(host.state_dir),
            str(host.tree_dir), host.name, str(host.port), str(ssh_dir), str(trees_dir), login]
    with host.log_path.open("ab") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal that ran `lab up` must not kill hosts
        )
    _spawned[proc.pid] = proc
    host.pid = proc.pid


def running(host: LabHost) -> bool:
    """True while the host's `unshare` (its recorded pid, checked against reuse) runs."""
    return host.pid is not None and _process_alive(host.pid, host.state_dir)


def kill(hosts: list[LabHost]) -> int:
    """SIGKILL each host's namespace PID 1 (the kernel then kills its whole PID namespace),
    all at once, then wait until every one and its `unshare` are gone. Returns hosts killed."""
    victims = []
    for host in hosts:
        if running(host):
            assert host.pid is not None
            init_pid = ns_init_pid(host.pid)
            # Before the fork, killing `unshare` is enough: --kill-child takes the child along.
            os.kill(init_pid or host.pid, signal.SIGKILL)
            victims.append((host, init_pid))
    # The kernel tears the namespaces down one after another: 2,000 hosts on a loaded 2-core VM take longer
    # than 10 s (audit_scaling's teardown once stopped there and left 4,000 mounts behind).
    allowed = KILL_TIMEOUT_S + KILL_TIMEOUT_PER_HOST_S * len(victims)
    deadline = time.monotonic() + allowed
    for host, init_pid in victims:
        while running(host) or (init_pid is not None and not _pid_gone(init_pid)):
            if time.monotonic() > deadline:
                raise LabError(f"lab host {host.name} (pid {host.pid}) did not die within {allowed:.0f} s: "
                               "rerun `xeonfleet lab down` once the machine is less loaded")
            time.sleep(0.02)
    return len(victims)


def strays(hosts_dir: Path) -> list[LabHost]:
    """Hosts of the lab at hosts_dir running without a pid in lab.json (an `up` killed between spawning
    and saving), found by their `unshare ... host_init.sh STATE_DIR TREE_DIR NAME PORT` argv."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = [arg.decode() for arg in (proc / "cmdline").read_bytes().split(b"\0")]
        except OSError:
            continue
        if argv[0] != "unshare" or str(HOST_INIT) not in argv:
            continue
        state_dir, tree_dir, name, port = argv[argv.index(str(HOST_INIT)) + 1:][:4]
        if Path(state_dir).parent == hosts_dir:
            pid = int(proc.name)
            found.append(LabHost(name, "unknown", int(port), Path(state_dir), Path(tree_dir), pid))
    return found
