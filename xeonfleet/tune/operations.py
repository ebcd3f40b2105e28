"""pyinfra operations for the tune deploy: one operation applies a host's whole plan in one command.

`apply_plan` takes the planned steps (the knob's own compare, the audit's, already said whether each
holds) and the files the deploy installs (compared by checksum with the ManagedFiles fact), calls
host.noop("... is already ...") for each that holds, and yields one command for the rest: install the
undo-log helper, record every prior value in one helper run (the undo log keeps the first value it
sees, so restore returns to the pre-xeonfleet state however often this runs), then set the knobs and
write the files in order. One round trip per host instead of one per knob and per file: on a fleet
each operation is a barrier every host waits at, and each record was its own python3 start.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ManagedFile:
    """A file the deploy installs: `content` with `mode`, or (with `link`) a symlink to `link`."""

    path: str
    content: str = ""
    mode: str = "0644"
    link: str | None = None

    def holds(self, current: dict[str, Any] | None) -> bool:
        """Whether the ManagedFiles entry of the path (None: absent) is this file already."""
        if self.link is not None:
            return bool(current) and current.get("link") == self.link
        return bool(current) and current.get("sha1") == sha1(self.content)

    def write_command(self) -> str:
        if self.link is None:
            return commands.write_file(self.path, self.content, self.mode)
        return (f"{commands.sh('mkdir', '-p', posixpath.dirname(self.path))} && "
                f"{commands.sh('ln', '-sfn', self.link, self.path)}")

    def already(self) -> str:
        return f"{self.path} already points to {self.link}" if self.link else f"{self.path} is already up to date"


@dataclass(frozen=True)
class PlanCommand:
    """What apply_plan runs on one host: `command` (None: nothing to change) and what already holds."""

    command: str | None
    in_place: list[str]


def plan_command(helpers: list[ManagedFile], steps: list[Step], files: list[ManagedFile], facts: Facts,
                 current: dict[str, Any]) -> PlanCommand:
    """The one command that brings a host to its plan (see commands.batch for its order and failures).

    + helpers: node-side helpers the records and MSR setters run (installed first, never recorded: restore
      removes their directory)
    + steps: the planned knob steps with a setter, in apply order
    + files: the files to install after the knobs (persist files, boot unit, launcher), in order
    + facts: NodeFacts of the host, which a knob's commands may depend on (driver, C-state table)
    + current: the ManagedFiles fact of every path above
    """
    in_place = [f"{s.knob.title} is already {show(s.wanted)}" for s in steps if s.in_place]
    in_place += [f.already() for f in (*helpers, *files) if f.holds(current.get(f.path))]
    to_set = [s for s in steps if not s.in_place]
    to_write = [f for f in files if not f.holds(current.get(f.path))]
    setup = [f.write_command() for f in helpers if not f.holds(current.get(f.path))]
    if not setup and not to_set and not to_write:
        return PlanCommand(None, in_place)
    records = [s.knob.record_command(s.wanted, facts) for s in to_set]
    recorded_paths = [f.path for f in to_write if not f.path.startswith(commands.LIB_DIR)]
    if recorded_paths:
        records.append(commands.record_files(recorded_paths))
    changes = [(s.knob.id, s.knob.setter.command(s.wanted, facts)) for s in to_set]
    changes += [(f.path, f.write_command()) for f in to_write]
    return PlanCommand(commands.batch(setup, records, changes), in_place)


@operation()
def apply_plan(helpers: list[ManagedFile], steps: list[Step], files: list[ManagedFile], facts: Facts,
               current: dict[str, Any]):
    """Bring one host to its plan in one command: install the helpers, record every prior value, set each
    knob that differs, write each file that differs; or a no-op when everything holds.

    + helpers: node-side helpers (the undo log, which also sets the MSR bits)
    + steps: planned knob steps with a setter, in apply order
    + files: files to install after the knobs, in order
    + facts: NodeFacts of this host
    + current: ManagedFiles fact of every path of `helpers` and `files`

    **Example:**

    .. code:: python

        apply_plan(name="Apply the plan", helpers=[ManagedFile(STATE_HELPER, source, "0755")],
                   steps=plan.steps, files=[ManagedFile(DROP_IN, text)], facts=facts, current=files)
    """
    planned = plan_command(helpers, steps, files, facts, current)
    for message in planned.in_place:
        host.noop(message)
    if planned.command is not None:
        yield HostCommand(planned.command)


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
