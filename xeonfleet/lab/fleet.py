"""The lab fleet: N real sshd hosts on one machine, each looking like a Xeon server.

A host is `unshare -m -u -p -f --kill-child` running host_init.sh: its own mount, UTS and PID
namespaces, an overlay of `/` with its own upper dir, a /proc and /sys generated from a hardware
profile, and a real sshd on its own loopback port. Killing the namespace's PID 1 tears the whole
host down (processes, mounts, namespaces); its state dir and its tree layer survive until `down`,
so writes by deploys persist across `stop`/`start`.

This module is the Lab itself: `up`/`down`/`stop`/`start`/`exec` and what each checks before it
touches a host. The parts it drives live beside it: hosts.py (the host plan and records), ports.py
(free ports, SSH banners), processes.py (spawning, finding and killing host processes), boot.py (the
boot loop), state.py (lab.json, keys, known_hosts), trees.py and fit.py.

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

import os
import re
import shutil
import subprocess
from pathlib import Path

from xeonfleet.lab.boot import BOOT_TIMEOUT_S, boot
from xeonfleet.lab.errors import LabError
from xeonfleet.lab.fit import fit_error, room_now
from xeonfleet.lab.hardware import HardwareProfileError, list_hardware, load_hardware
from xeonfleet.lab.hardware_profile import HardwareProfile
from xeonfleet.lab.hosts import HostSpec, HostStatus, LabHost, diff_plan, plan_hosts
from xeonfleet.lab.ports import ADDRESS, DEFAULT_PORT_BASE, answering_ports, find_free_port_base, port_is_free
from xeonfleet.lab.processes import kill, lab_unavailable_reason, ns_init_pid, running, strays
from xeonfleet.lab.state import ROOT, ensure_keys, read_state, write_known_hosts, write_state
from xeonfleet.lab.trees import (
    TreeError,
    host_tree_dir,
    mount_host_tree,
    mount_trees_fs,
    remove_host_tree,
    shared_tree_dir,
    unmount_trees_fs,
)
from xeonfleet.connect.privilege import ROLES
from xeonfleet.private_files import make_private_dirs
from xeonfleet.resources import user_data_dir

DEFAULT_HARDWARE = (
    "icx-8380-2s",
    "icx-8380-2s-mistuned",
    "clx-6248-2s",
    "spr-8480-2s",
    "epyc-7763-2s",
    "cloud-vm",
)
DEFAULT_PREFIX = "lab"
# A login name useradd takes on every distro (Debian's NAME_REGEX, without the upper case it refuses by default).
_LOGIN = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


def default_lab_dir() -> Path:
    """$XEONFLEET_LAB_DIR, else the user's data dir (as the results store), so an installed wheel never
    writes into site-packages; tests point the variable at a temp dir."""
    return Path(os.environ.get("XEONFLEET_LAB_DIR") or user_data_dir() / "lab")


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

    def _write_state(self, settings: dict, hosts: list[LabHost]) -> None:
        """Write lab.json (atomically) and the known_hosts matching the hosts' ports."""
        write_state(self.state_file, settings, hosts)
        write_known_hosts(self.known_hosts, self.ssh_dir, hosts)

    @property
    def hosts(self) -> list[LabHost]:
        return [LabHost.from_json(data) for data in read_state(self.state_file)["hosts"]]

    def host(self, name: str) -> LabHost:
        hosts = self.hosts
        for host in hosts:
            if host.name == name:
                return host
        known = ", ".join(host.name for host in hosts) or "none; run `xeonfleet lab up --hosts N`"
        raise LabError(f"no lab host named {name!r} (hosts: {known})")

    def _save_host(self, changed: LabHost) -> None:
        state = read_state(self.state_file)
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
        login: str | None = None,
        sudoers: list[str] | None = None,
    ) -> list[HostStatus]:
        """Make the lab have exactly `hosts` running hosts; keep matching ones, boot the rest.

        Without `hardware`/`port_base`/`prefix`/`login`, a running lab keeps its own settings, a new lab
        uses the defaults. A host that fails to boot is reported in its status; the others boot.
        `login`: the user SSH logs in as; a named user (no sudo rights: grant them with `exec`) makes every
        host's sshd refuse root, as a CIS-hardened server does. `sudoers`: roles whose `xeonfleet sudoers` drop-in
        every host gets for that user at boot (audit, bench, tune).
        """
        self._require_runnable()
        state = read_state(self.state_file)
        login = self._check_login(login, state)
        settings = {
            "hardware": [_absolute_if_path(name) for name in hardware or state.get("hardware") or DEFAULT_HARDWARE],
            "port_base": port_base or state.get("port_base") or DEFAULT_PORT_BASE,
            "prefix": prefix or state.get("prefix") or DEFAULT_PREFIX,
            "login": login,
            "sudoers": self._check_sudoers(sudoers, state, login),
        }
        profiles = self._check_hardware(settings["hardware"])
        wanted = plan_hosts(hosts, settings["hardware"], settings["port_base"], settings["prefix"])

        current = self.hosts
        keep, remove, add = diff_plan([host.spec for host in current], wanted)
        removed = [host for host in current if host.spec in remove]
        kill(removed)
        for host in removed:
            self._discard(host)
        kept = [host for host in current if host.spec in keep]
        new = [self._new_host(spec) for spec in add]
        to_boot = [host for host in kept if not running(host)] + new
        self._check_ports(to_boot, len(wanted))
        self._check_fit(to_boot, profiles)

        make_private_dirs(self.lab_dir)  # 0700 where made: its keys log in as root on every host
        ensure_keys(self.ssh_dir, self.client_key, settings["login"], tuple(settings["sudoers"]))
        for host in new:
            self._discard(host)  # leftovers of a host of that name that failed half-way
        self._prepare(to_boot, profiles)
        by_name = {host.name: host for host in kept + new}
        ordered = [by_name[spec.name] for spec in wanted]
        self._write_state(settings, ordered)  # an interrupted up leaves strays that `down` finds by argv
        errors = boot(to_boot, timeout, self.ssh_dir, self.trees_dir, settings["login"])
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
        killed = kill(self.hosts) + kill(strays(self.hosts_dir))
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

    def stop(self, name: str) -> None:
        """Kill one host as if it died; its state dir (upper dir, tree) is kept for `start`."""
        host = self.host(name)
        kill([host])
        host.pid = None
        self._save_host(host)

    def start(self, name: str, timeout: float = BOOT_TIMEOUT_S) -> HostStatus:
        """Boot a stopped host again on its kept writable layer; a running host is left alone."""
        self._require_runnable()
        host = self.host(name)
        if running(host):
            return self._statuses([host])[0]
        profiles = {host.hardware: _load_profile(host.hardware)}
        self._check_ports([host], 1)
        self._check_fit([host], profiles)
        self._prepare([host], profiles)
        errors = boot([host], timeout, self.ssh_dir, self.trees_dir, self.login)
        self._save_host(host)
        return self._booted_status(host, errors.get(host.name))

    @property
    def login(self) -> str:
        """The user SSH logs in as on every host (root unless the lab was made with a login)."""
        return read_state(self.state_file).get("login") or ROOT

    def exec(self, name: str, cmd: list[str], timeout: float = 60.0, stdin: str | None = None
             ) -> subprocess.CompletedProcess:
        """Run `cmd` as root inside a host (its namespaces and root), as a deploy there would see it, with
        `stdin` as its input: how a test plays the node's admin (installs a sudoers drop-in, sets a password)."""
        host = self.host(name)
        init_pid = ns_init_pid(host.pid) if host.pid and running(host) else None
        if init_pid is None:
            raise LabError(f"lab host {name} is not running; run `xeonfleet lab start {name}`")
        return subprocess.run(
            ["nsenter", "-t", str(init_pid), "-m", "-u", "-p", "-r", "-w", "--", *cmd],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def inventory_hosts(self) -> list[tuple[str, dict]]:
        """pyinfra `(name, data)` pairs: key auth with the lab key as the lab's login, strict lab known_hosts."""
        login = self.login
        return [
            (
                host.name,
                {
                    "ssh_hostname": ADDRESS,
                    "ssh_port": host.port,
                    "ssh_user": login,
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

    def _check_login(self, login: str | None, state: dict) -> str:
        """The login the lab will have: the given one, else the running lab's, else root; one per lab, since
        every host's sshd and users are made with it."""
        current = state.get("login") or ROOT
        if login is None:
            return current
        if not _LOGIN.fullmatch(login):
            raise LabError(f"--login {login!r} is not a user name useradd takes: lowercase letters, digits, _ and -")
        if state.get("hosts") and login != current:
            raise LabError(f"this lab logs in as {current}: run `xeonfleet lab down` first to make it log in as {login}")
        return login

    @staticmethod
    def _check_sudoers(roles: list[str] | None, state: dict, login: str) -> list[str]:
        """The drop-in roles: the given ones, else the running lab's; a change reaches hosts as they boot."""
        if roles is None:
            return list(state.get("sudoers") or [])
        unknown = [role for role in roles if role not in ROLES]
        if unknown:
            raise LabError(f"--sudoers {', '.join(unknown)}: not a role; choose from {', '.join(ROLES)}")
        if roles and login == ROOT:
            raise LabError("--sudoers needs --login USER: root needs no grant")
        return list(roles)

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

    def _statuses(self, hosts: list[LabHost]) -> list[HostStatus]:
        alive = {host.name: host.port for host in hosts if running(host)}
        answering = answering_ports(list(alive.values()))
        return [HostStatus(host, host.name in alive, host.port in answering) for host in hosts]

    def _booted_status(self, host: LabHost, error: str | None) -> HostStatus:
        """The status of a host `boot` just saw answer (no second probe: at 1,000 hosts each
        costs sshd a session process) or fail with `error`."""
        if error is None:
            return HostStatus(host, True, True)
        return HostStatus(host, running(host), False, error)
