"""Root on a node, the way the operator's host data says to get it, and a one-line refusal when it cannot be had.

Operators log in as a named user and escalate with pyinfra's own arguments: `--sudo` on its command line, or
host data `_sudo`, `_sudo_user`, `_sudo_password`. pyinfra then sends every command as `sudo -H -n sh -c ...`,
and where sudo wants a password that nothing gave it, it asks on the terminal (connectors/util.py
execute_command_with_sudo_retry), host after host: a fleet run waits on a prompt, or in cron gets an empty
password and fails deep inside the first fact. So every deploy that changes a node first asks it, without sudo
and without a prompt, who the login is and whether sudo lets it through (`SudoAccess`), and a host that cannot
get root fails there in one line naming the fix (`root_problem`); the other hosts go on. A given password is
checked the same way, sent on stdin (never in a command line).

The xeonfleet commands that only read (facts, audit, snapshot, recommend) never run their probe under sudo: it
escalates its own root-only reads (facts/probe.py as_login_user) with the host's `_sudo_password` if any.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyinfra.api import FactBase

if TYPE_CHECKING:
    from pyinfra.api import Host, State

# pyinfra 2's host data for "prompt for a sudo password"; pyinfra 3 ignores it and takes `_sudo_password`.
PYINFRA2_PASSWORD_KEY = "_use_sudo_password"


# The global arguments that decide how a host's commands run as root (and what require_root checks).
SUDO_ARGUMENTS = ("_sudo", "_sudo_user", "_sudo_password")


def run_arguments(state: State, host: Host, keys: tuple[str, ...] = SUDO_ARGUMENTS) -> dict[str, Any]:
    """`keys` of the host's global arguments as pyinfra's pop_global_arguments resolves them for an operation:
    deploy kwargs, then host data, then the config (the CLI's `--sudo`, `--sudo-user`).

    Only the keys asked for: pop_global_arguments resolves all ~30 and re-reads their type hints on every call,
    2.7 ms a host, which a 1,000-host audit paid once per host for the one password it needed."""
    from pyinfra.api.arguments import all_argument_meta
    from pyinfra.context import ctx_config

    config = ctx_config.get() if ctx_config.isset() else state.config
    deploy_kwargs = host.current_deploy_kwargs or {}
    arguments = {}
    for key in keys:
        meta = all_argument_meta[key]
        value = deploy_kwargs.get(key, getattr(host.data, key, meta.default(config)))
        arguments[key] = meta.handler(config, value) if meta.handler else value
    return arguments


def sudo_password(state: State, host: Host) -> str | None:
    """The host's `_sudo_password` (host data, or one pyinfra prompted for earlier), None without one."""
    password = run_arguments(state, host, ("_sudo_password",))["_sudo_password"]
    return password or host.connector_data.get("prompted_sudo_password")


@dataclass(frozen=True)
class Access:
    """What SudoAccess found: the login's uid and name, and sudo's answer: ok, refused (a password was needed,
    or the given one was wrong, or the user may not), missing (no sudo installed)."""

    uid: int | None
    user: str
    sudo: str


class SudoAccess(FactBase[Access]):
    """Who the login is and whether sudo runs a command as `sudo_user` for it without a prompt.

    `password=True`: the password is the first line of stdin (`_stdin`), checked with `sudo -S -k`.
    Run it with `_sudo=False`: it is the question whether sudo works.
    """

    def command(self, sudo_user: str = "root", password: bool = False) -> str:
        target = shlex.quote(sudo_user)
        if password:
            ask = f"IFS= read -r pw || :; printf '%s\\n' \"$pw\" | sudo -S -k -p '' -u {target} true"
        else:
            ask = f"sudo -n -u {target} true"
        # sudo's own lines are dropped: "sudo: a password is required" is what makes pyinfra prompt.
        return ("echo \"uid=$(id -u)\"; echo \"user=$(id -un)\"; "
                "if ! command -v sudo >/dev/null 2>&1; then echo sudo=missing; "
                f"elif {ask} >/dev/null 2>&1; then echo sudo=ok; else echo sudo=refused; fi")

    def process(self, output: list[str]) -> Access:
        return parse_access(output)


def parse_access(lines: list[str]) -> Access:
    """SudoAccess's `key=value` lines; a missing key reads as unknown (uid None)."""
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    uid = values.get("uid", "")
    return Access(int(uid) if uid.isdigit() else None, values.get("user", "?"), values.get("sudo", "refused"))


def root_problem(access: Access, arguments: dict[str, Any], role: str, pyinfra2_password: bool = False) -> str | None:
    """Why this host cannot run the deploy's root commands as its arguments say, in one line naming the fix;
    None when it can. `role` names the sudoers drop-in that grants them (`xeonfleet sudoers --role ROLE`);
    `pyinfra2_password`: the host data sets PYINFRA2_PASSWORD_KEY."""
    sudo, target = arguments.get("_sudo"), arguments.get("_sudo_user") or "root"
    grant = f"`xeonfleet sudoers --role {role} --user {access.user}`"
    if not sudo:
        if access.uid == 0:
            return None
        return (f"logged in as {access.user}, not root, and this deploy changes the node as root: run it with "
                f"`--sudo` (or host data `_sudo: True`), with sudo granted by {grant}")
    if pyinfra2_password and not arguments.get("_sudo_password"):
        return (f"host data {PYINFRA2_PASSWORD_KEY} is pyinfra 2's (it prompted); pyinfra 3 takes the password "
                f"itself: set host data `_sudo_password` (e.g. from your secret store)")
    if access.sudo == "missing":
        return f"sudo is not installed on the node: install it, then grant {access.user} {grant}"
    if access.sudo == "ok":
        return None
    if arguments.get("_sudo_password"):
        return (f"sudo refused host data `_sudo_password` for {access.user} (wrong password, or {access.user} may "
                f"not run commands as {target}): fix the password, or grant {grant}")
    return (f"sudo asks {access.user} for a password and none is given (or {access.user} may not use sudo): "
            f"install the NOPASSWD drop-in {grant}, or set host data `_sudo_password`")


def require_root(role: str) -> bool:
    """In a deploy, for the current host: True when its commands can run as root as its arguments say; else
    fail the host with root_problem's line (no command of the deploy is sent) and return False."""
    from pyinfra import host

    from xeonfleet.connect.hostcommand import fail_host

    arguments = run_arguments(host.state, host)
    password = arguments.get("_sudo_password")
    kwargs: dict[str, Any] = {"_sudo": False, "sudo_user": arguments.get("_sudo_user") or "root"}
    if arguments.get("_sudo") and password:
        kwargs.update(password=True, _stdin=password)
    access = host.get_fact(SudoAccess, **kwargs)
    if access is None:
        fail_host("could not ask the node who the login is (the host stopped answering?): re-run once it is back")
        return False
    problem = root_problem(access, arguments, role, host.data.get(PYINFRA2_PASSWORD_KEY) is not None)
    if problem:
        fail_host(problem)
        return False
    return True
