"""pyinfra operations for the tune deploy: one generic operation for every knob, plus the files it installs.

`apply_knob` takes a planned step (the knob's own compare, the audit's, already said whether it holds)
and either calls host.noop("... is already ...") or yields the knob's record-then-set command. Every
change first records the prior value with the node-side undo log (node_state.py, installed by
`state_helper`), which keeps the first value it sees, so restore returns to the pre-xeonfleet state
however often this runs.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pyinfra import host, logger
from pyinfra.api import FunctionCommand, operation

from xeonfleet.connect.hostcommand import HostCommand
from xeonfleet.knobs import Facts, show
from xeonfleet.knobs.kernel_cmdline import GRUB_FILE, grub_add_command
from xeonfleet.knobs import commands
from xeonfleet.tune.plan import Step


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


@operation()
def helper(path: str, content: str, current: dict[str, Any] | None):
    """Install a node-side helper (the undo log node_state.py, the MSR tool) that later commands call.

    + path: where it goes under /usr/local/lib/xeonfleet (removed by restore with the directory)
    + content: the helper's source
    + current: ManagedFiles entry of its path
    """
    if current and current.get("sha1") == sha1(content):
        host.noop(f"{path} is already installed")
        return
    yield HostCommand(commands.write_file(path, content, "0755"))


@operation()
def apply_knob(step: Step, facts: Facts):
    """Bring one knob to its wanted value: its record command, then its set command, or a no-op.

    + step: the planned step (knob, current, wanted, in_place from the knob's compare)
    + facts: NodeFacts of this host, which the knob's command may depend on (driver, C-state table)

    **Example:**

    .. code:: python

        for step in plan.steps:
            apply_knob(name=step.knob.title, step=step, facts=facts)
    """
    if step.in_place:
        host.noop(f"{step.knob.title} is already {show(step.wanted)}")
        return
    record, change = step.knob.record_command(step.wanted, facts), step.knob.setter.command(step.wanted, facts)
    yield HostCommand(commands.recorded(record, change))


@operation()
def managed_file(path: str, content: str, mode: str, current: dict[str, Any] | None):
    """Make `path` hold exactly `content`, recording what was there before (or that nothing was).

    + path: file on the node
    + content: rendered text
    + mode: octal mode string
    + current: ManagedFiles entry of the path ({"sha1": ...}, {"link": ...} or None)

    **Example:**

    .. code:: python

        managed_file(path="/etc/profile.d/xeonfleet-ai.sh", content=text, mode="0644", current=files[path])
    """
    if current and current.get("sha1") == sha1(content):
        host.noop(f"{path} is already up to date")
        return
    write = commands.write_file(path, content, mode)
    # Files under LIB_DIR are xeonfleet's own: restore removes the directory, nothing to record.
    yield HostCommand(write if path.startswith(commands.LIB_DIR) else f"{commands.record_files([path])} && {write}")


@operation()
def symlink(path: str, target: str, current: dict[str, Any] | None):
    """Make `path` a symlink to `target` (how `systemctl enable` wires a unit, done by hand without systemd).

    + path: link path
    + target: what it points to
    + current: ManagedFiles entry of the path
    """
    if current and current.get("link") == target:
        host.noop(f"{path} already points to {target}")
        return
    yield HostCommand(f"{commands.record_files([path])} && {commands.sh('mkdir', '-p', path.rpartition('/')[0])} "
                      f"&& {commands.sh('ln', '-sfn', target, path)}")


@operation()
def kernel_cmdline(args: list[str], allowed: bool, running: str | None, grub_line: str | None):
    """Add kernel arguments to GRUB_CMDLINE_LINUX_DEFAULT and regenerate the boot config; never reboots.

    + args: arguments to add, e.g. ["intel_idle.max_cstate=1"]
    + allowed: host data xeonfleet_kernel_cmdline is true
    + running: /proc/cmdline
    + grub_line: the GRUB_CMDLINE_LINUX_DEFAULT line, None without /etc/default/grub
    """
    missing = [a for a in args if a not in (running or "").split()]
    if not missing:
        host.noop("kernel cmdline already has " + (" ".join(args) or "nothing to add"))
        return
    if not allowed:
        host.noop(f"kernel cmdline advice: add {' '.join(missing)} (set xeonfleet_kernel_cmdline: true to apply)")
        return
    if grub_line is None:
        host.noop(f"no {GRUB_FILE}: add {' '.join(missing)} to this host's boot loader by hand")
        return
    to_add = [a for a in missing if a not in grub_line]
    if not to_add:
        host.noop(f"{' '.join(missing)} already in {GRUB_FILE}; active after the next reboot")
        return
    yield HostCommand(grub_add_command(to_add))


def _fail(state, host, messages: list[str]) -> bool:  # noqa: ANN001  (pyinfra passes its State and Host)
    """A command that runs nothing on the node: it logs the plan's errors and fails the host."""
    for message in messages:
        host.log_styled(f"xeonfleet: {message}", fg="red", log_func=logger.error)
    return False


@operation()
def refuse(errors: list[str]):
    """Fail this host with every error found while planning, before any command was sent to it.

    + errors: one-line messages naming the problem and the fix
    """
    yield FunctionCommand(_fail, (errors,), {})
