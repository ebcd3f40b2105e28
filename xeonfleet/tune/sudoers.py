"""Install the `xeonfleet sudoers` drop-ins on nodes: what deploys/sudoers.py runs, as the nodes' admin.

The drop-in of each role (xeonfleet/connect/privilege.py) lets the named login user do exactly that role's root
work; each is put in place only once the node's visudo accepts it (xeonfleet/connect/sudoers_file.py), 0440
root:root. Unchanged drop-ins are no-ops.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy

from xeonfleet import __version__
from xeonfleet.connect.hostcommand import fail_host
from xeonfleet.connect.privilege import ROLES, check_user, dropin
from xeonfleet.connect.sudo_access import require_root
from xeonfleet.connect.sudoers_file import sudoers_dropin

SUDOERS_DIR = "/etc/sudoers.d"


def dropin_path(role: str) -> str:
    return f"{SUDOERS_DIR}/xeonfleet-{role}"


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
