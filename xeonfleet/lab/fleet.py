"""The lab fleet: N real sshd hosts on one machine, each looking like a Xeon server.

A host is `unshare -m -u -p -f --kill-child` running host_init.sh: its own mount, UTS and PID
namespaces, an overlay of `/` with its own upper dir, a /proc and /sys generated from a hardware
profile, and a real sshd on its own loopback port. Killing the namespace's PID 1 tears the whole
host down (processes, mounts, namespaces); its state dir and its tree layer survive until `down`,
so writes by deploys persist across `stop`/`start`.

Lab dir layout (default $XDG_DATA_HOME/xeonfleet/lab, or $XEONFLEET_LAB_DIR):
    lab.json            the state: settings and hosts (name, hardware, port, pid, state dir)
    id_ed25519[.pub]    the key pyinfra/paramiko log in with
    known_hosts         `[127.0.0.1]:PORT` entries for the lab host key
    ssh/                sshd_config, host key, authorized_keys (bound read-only into every host)
    hosts/NAME/         upper/, work/ (the overlay's writable layer), merged/, host.log
    trees/              the generated /proc + /sys, on one tmpfs per lab: a shared read-only tree
                        per hardware profile and a small overlay layer per host (see trees.py)
The trees are on tmpfs because a tree is ~10,000 small files: creating and deleting 20 of them on
this VM's ext4 took 15 s and 34 s, against under 0.2 s each on tmpfs.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from xeonfleet.lab.fit import fit_error, room_now
from xeonfleet.lab.hardware import HardwareProfile, HardwareProfileError, list_hardware, load_hardware
from xeonfleet.lab.trees import (
    TreeError,
    host_tree_dir,
    mount_host_tree,
    mount_trees_fs,
    remove_host_tree,
    shared_tree_dir,
    unmount_trees_fs,
)
from xeonfleet.resources import packaged, user_data_dir

DEFAULT_HARDWARE = (
    "icx-8380-2s",
    "icx-8380-2s-mistuned",
    "clx-6248-2s",
    "spr-8480-2s",
    "epyc-7763-2s",
    "cloud-vm",
)
DEFAULT_PORT_BASE = 22200
DEFAULT_PREFIX = "lab"
ADDRESS = "127.0.0.1"
BOOT_TIMEOUT_S = 60.0
PROBE_BATCH = 256
# Hosts booting at once. Every mount a booting host makes, and the copy of the controller's mounts its
# new namespace starts with, takes the kernel's one mount lock: 500 at once on 2 cores drove the load
# past 600 and booted slower than a few per core at a time.
BOOT_CONCURRENCY = 8 * (os.cpu_count() or 1)
KILL_TIMEOUT_S = 10.0
HOST_INIT = packaged("lab/host_init.sh")
REQUIRED_TOOLS = ("unshare", "nsenter", "pivot_root", "mountpoint", "mount", "ssh-keygen")
SSHD = "/usr/sbin/sshd"  # host_init.sh runs this path inside the host's root
CAP_SYS_ADMIN = 21
STATE_VERSION = 1
_HOST_PREFIX = re.compile(r"[a-z][a-z0-9-]{0,50}")

# Paths are as seen inside a host: host_init.sh binds the lab's ssh/ dir at /etc/xeonfleet-lab.
# No PAM, no DNS, no motd/lastlog: each costs time per login and nothing here needs them.
# internal-sftp because pyinfra uploads files over sftp and needs no extra binary for it.
SSHD_CONFIG = """\
ListenAddress 127.0.0.1
HostKey /etc/xeonfleet-lab/ssh_host_ed25519_key
AuthorizedKeysFile /etc/xeonfleet-lab/authorized_keys
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
MaxStartups 100
MaxSessions 100
UseDNS no
PrintMotd no
PrintLastLog no
Subsystem sftp internal-sftp
"""


class LabError(Exception):
    """The lab cannot do what was asked; the message is one line naming the cause and the fix."""


@dataclass(frozen=True)
class HostSpec:
    """What a host should be: the part of a host `up` compares to decide keep / replace."""

    name: str
    hardware: str
    port: int


@dataclass
class LabHost:
    """One lab host as recorded in lab.json; `pid` is its `unshare` process while it runs.

    `tree_dir` holds the host's generated /proc and /sys files (its overlay of the profile's shared
    tree): what the host reads and what its deploys write (governor, sysctls, THP...) are these
    files, readable from outside too."""

    name: str
    hardware: str
    port: int
    state_dir: Path
    tree_dir: Path
    pid: int | None = None

    @property
    def spec(self) -> HostSpec:
        return HostSpec(self.name, self.hardware, self.port)

    @property
    def upper_dir(self) -> Path:
        return self.state_dir / "upper"

    @property
    def work_dir(self) -> Path:
        return self.state_dir / "work"

    @property
    def merged_dir(self) -> Path:
        return self.state_dir / "merged"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "host.log"

    @property
    def address(self) -> str:
        return f"{ADDRESS}:{self.port}"

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "hardware": self.hardware,
            "port": self.port,
            "state_dir": str(self.state_dir),
            "tree_dir": str(self.tree_dir),
            "pid": self.pid,
        }

    @classmethod
    def from_json(cls, data: dict) -> LabHost:
        return cls(
            name=data["name"],
            hardware=data["hardware"],
            port=int(data["port"]),
            state_dir=Path(data["state_dir"]),
            tree_dir=Path(data["tree_dir"]),
            pid=data.get("pid"),
        )


@dataclass(frozen=True)
class HostStatus:
    """A host's health: its namespace runs, its sshd answers; `error` says why not after a boot."""

    host: LabHost
    running: bool
    answering: bool
    error: str | None = None

    @property
    def state(self) -> str:
        if self.answering:
            return "up"
        return "error" if self.error else "down"


def plan_hosts(count: int, hardware: list[str], port_base: int, prefix: str) -> list[HostSpec]:
    """The hosts a lab of `count` should have: names prefix-01.., hardware cycled, ports base+i."""
    if count < 1:
        raise LabError(f"--hosts must be at least 1 (got {count})")
    if not hardware:
        raise LabError("no hardware profile given; pass --hardware NAME (see `ls hardware/`)")
    if not _HOST_PREFIX.fullmatch(prefix):
        raise LabError(f"--prefix {prefix!r} is not a host name start; use lowercase letters, digits and '-'")
    if port_base < 1024 or port_base + count - 1 > 65535:
        raise LabError(
            f"ports {port_base}..{port_base + count - 1} are outside 1024..65535; "
            "pick another --port-base"
        )
    width = max(2, len(str(count)))
    return [
        HostSpec(f"{prefix}-{index + 1:0{width}d}", hardware[index % len(hardware)], port_base + index)
        for index in range(count)
    ]


def diff_plan(
    current: list[HostSpec], wanted: list[HostSpec]
) -> tuple[list[HostSpec], list[HostSpec], list[HostSpec]]:
    """Split into (keep, remove, add): a host is kept only when name, hardware and port all match."""
    wanted_set = set(wanted)
    current_set = set(current)
    keep = [spec for spec in current if spec in wanted_set]
    remove = [spec for spec in current if spec not in wanted_set]
    add = [spec for spec in wanted if spec not in current_set]
    return keep, remove, add


def default_lab_dir() -> Path:
    """$XEONFLEET_LAB_DIR, else the user's data dir (as the results store), so an installed wheel never
    writes into site-packages; tests point the variable at a temp dir."""
    return Path(os.environ.get("XEONFLEET_LAB_DIR") or user_data_dir() / "lab")


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


def port_is_free(port: int) -> bool:
    """True when nothing listens on ADDRESS:port (SO_REUSEADDR, as sshd binds, ignores TIME_WAIT)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ADDRESS, port))
        except OSError:
            return False
    return True


def find_free_port_base(count: int, start: int = DEFAULT_PORT_BASE) -> int:
    """The first base >= start with `count` consecutive free ports (for tests and error hints)."""
    base = start
    while base + count <= 65536:
        taken = next((port for port in range(base, base + count) if not port_is_free(port)), None)
        if taken is None:
            return base
        base = taken + 1
    raise LabError(f"no {count} consecutive free ports above {start} on {ADDRESS}")


def answering_ports(ports: list[int], timeout: float = 5.0) -> set[int]:
    """The ports among `ports` on ADDRESS that accept a connection and send an SSH banner.

    A refused connection returns at once; an accepted one waits for the banner, which sshd sends
    only after re-executing itself for the connection: tens of ms each on a loaded 2-core VM,
    seconds at a load of 50. So the ports are probed together, PROBE_BATCH sockets at a time
    (under the usual 1,024 open files), each batch waiting at most `timeout`."""
    answering: set[int] = set()
    for start in range(0, len(ports), PROBE_BATCH):
        answering |= _probe_batch(ports[start:start + PROBE_BATCH], timeout)
    return answering


def _probe_batch(ports: list[int], timeout: float) -> set[int]:
    answering = set()
    with selectors.DefaultSelector() as selector:
        for port in ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex((ADDRESS, port))
            selector.register(sock, selectors.EVENT_READ, port)
        deadline = time.monotonic() + timeout
        while selector.get_map() and (left := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(left):
                sock = key.fileobj
                try:
                    # Read the whole banner line: closing with unread data would reset the
                    # connection and make sshd log an error per probe.
                    if sock.recv(256).startswith(b"SSH-"):
                        answering.add(key.data)
                except OSError:
                    pass  # refused: nothing listens there (yet)
                selector.unregister(sock)
                sock.close()
        for key in list(selector.get_map().values()):
            key.fileobj.close()
    return answering


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


def _ns_init_pid(pid: int) -> int | None:
    """The PID 1 of the host's namespaces: the only child of its `unshare` (None before the fork)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def _pid_gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def _load_profile(name: str) -> HardwareProfile:
    try:
        return load_hardware(name)
    except HardwareProfileError as exc:
        raise LabError(str(exc)) from exc


def _is_yaml_path(name: str) -> bool:
    return name.endswith((".yaml", ".yml"))


def _absolute_if_path(name: str) -> str:
    """A hardware name as it is; a YAML path (your own profile) made absolute, for later `lab start`s."""
    return str(Path(name).resolve()) if _is_yaml_path(name) else name


def _last_log_line(path: Path) -> str:
    """The last message in a host log; indented lines continue the one before (mount's dmesg hint)."""
    try:
        lines = [line.rstrip() for line in path.read_text(errors="replace").splitlines() if line[:1].strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"


class Lab:
    """A lab fleet rooted at one lab dir; every method reads and writes lab.json there."""

    def __init__(self, lab_dir: Path | str | None = None) -> None:
        self.lab_dir = Path(lab_dir).resolve() if lab_dir else default_lab_dir().resolve()
        self.state_file = self.lab_dir / "lab.json"
        self.ssh_dir = self.lab_dir / "ssh"
        self.client_key = self.lab_dir / "id_ed25519"
        self.known_hosts = self.lab_dir / "known_hosts"
        self.hosts_dir = self.lab_dir / "hosts"
        self.trees_dir = self.lab_dir / "trees"

    # -- state --------------------------------------------------------------------------------

    def _read_state(self) -> dict:
        if not self.state_file.exists():
            return {"hosts": []}
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError) as exc:
            raise LabError(
                f"lab state {self.state_file} is unreadable ({exc}); "
                f"remove {self.lab_dir} once no lab host runs (ps -ef | grep host_init)"
            ) from exc
        if state.get("version") != STATE_VERSION:
            raise LabError(f"lab state {self.state_file} has an unknown version; run `xeonfleet lab down`")
        return state

    def _write_state(self, settings: dict, hosts: list[LabHost]) -> None:
        """Write lab.json (atomically) and the known_hosts matching the hosts' ports."""
        state = {"version": STATE_VERSION, **settings, "hosts": [host.to_json() for host in hosts]}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.state_file)
        host_key = (self.ssh_dir / "ssh_host_ed25519_key.pub").read_text().split()[:2]
        self.known_hosts.write_text(
            "".join(f"[{ADDRESS}]:{host.port} {' '.join(host_key)}\n" for host in hosts)
        )

    @property
    def hosts(self) -> list[LabHost]:
        return [LabHost.from_json(data) for data in self._read_state()["hosts"]]

    def host(self, name: str) -> LabHost:
        hosts = self.hosts
        for host in hosts:
            if host.name == name:
                return host
        known = ", ".join(host.name for host in hosts) or "none; run `xeonfleet lab up --hosts N`"
        raise LabError(f"no lab host named {name!r} (hosts: {known})")

    def _save_host(self, changed: LabHost) -> None:
        state = self._read_state()
        settings = {key: value for key, value in state.items() if key not in ("version", "hosts")}
        hosts = [changed if host.name == changed.name else host for host in self.hosts]
        self._write_state(settings, hosts)

    # -- public API ---------------------------------------------------------------------------

    def up(
        self,
        hosts: int,
        hardware: list[str] | None = None,
        port_base: int | None = None,
        prefix: str | None = None,
        timeout: float = BOOT_TIMEOUT_S,
    ) -> list[HostStatus]:
        """Make the lab have exactly `hosts` running hosts; keep matching ones, boot the rest.

        Without `hardware`/`port_base`/`prefix`, a running lab keeps its own settings, a new lab
        uses the defaults. A host that fails to boot is reported in its status; the others boot.
        """
        self._require_runnable()
        state = self._read_state()
        settings = {
            "hardware": [_absolute_if_path(name) for name in hardware or state.get("hardware") or DEFAULT_HARDWARE],
            "port_base": port_base or state.get("port_base") or DEFAULT_PORT_BASE,
            "prefix": prefix or state.get("prefix") or DEFAULT_PREFIX,
        }
        profiles = self._check_hardware(settings["hardware"])
        wanted = plan_hosts(hosts, settings["hardware"], settings["port_base"], settings["prefix"])

        current = self.hosts
        keep, remove, add = diff_plan([host.spec for host in current], wanted)
        removed = [host for host in current if host.spec in remove]
        self._kill(removed)
        for host in removed:
            self._discard(host)
        kept = [host for host in current if host.spec in keep]
        new = [self._new_host(spec) for spec in add]
        to_boot = [host for host in kept if not self._running(host)] + new
        self._check_ports(to_boot, len(wanted))
        self._check_fit(to_boot, profiles)

        self._ensure_keys()
        for host in new:
            self._discard(host)  # leftovers of a host of that name that failed half-way
        self._prepare(to_boot, profiles)
        by_name = {host.name: host for host in kept + new}
        ordered = [by_name[spec.name] for spec in wanted]
        self._write_state(settings, ordered)  # an interrupted up leaves strays that `down` finds by argv
        errors = self._boot(to_boot, timeout)
        self._write_state(settings, ordered)
        booted = {host.name for host in to_boot}
        probed = {status.host.name: status for status in self._statuses([h for h in ordered if h.name not in booted])}
        return [self._booted_status(host, errors.get(host.name)) if host.name in booted else probed[host.name]
                for host in ordered]

    def status(self) -> list[HostStatus]:
        """Every host with `running` (namespace alive) and `answering` (sshd sends its banner)."""
        return self._statuses(self.hosts)

    def down(self) -> int:
        """Kill every host, then remove the lab state; safe to repeat. Returns hosts killed."""
        killed = self._kill(self.hosts) + self._kill(self._strays())
        try:
            unmount_trees_fs(self.trees_dir)
        except TreeError as exc:
            raise LabError(f"{exc}; rerun `xeonfleet lab down` once nothing uses {self.trees_dir}") from exc
        mounted = [line for line in Path("/proc/self/mountinfo").read_text().splitlines()
                   if f" {self.lab_dir}/" in line]
        if mounted:
            raise LabError(f"{len(mounted)} mounts remain under {self.lab_dir}; unmount them, then rerun down")
        for path in (self.hosts_dir, self.trees_dir, self.ssh_dir):
            shutil.rmtree(path, ignore_errors=True)
        for path in (self.state_file, self.known_hosts, self.client_key, self.client_key.with_suffix(".pub")):
            path.unlink(missing_ok=True)
        if self.lab_dir.is_dir() and not any(self.lab_dir.iterdir()):
            self.lab_dir.rmdir()
        return killed

    def _strays(self) -> list[LabHost]:
        """Hosts of this lab running without a pid in lab.json (an `up` killed between spawning
        and saving), found by their `unshare ... host_init.sh STATE_DIR TREE_DIR NAME PORT` argv."""
        strays = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                argv = [arg.decode() for arg in (proc / "cmdline").read_bytes().split(b"\0")]
            except OSError:
                continue
            if argv[0] != "unshare" or str(HOST_INIT) not in argv:
                continue
            state_dir, tree_dir, name, port = argv[argv.index(str(HOST_INIT)) + 1:][:4]
            if Path(state_dir).parent == self.hosts_dir:
                pid = int(proc.name)
                strays.append(LabHost(name, "unknown", int(port), Path(state_dir), Path(tree_dir), pid))
        return strays

    def stop(self, name: str) -> None:
        """Kill one host as if it died; its state dir (upper dir, tree) is kept for `start`."""
        host = self.host(name)
        self._kill([host])
        host.pid = None
        self._save_host(host)

    def start(self, name: str, timeout: float = BOOT_TIMEOUT_S) -> HostStatus:
        """Boot a stopped host again on its kept writable layer; a running host is left alone."""
        self._require_runnable()
        host = self.host(name)
        if self._running(host):
            return self._statuses([host])[0]
        profiles = {host.hardware: _load_profile(host.hardware)}
        self._check_ports([host], 1)
        self._check_fit([host], profiles)
        self._prepare([host], profiles)
        errors = self._boot([host], timeout)
        self._save_host(host)
        return self._booted_status(host, errors.get(host.name))

    def exec(self, name: str, cmd: list[str], timeout: float = 60.0) -> subprocess.CompletedProcess:
        """Run `cmd` inside a host (its namespaces and root), as a deploy there would see it."""
        host = self.host(name)
        init_pid = _ns_init_pid(host.pid) if host.pid and self._running(host) else None
        if init_pid is None:
            raise LabError(f"lab host {name} is not running; run `xeonfleet lab start {name}`")
        return subprocess.run(
            ["nsenter", "-t", str(init_pid), "-m", "-u", "-p", "-r", "-w", "--", *cmd],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def inventory_hosts(self) -> list[tuple[str, dict]]:
        """pyinfra `(name, data)` pairs: key auth with the lab key, strict lab known_hosts."""
        return [
            (
                host.name,
                {
                    "ssh_hostname": ADDRESS,
                    "ssh_port": host.port,
                    "ssh_user": "root",
                    "ssh_key": str(self.client_key),
                    "ssh_known_hosts_file": str(self.known_hosts),
                    "ssh_strict_host_key_checking": "yes",
                    "ssh_allow_agent": False,
                    "ssh_look_for_keys": False,
                    "hardware": host.hardware,
                },
            )
            for host in self.hosts
        ]

    # -- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _require_runnable() -> None:
        reason = lab_unavailable_reason()
        if reason:
            raise LabError(reason)

    @staticmethod
    def _check_hardware(names: list[str]) -> dict[str, HardwareProfile]:
        """Each named profile, loaded once: a broken one fails here, before any host is touched."""
        known = list_hardware()
        unknown = [name for name in names if name not in known and not _is_yaml_path(name)]
        if unknown:
            raise LabError(f"unknown hardware {', '.join(unknown)}; choose from: {', '.join(known)}")
        return {name: _load_profile(name) for name in set(names)}

    @staticmethod
    def _check_ports(hosts: list[LabHost], lab_size: int) -> None:
        for host in hosts:
            if not port_is_free(host.port):
                suggestion = find_free_port_base(lab_size, host.port + 1)
                raise LabError(
                    f"port {host.port} on {ADDRESS} (for {host.name}) is taken; "
                    f"pick another base, e.g. --port-base {suggestion}"
                )

    def _ensure_keys(self) -> None:
        """One client key and one host key per lab, made once; sshd_config rewritten every time."""
        self.ssh_dir.mkdir(parents=True, exist_ok=True)
        for key in (self.client_key, self.ssh_dir / "ssh_host_ed25519_key"):
            if not key.exists():
                subprocess.run(
                    ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "xeonfleet-lab", "-f", str(key)],
                    check=True,
                    capture_output=True,
                )
        shutil.copyfile(self.client_key.with_suffix(".pub"), self.ssh_dir / "authorized_keys")
        (self.ssh_dir / "sshd_config").write_text(SSHD_CONFIG)

    def _new_host(self, spec: HostSpec) -> LabHost:
        state_dir, tree_dir = self.hosts_dir / spec.name, host_tree_dir(self.trees_dir, spec.name)
        return LabHost(spec.name, spec.hardware, spec.port, state_dir, tree_dir)

    def _check_fit(self, hosts: list[LabHost], profiles: dict[str, HardwareProfile]) -> None:
        """Refuse, in one line, hosts (and the shared trees they need) that the machine cannot hold,
        before anything is built or booted."""
        trees = {shared_tree_dir(self.trees_dir, profiles[host.hardware]) for host in hosts}
        missing_trees = [path for path in trees if not path.exists()]
        error = fit_error(len(hosts), len(missing_trees), room_now(self.trees_dir, self.lab_dir))
        if error:
            raise LabError(error)

    def _prepare(self, hosts: list[LabHost], profiles: dict[str, HardwareProfile]) -> None:
        """Make what each boot needs, the overlay dirs and the generated tree.

        A tree layer present is kept, so a restarted host keeps its writes; a lost one (the tmpfs
        after a reboot) is made again. Everything is prepared before the first spawn, so a full disk
        is one error with no host half-booted.
        """
        try:
            mount_trees_fs(self.trees_dir)
            for host in hosts:
                for path in (host.upper_dir, host.work_dir, host.merged_dir):
                    path.mkdir(parents=True, exist_ok=True)
                mount_host_tree(self.trees_dir, profiles[host.hardware], host.name)
        except TreeError as exc:
            raise LabError(str(exc)) from exc
        except OSError as exc:
            raise LabError(f"cannot prepare a lab host at {exc.filename}: {exc.strerror}; "
                           f"free space on that filesystem or use another --lab-dir") from exc

    def _discard(self, host: LabHost) -> None:
        remove_host_tree(self.trees_dir, host.name)
        shutil.rmtree(host.state_dir, ignore_errors=True)

    def _spawn(self, host: LabHost) -> None:
        """Start the host's namespaces without waiting; `pid` becomes its `unshare` process."""
        argv = ["unshare", "-m", "-u", "-p", "-f", "--kill-child", "sh", str(HOST_INIT), str(host.state_dir),
                str(host.tree_dir), host.name, str(host.port), str(self.ssh_dir), str(self.trees_dir)]
        with host.log_path.open("ab") as log:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal that ran `lab up` must not kill hosts
            )
        _spawned[proc.pid] = proc
        host.pid = proc.pid

    def _boot(self, hosts: list[LabHost], timeout: float) -> dict[str, str]:
        """Spawn the hosts, BOOT_CONCURRENCY at a time, and wait for each one's sshd banner;
        returns {name: why it did not come up}.

        Gives up on the hosts still pending once none has come up for `timeout` s: 1,000 hosts
        on 2 cores boot for minutes, but one that is stuck is found as fast as in a small lab."""
        waiting = list(reversed(hosts))  # popped from the end: booted in the given order
        pending: dict[str, LabHost] = {}
        errors: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while pending or waiting:
            while waiting and len(pending) < BOOT_CONCURRENCY:
                host = waiting.pop()
                self._spawn(host)
                pending[host.name] = host
            answering = answering_ports([host.port for host in pending.values()])
            if answering:
                deadline = time.monotonic() + timeout
            for name, host in list(pending.items()):
                if host.port in answering:
                    del pending[name]
                elif not self._running(host):
                    errors[name] = f"exited: {_last_log_line(host.log_path)}"
                    host.pid = None
                    del pending[name]
            if pending and time.monotonic() > deadline:
                self._kill(list(pending.values()))
                for name, host in pending.items():
                    errors[name] = f"no ssh banner after {timeout:.0f} s: {_last_log_line(host.log_path)}"
                    host.pid = None
                for host in waiting:
                    errors[host.name] = f"not started: the hosts booting before it gave no ssh banner in {timeout:.0f} s"
                break
            if pending:
                time.sleep(0.05)
        return errors

    @staticmethod
    def _running(host: LabHost) -> bool:
        return host.pid is not None and _process_alive(host.pid, host.state_dir)

    def _statuses(self, hosts: list[LabHost]) -> list[HostStatus]:
        running = {host.name: host.port for host in hosts if self._running(host)}
        answering = answering_ports(list(running.values()))
        return [HostStatus(host, host.name in running, host.port in answering) for host in hosts]

    def _booted_status(self, host: LabHost, error: str | None) -> HostStatus:
        """The status of a host `_boot` just saw answer (no second probe: at 1,000 hosts each
        costs sshd a session process) or fail with `error`."""
        if error is None:
            return HostStatus(host, True, True)
        return HostStatus(host, self._running(host), False, error)

    def _kill(self, hosts: list[LabHost]) -> int:
        """SIGKILL each host's namespace PID 1 (the kernel then kills its whole PID namespace),
        all at once, then wait until every one and its `unshare` are gone. Returns hosts killed."""
        victims = []
        for host in hosts:
            if self._running(host):
                assert host.pid is not None
                init_pid = _ns_init_pid(host.pid)
                # Before the fork, killing `unshare` is enough: --kill-child takes the child along.
                os.kill(init_pid or host.pid, signal.SIGKILL)
                victims.append((host, init_pid))
        deadline = time.monotonic() + KILL_TIMEOUT_S
        for host, init_pid in victims:
            while self._running(host) or (init_pid is not None and not _pid_gone(init_pid)):
                if time.monotonic() > deadline:
                    raise LabError(
                        f"lab host {host.name} (pid {host.pid}) did not die within {KILL_TIMEOUT_S:.0f} s"
                    )
                time.sleep(0.02)
        return len(victims)
