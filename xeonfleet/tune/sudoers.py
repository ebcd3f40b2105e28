"""Install the `xeonfleet sudoers` drop-ins on nodes: what deploys/sudoers.py runs, as the nodes' admin.

The drop-in of each role (xeonfleet/connect/privilege.py) lets the named login user do exactly that role's root
work. A sudoers file with a syntax error locks everyone out of sudo, so a drop-in is uploaded under a name
sudo's `#includedir` skips (it holds a '.'), checked with the node's own `visudo -c`, and only then moved into
place, 0440 root:root; a rejected one is removed and the host fails in one line. Unchanged drop-ins are no-ops.
"""

from __future__ import annotations

import hashlib
from io import StringIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, deploy, operation
from pyinfra.facts.files import Sha256File

from xeonfleet import __version__
from xeonfleet.connect.hostcommand import HostCommand, fail_host
from xeonfleet.connect.privilege import ROLES, check_user, dropin
from xeonfleet.connect.sudo_access import require_root
from xeonfleet.knobs.commands import sh

SUDOERS_DIR = "/etc/sudoers.d"


def dropin_path(role: str) -> str:
    return f"{SUDOERS_DIR}/xeonfleet-{role}"


@operation()
def sudoers_dropin(path: str, content: str):
    """Install a sudoers drop-in once the node's visudo accepts it.

    + path: /etc/sudoers.d/NAME (NAME without '.' or '~', or sudo ignores it)
    + content: the drop-in's text

    **Example:**

    .. code:: python

        sudoers_dropin(path="/etc/sudoers.d/xeonfleet-audit", content=dropin("audit", "ops", __version__))
    """
    if host.get_fact(Sha256File, path=path) == hashlib.sha256(content.encode()).hexdigest():
        host.noop(f"{path} is already this drop-in")
        return
    staged = f"{path}.xeonfleet-new"  # '.': `#includedir` skips it, so it never takes effect unchecked
    yield FileUploadCommand(StringIO(content), staged)
    yield HostCommand(
        f"if visudo -c -q -f {sh(staged)}; then chown root:root {sh(staged)} && chmod 0440 {sh(staged)} "
        f"&& mv -f {sh(staged)} {sh(path)}; "
        f"else rm -f {sh(staged)}; echo 'visudo rejected the drop-in for {path}: nothing installed' >&2; exit 1; fi"
    )


def _settings() -> tuple[list[str], str]:
    """(roles, user) from host data; ValueError with the fix."""
    roles = host.data.get("xeonfleet_sudoers_roles") or ["audit"]
    if isinstance(roles, str):
        roles = [roles]
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise ValueError(f"host data xeonfleet_sudoers_roles: unknown role(s) {', '.join(map(str, unknown))}; "
                         f"choose from {', '.join(ROLES)}")
    user = host.data.get("xeonfleet_sudoers_user")
    if not user:
        raise ValueError("host data xeonfleet_sudoers_user is not set: name the login user (or %group) to grant, "
                         "e.g. --data xeonfleet_sudoers_user=ops")
    return list(roles), check_user(str(user))


@deploy("Install xeonfleet sudoers drop-ins")
def install_sudoers() -> None:
    """The drop-in of each role of host data `xeonfleet_sudoers_roles` (default [audit]) for the login user
    `xeonfleet_sudoers_user`, as /etc/sudoers.d/xeonfleet-ROLE.

    **Example:**

    .. code:: python

        from xeonfleet.tune.sudoers import install_sudoers
        install_sudoers()
    """
    try:
        roles, user = _settings()
    except ValueError as exc:
        fail_host(str(exc))
        return
    if not require_root("tune"):
        return
    for role in roles:
        sudoers_dropin(name=f"Sudoers drop-in {dropin_path(role)} ({role}, for {user})",
                       path=dropin_path(role), content=dropin(role, user, __version__))
