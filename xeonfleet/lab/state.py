"""What a lab keeps on disk between commands: lab.json, its SSH keys, sshd_config and known_hosts.

Every `xeonfleet lab` call is a new process, so the lab's settings and hosts (name, hardware, port,
pid, state dir) live in lab.json, written atomically so an interrupted call never leaves half a file.
The lab's SSH material is made once per lab and kept beside it: the client key pyinfra logs in with,
one host key every host's sshd serves (so known_hosts can be strict), and the sshd_config all hosts
share; known_hosts is rewritten with lab.json so it always names exactly the hosts' ports. All of it is
private (0700 directories, 0600 files): the client key logs in on every host (as root, or as the lab's --login
user, who may hold sudo grants).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from xeonfleet import __version__
from xeonfleet.connect.privilege import dropin
from xeonfleet.lab.errors import LabError
from xeonfleet.lab.hosts import LabHost
from xeonfleet.lab.ports import ADDRESS
from xeonfleet.private_files import make_private_dirs, write_private

STATE_VERSION = 1
ROOT = "root"  # the login of a lab made without --login

# Paths are as seen inside a host: host_init.sh binds the lab's ssh/ dir at /etc/xeonfleet-lab.
# No PAM, no DNS, no motd/lastlog: each costs time per login and nothing here needs them.
# internal-sftp because pyinfra uploads files over sftp and needs no extra binary for it.
SSHD_CONFIG = """\
ListenAddress 127.0.0.1
HostKey /etc/xeonfleet-lab/ssh_host_ed25519_key
AuthorizedKeysFile {authorized_keys}
PermitRootLogin {permit_root}
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


def read_state(state_file: Path) -> dict:
    """lab.json as a dict; a lab with no state file yet has no hosts."""
    if not state_file.exists():
        return {"hosts": []}
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError) as exc:
        raise LabError(
            f"lab state {state_file} is unreadable ({exc}); "
            f"remove {state_file.parent} once no lab host runs (ps -ef | grep host_init)"
        ) from exc
    if state.get("version") != STATE_VERSION:
        raise LabError(f"lab state {state_file} has an unknown version; run `xeonfleet lab down`")
    return state


def write_state(state_file: Path, settings: dict, hosts: list[LabHost]) -> None:
    """Write lab.json atomically (a temp file renamed over it)."""
    state = {"version": STATE_VERSION, **settings, "hosts": [host.to_json() for host in hosts]}
    tmp = state_file.with_suffix(".tmp")
    write_private(tmp, json.dumps(state, indent=2) + "\n")
    tmp.replace(state_file)


def write_known_hosts(known_hosts: Path, ssh_dir: Path, hosts: list[LabHost]) -> None:
    """One `[ADDRESS]:PORT` entry per host, all with the lab's one host key."""
    host_key = (ssh_dir / "ssh_host_ed25519_key.pub").read_text().split()[:2]
    write_private(known_hosts, "".join(f"[{ADDRESS}]:{host.port} {' '.join(host_key)}\n" for host in hosts))


def sshd_config(login: str) -> str:
    """The hosts' sshd_config: a lab that logs in as a named user refuses root, as CIS-hardened servers do, and
    reads that user's key from its home (host_init.sh puts it there); root's is the lab's own file."""
    if login == ROOT:
        return SSHD_CONFIG.format(permit_root="yes", authorized_keys="/etc/xeonfleet-lab/authorized_keys")
    return SSHD_CONFIG.format(permit_root="no", authorized_keys=".ssh/authorized_keys")


def ensure_keys(ssh_dir: Path, client_key: Path, login: str = ROOT, sudoers: tuple[str, ...] = ()) -> None:
    """One client key and one host key per lab, made once (ssh-keygen writes private keys 0600) in a 0700
    directory; authorized_keys, sshd_config (for `login`) and the `xeonfleet sudoers` drop-ins of the roles
    `sudoers` for that login (host_init.sh installs them) rewritten every time."""
    make_private_dirs(ssh_dir)
    for key in (client_key, ssh_dir / "ssh_host_ed25519_key"):
        if not key.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "xeonfleet-lab", "-f", str(key)],
                check=True,
                capture_output=True,
            )
    write_private(ssh_dir / "authorized_keys", client_key.with_suffix(".pub").read_text())
    write_private(ssh_dir / "sshd_config", sshd_config(login))
    dropins = ssh_dir / "sudoers"
    shutil.rmtree(dropins, ignore_errors=True)
    make_private_dirs(dropins)
    for role in sudoers:
        write_private(dropins / f"xeonfleet-{role}", dropin(role, login, __version__))
