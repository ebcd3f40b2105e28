"""Kernel command line advice: arguments that make a runtime setting hold from boot.

Not an audited knob (the running cmdline changes only with a reboot): the tune deploy adds the advice to
GRUB_CMDLINE_LINUX_DEFAULT when host data `xeonfleet_kernel_cmdline` is true, rebuilds the boot config
and never reboots; restore puts /etc/default/grub back and rebuilds again.
"""

from __future__ import annotations

from xeonfleet.knobs.base import Facts, ProfileValues, fact
from xeonfleet.knobs import commands

GRUB_FILE = "/etc/default/grub"
# Rebuilds the boot config from GRUB_FILE (Debian/Ubuntu name, then the RHEL/SUSE one).
GRUB_REGENERATE = ("if command -v update-grub >/dev/null; then update-grub; "
                   "else grub2-mkconfig -o /boot/grub2/grub.cfg; fi")
GRUB_TOOLS_PRESENT = "command -v update-grub >/dev/null || command -v grub2-mkconfig >/dev/null"


def cmdline_advice(profile: ProfileValues, facts: Facts) -> list[str]:
    """Kernel arguments that make the C-state limit hold from boot (the sysfs setting is runtime only).

    intel_idle.max_cstate=N keeps the first N entries of the driver's table (intel_idle.c
    intel_idle_max_cstate_reached: entry i goes when i + 1 > N), and cpuidle state i + 1 is entry i (state0
    is POLL), so N is the sysfs index of the profile's state: C1 -> 1 on every Xeon table, C6 -> 3 on Granite
    Rapids (keeps C6, drops C6P). The two agree while no shallower entry was skipped at boot; on the Xeon
    tables only the C6-class entries can be (no MWAIT substates), and none is shallower than C1E. A limit of
    POLL has no such N (max_cstate=0 turns intel_idle off altogether), so it gets no advice.
    """
    max_cstate = profile.get("power.max_cstate")
    if not max_cstate or fact(facts, "power.cpuidle_driver") != "intel_idle":
        return []
    index = next((s.get("index") for s in fact(facts, "power.cstates") or [] if s.get("name") == max_cstate), None)
    return [f"intel_idle.max_cstate={index}"] if index else []


def grub_edit(args: list[str], path: str = GRUB_FILE) -> str:
    """The sed that appends `args` to GRUB_CMDLINE_LINUX_DEFAULT in `path`, every argument verbatim."""
    added = commands.sed_replacement(" ".join(args))
    script = f's/^GRUB_CMDLINE_LINUX_DEFAULT="\\(.*\\)"/GRUB_CMDLINE_LINUX_DEFAULT="\\1 {added}"/'
    return commands.sh("sed", "-i", script, path)


def grub_add_command(args: list[str]) -> str:
    """Append `args` to GRUB_CMDLINE_LINUX_DEFAULT (recording the file first) and rebuild the boot config.

    The tools are checked before the edit: a GRUB_FILE changed without a rebuilt boot config would read
    as done on the next run while the next boot still lacks the arguments."""
    no_tool = (f"xeonfleet: no update-grub or grub2-mkconfig on this host: add {' '.join(args)} to its "
               "boot loader by hand")
    return (f"{{ {GRUB_TOOLS_PRESENT} || {{ echo {commands.sh(no_tool)} >&2; exit 1; }}; }} && "
            f"{commands.record_files([GRUB_FILE])} && {grub_edit(args)} "
            f"&& {{ {GRUB_REGENERATE}; }}")
