"""pyinfra operations for the tune deploy, one per knob kind plus the files it installs.

Each compares the value NodeFacts read (passed in by the deploy, which reads facts once per host) with
the wanted one and either calls host.noop("... is already ...") or yields commands. Every change first
records the prior value with the node-side undo log (node_state.py, installed by `state_helper`), which
keeps the first value it sees, so restore returns to the pre-xeonfleet state however often this runs.
"""

from __future__ import annotations

import hashlib
import posixpath
import shlex
from typing import Any

from pyinfra import host, logger
from pyinfra.api import FunctionCommand, operation

from xeonfleet.hostcommand import HostCommand
from xeonfleet.tune import commands

LIB_DIR = "/usr/local/lib/xeonfleet"
STATE_HELPER = f"{LIB_DIR}/state.py"
SYSCTL_FILE = "/etc/sysctl.d/90-xeonfleet.conf"
GRUB_FILE = "/etc/default/grub"
# Rebuilds the boot config from GRUB_FILE (Debian/Ubuntu name, then the RHEL/SUSE one).
GRUB_REGENERATE = ("if command -v update-grub >/dev/null; then update-grub; "
                   "else grub2-mkconfig -o /boot/grub2/grub.cfg; fi")
GRUB_TOOLS_PRESENT = "command -v update-grub >/dev/null || command -v grub2-mkconfig >/dev/null"


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def record_values(knob_id: str, globs: list[str]) -> str:
    return " ".join(["python3", STATE_HELPER, "save-values", shlex.quote(knob_id), *(shlex.quote(g) for g in globs)])


def record_files(paths: list[str]) -> str:
    return " ".join(["python3", STATE_HELPER, "save-files", *(shlex.quote(p) for p in paths if not p.startswith(LIB_DIR))])


def _recorded(knob_id: str, globs: list[str], command: str) -> str:
    """Record, then change, in one round trip; the change runs in a subshell so its `exit 1` fails it."""
    return f"{record_values(knob_id, globs)} && ( {command} )"


def _write_file_command(path: str, content: str, mode: str) -> str:
    tmp = shlex.quote(path + ".xeonfleet-tmp")
    return (
        f"mkdir -p {shlex.quote(posixpath.dirname(path))} && printf '%s' {shlex.quote(content)} > {tmp} "
        f"&& chmod {shlex.quote(mode)} {tmp} && mv -f {tmp} {shlex.quote(path)}"
    )


@operation()
def state_helper(content: str, current: dict[str, Any] | None):
    """Install the node-side undo log helper (node_state.py) that every later change calls first.

    + content: the helper's source
    + current: ManagedFiles entry of its path
    """
    if current and current.get("sha1") == sha1(content):
        host.noop("the xeonfleet state helper is already installed")
        return
    yield HostCommand(_write_file_command(STATE_HELPER, content, "0755"))


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
    record = record_files([path])
    write = _write_file_command(path, content, mode)
    yield HostCommand(f"{record} && {write}" if not path.startswith(LIB_DIR) else write)


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
    yield HostCommand(f"{record_files([path])} && mkdir -p {shlex.quote(posixpath.dirname(path))} "
                      f"&& ln -sfn {shlex.quote(target)} {shlex.quote(path)}")


@operation()
def packages(tools: dict[str, str], manager: str | None):
    """Install the packages that provide missing tools (Debian linux-cpupower, RHEL kernel-tools).

    + tools: tool -> package, only the missing ones
    + manager: "apt" or "dnf"
    """
    if not tools:
        host.noop("numactl and cpupower are already installed")
        return
    names = sorted(set(tools.values()))
    quoted = " ".join(shlex.quote(n) for n in names)
    install = (f"DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {quoted}"
               if manager == "apt" else f"dnf install -y {quoted}")
    yield HostCommand(f"python3 {STATE_HELPER} save-packages {quoted} && {install}")


@operation()
def governor(wanted: str, current: str | None, in_place: bool):
    """Set the scaling governor on every CPU: cpupower frequency-set where it works, else sysfs.

    + wanted: governor name (validated against scaling_available_governors by the plan)
    + current: governor from NodeFacts ("mixed" when CPUs disagree)
    + in_place: the knob's own compare says it already matches
    """
    if in_place:
        host.noop(f"governor is already {wanted}")
        return
    yield HostCommand(_recorded("power.governor", [commands.GOVERNOR_FILES], commands.governor(wanted)))


@operation()
def cstates(max_cstate: str, indices: list[int], current: str | None, in_place: bool):
    """Disable every idle state deeper than `max_cstate` on every CPU (cpupower idle-set -d, else sysfs).

    + max_cstate: deepest state to keep, e.g. C1
    + indices: cpuidle state indices deeper than it
    + current: NodeFacts summary ("enabled deeper than C1: C1E, C6")
    + in_place: the knob's own compare says it already matches
    """
    if in_place or not indices:
        host.noop(f"no C-state deeper than {max_cstate} is enabled")
        return
    globs = [commands.cstate_disable_files(i) for i in indices]
    yield HostCommand(_recorded("power.cstates", globs, commands.cstates_disable(indices)))


@operation()
def turbo(wanted: bool, driver: str | None, in_place: bool):
    """Turn turbo on or off through intel_pstate/no_turbo or cpufreq/boost.

    + wanted: True for turbo on
    + driver: the scaling driver, which decides the file
    + in_place: the knob's own compare says it already matches
    """
    if in_place:
        host.noop(f"turbo is already {'on' if wanted else 'off'}")
        return
    yield HostCommand(_recorded("power.turbo", [commands.turbo_file(driver)], commands.turbo(wanted, driver)))


@operation()
def epp(wanted: str, in_place: bool):
    """Set the energy-performance preference of every CPU (intel_pstate with HWP).

    + wanted: e.g. performance
    + in_place: the knob's own compare says it already matches
    """
    if in_place:
        host.noop(f"EPP is already {wanted}")
        return
    yield HostCommand(_recorded("power.epp", [commands.EPP_FILES], commands.epp(wanted)))


@operation()
def epb(wanted: int, in_place: bool):
    """Set the energy-performance bias of every CPU (0 = performance).

    + wanted: 0-15
    + in_place: the knob's own compare says it already matches
    """
    if in_place:
        host.noop(f"EPB is already {wanted}")
        return
    yield HostCommand(_recorded("power.epb", [commands.EPB_FILES], commands.epb(wanted)))


@operation()
def thp(wanted: str, in_place: bool):
    """Set transparent huge pages (enabled) to `wanted`.

    + wanted: always, madvise or never
    + in_place: the knob's own compare says it already matches
    """
    if in_place:
        host.noop(f"THP is already {wanted}")
        return
    yield HostCommand(_recorded("os.thp", [commands.THP_FILE], commands.thp(wanted)))


@operation()
def sysctls(values: dict[str, str], content: str, current_file: dict[str, Any] | None, changed: list[str]):
    """Write the sysctl drop-in and apply that file alone with `sysctl -p FILE` (never --system, which
    would also re-apply every other drop-in on the node).

    + values: key -> wanted value (what the file holds)
    + content: the rendered drop-in
    + current_file: ManagedFiles entry of the drop-in
    + changed: keys whose running value differs from the wanted one (only those are recorded)
    """
    file_ok = bool(current_file and current_file.get("sha1") == sha1(content))
    if file_ok and not changed:
        host.noop(f"{len(values)} sysctls already set and persisted in {SYSCTL_FILE}")
        return
    if not file_ok:
        yield HostCommand(f"{record_files([SYSCTL_FILE])} && {_write_file_command(SYSCTL_FILE, content, '0644')}")
    if changed:
        proc_files = ["/proc/sys/" + key.replace(".", "/") for key in changed]
        yield HostCommand(f"{record_values('os.sysctl', proc_files)} && sysctl -q -p {SYSCTL_FILE}")


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
    sed = f"s/^GRUB_CMDLINE_LINUX_DEFAULT=\"\\(.*\\)\"/GRUB_CMDLINE_LINUX_DEFAULT=\"\\1 {' '.join(to_add)}\"/"
    # Checked before the edit: a GRUB_FILE changed without a rebuilt boot config would read as done
    # ("already in grub") on the next run while the next boot still lacks the arguments.
    no_tool = (f"xeonfleet: no update-grub or grub2-mkconfig on this host: add {' '.join(to_add)} to its "
               "boot loader by hand")
    yield HostCommand(f"{{ {GRUB_TOOLS_PRESENT} || {{ echo {shlex.quote(no_tool)} >&2; exit 1; }}; }} && "
                      f"{record_files([GRUB_FILE])} && sed -i {shlex.quote(sed)} {GRUB_FILE} && {{ {GRUB_REGENERATE}; }}")


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
