"""Undo the tune deploy on one host from its undo log (/var/lib/xeonfleet/state.json).

Packages the deploy installed are removed here (the controller knows the package manager); everything
else — sysfs/procfs values, files written or linked, the helper dirs — is put back by node_state.py
`restore` in one command, because the log can hold hundreds of per-CPU files. A restored
/etc/default/grub is followed by a boot-config rebuild, so the next boot has the old cmdline too.
"""

from __future__ import annotations

from typing import Any

from pyinfra import host
from pyinfra.api import deploy, operation

from xeonfleet.connect.hostcommand import HostCommand
from xeonfleet.knobs.kernel_cmdline import GRUB_FILE, GRUB_REGENERATE
from xeonfleet.knobs.packages import remove_command
from xeonfleet.knobs.commands import STATE_HELPER, sh


@operation()
def restore_state(state: dict[str, Any] | None, manager: str | None):
    """Put back every recorded prior value and remove what the deploy added; no log means nothing to do.

    + state: TuneState fact (the parsed undo log) or None
    + manager: "apt" or "dnf" for removing installed packages
    """
    if state is None:
        host.noop("no xeonfleet undo log: nothing to restore")
        return
    packages = state.get("packages") or []
    if packages:
        yield HostCommand(remove_command(manager, packages))
    yield HostCommand(sh("python3", STATE_HELPER, "restore"))
    if GRUB_FILE in (state.get("files") or {}):  # the old cmdline is in the file; the boot config needs it too
        yield HostCommand(GRUB_REGENERATE)


@deploy("Restore AI node")
def restore_ai_node(state: dict[str, Any] | None, manager: str | None) -> None:
    """Return one node to its pre-xeonfleet settings.

    + state: TuneState fact
    + manager: package manager for the host's distro
    """
    restore_state(name="Restore prior values, remove xeonfleet files", state=state, manager=manager)
