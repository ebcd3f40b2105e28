"""What xeonfleet runs as root on a node, as exact sudoers command lines, and the /etc/sudoers.d/ drop-in of
each role (`xeonfleet sudoers --role audit|bench|tune`).

Operators log in as a named user and escalate only for what needs it. The probe (xeonfleet/node/probe.sh) runs
as that user and sends only three kinds of read through `sudo -n`, each a fixed `od` command line built here
from the constants the probe's own lists are tested against (knobs/msr.py ADDRESSES, parsers/cpuid.py leaf_runs):
the SMBIOS table, the MSRs the knobs read, CPU 0's CPUID leaves. No `*` anywhere: sudoers' `*` matches spaces
too, so `/dev/cpu/*/msr` would also let `od ... /dev/cpu/0 /etc/shadow /dev/cpu/0/msr` through. The CPU number,
the one part that varies (the first CPU of each package), is matched by one to four `[0-9]` classes instead:
Linux caps NR_CPUS at 8192 (arch/x86/Kconfig NR_CPUS_RANGE_END). Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xeonfleet.knobs.msr import ADDRESSES as MSR_ADDRESSES
from xeonfleet.parsers.cpuid import CPUID_DIR, leaf_runs
from xeonfleet.parsers.node import DMI_TABLE

OD = "/usr/bin/od"  # coreutils' od (busybox's too) is /usr/bin/od on every distro, /bin/od only a merged-/usr link
CPU_NUMBER_DIGITS = 4
BENCH_DIR = "/var/lib/xeonfleet/bench"  # xeonfleet/bench/remote.py REMOTE_DIR (a test holds them equal)
# A login name or %group as sudoers reads it in a User_List: a lowercase start, so it is never an alias name
# (those are upper case) nor ALL; no character sudoers would need escaped.
_USER = re.compile(r"^%?[a-z_][a-zA-Z0-9_.-]*$")


def smbios_reads() -> list[str]:
    """The SMBIOS table, whole (memory.dimms, bios, system): parsers/smbios.py decodes od's hex."""
    return [f"{OD} -An -v -tx1 /{DMI_TABLE}"]


def msr_reads() -> list[str]:
    """Each knob MSR's 8 bytes at its address (the msr driver's pread), of any CPU numbered 0..9999."""
    return [f"{OD} -An -v -tx8 -j {address} -N 8 /dev/cpu/{'[0-9]' * digits}/msr"
            for address in MSR_ADDRESSES for digits in range(1, CPU_NUMBER_DIGITS + 1)]


def cpuid_reads() -> list[str]:
    """CPU 0's leaves, one read per subleaf: 16 bytes (EAX EBX ECX EDX) a leaf from offset first | subleaf << 32
    to the last leaf (arch/x86/kernel/cpuid.c moves on one leaf per 16 bytes)."""
    return [f"{OD} -An -v -tx4 -j {first | subleaf << 32} -N {16 * (last - first + 1)} /{CPUID_DIR}"
            for first, subleaf, last in leaf_runs()]


@dataclass(frozen=True)
class Grant:
    """One Cmnd_Alias: its name, what it is for (a header line) and its exact commands ("ALL": everything)."""

    alias: str
    why: str
    commands: tuple[str, ...]


PROBE_GRANTS = (
    Grant("XEONFLEET_SMBIOS", "the SMBIOS table: BIOS, system, DIMMs (the memory rules)", tuple(smbios_reads())),
    Grant("XEONFLEET_MSR", f"MSRs {' '.join(hex(a) for a in MSR_ADDRESSES)} of one CPU per package (the MSR knobs)",
          tuple(msr_reads())),
    Grant("XEONFLEET_CPUID", "CPU 0's CPUID leaves: the ISA bits /proc/cpuinfo lacks (AMX-FP16, AVX10)",
          tuple(cpuid_reads())),
)
TUNE_GRANT = Grant("XEONFLEET_ALL", "ALL: sudoers cannot narrow pyinfra's `sudo sh -c` (above)", ("ALL",))
# What the tune deploy runs as root (xeonfleet/knobs/*.py setters, xeonfleet/tune/operations.py, deploy.py).
TUNE_RUNS = (
    "sysfs/procfs writes: governor, turbo, EPP/EPB, C-states, uncore limits, THP; sysctl -w",
    "MSR bits and the undo log: python3 /usr/local/lib/xeonfleet/state.py (installed by the deploy)",
    "modprobe msr/cpuid; files under /etc (sysctl.d, profile.d, modules-load.d, systemd unit) and /usr/local",
    "apt-get/dnf install; /etc/default/grub and update-grub/grub2-mkconfig (never a reboot)",
)


ROLES = ("audit", "bench", "tune")


@dataclass(frozen=True)
class Role:
    """A drop-in: its grants and the header lines that say why."""

    name: str
    purpose: str
    grants: tuple[Grant, ...]
    notes: tuple[str, ...]


def _bench_notes(user: str) -> tuple[str, ...]:
    owner = f"-g {user[1:]} -m 2775" if user.startswith("%") else f"-o {user}"
    return (
        f"The benchmark deploy runs its jobs as {user}: root only for the facts' reads above. It uploads the",
        f"runners and writes results under {BENCH_DIR}, which must be {user}'s: create it once as root",
        f"(install -d {owner} {BENCH_DIR}). Where kernel.perf_event_paranoid refuses perf stat to {user},",
        "the runners report the OS-side measures instead (xeonfleet/node/runners/counters.py).",
    )


def _tune_notes(user: str) -> tuple[str, ...]:
    return (
        "The tune deploy changes the node as root:",
        *(f"  - {line}" for line in TUNE_RUNS),
        "Run it with `pyinfra --sudo`: pyinfra 3 sends each command as `sudo -H -n sh -c '<command>'`",
        "(pyinfra/connectors/util.py make_unix_command), so the one command sudo sees is /bin/sh with a script.",
        "A grant of sh with any argument is a grant of everything: sudoers cannot narrow this role, and this",
        f"file says so by granting ALL. Give it to a dedicated deploy account ({user}, key-only SSH) and use",
        "`--role audit` or `--role bench` for everyone else. Narrowing it needs a root-owned node helper that",
        "takes fixed command lines (not built).",
    )


def role(name: str, user: str) -> Role:
    """The role's drop-in content for `user` (a login name or %group); ValueError for an unknown role."""
    if name == "audit":
        return Role(name, "exactly the root-only reads of the xeonfleet probe", PROBE_GRANTS,
                    ("The probe runs as the login user and sends only these through `sudo -n`; without this",
                     "file those facts are null with a `needs root` reason and their rules read UNKNOWN."))
    if name == "bench":
        return Role(name, "the probe's root-only reads: all the benchmark deploy needs root for", PROBE_GRANTS,
                    _bench_notes(user))
    if name == "tune":
        return Role(name, "everything: the tune deploy needs a root shell", (TUNE_GRANT,), _tune_notes(user))
    raise ValueError(f"unknown role {name!r}: choose audit, bench or tune")



def check_user(user: str) -> str:
    """`user` if sudoers can name it as given; ValueError (one line) otherwise."""
    if not _USER.match(user):
        raise ValueError(f"--user {user!r} is not a login name or %group sudoers can take as is "
                         "(lowercase start; letters, digits, _ . -)")
    if user == "root":
        raise ValueError("--user root: root needs no grant; name the login user of the nodes")
    return user


def _scoped(grant: Grant, role_name: str, user: str) -> Grant:
    """The grant under an alias naming its role and user (XEONFLEET_AUDIT_OPS_SMBIOS): sudo refuses a
    configuration where two files define one alias, as an operator's audit and bench drop-ins for one user, or
    theirs and the audit agent's, would."""
    who = ("GROUP_" if user.startswith("%") else "") + re.sub(r"[^A-Z0-9]", "_", user.lstrip("%").upper())
    kind = grant.alias.removeprefix("XEONFLEET_")
    return Grant(f"XEONFLEET_{role_name.upper()}_{who}_{kind}", grant.why, grant.commands)


def _alias_lines(grant: Grant) -> list[str]:
    """`Cmnd_Alias NAME = cmd, \\` one command a line (sudoers continues a line ending in a backslash)."""
    if len(grant.commands) == 1:
        return [f"Cmnd_Alias {grant.alias} = {grant.commands[0]}"]
    body = [f"    {command}, \\" for command in grant.commands[:-1]] + [f"    {grant.commands[-1]}"]
    return [f"Cmnd_Alias {grant.alias} = \\", *body]


def dropin(name: str, user: str, version: str, path: str | None = None) -> str:
    """The drop-in text of role `name` for `user`: header comment, Cmnd_Alias lines, the grant. `path`: where it
    is installed (default /etc/sudoers.d/xeonfleet-ROLE), named in its header."""
    spec = role(name, check_user(user))
    grants = [_scoped(grant, name, user) for grant in spec.grants]
    path = path or f"/etc/sudoers.d/xeonfleet-{name}"
    everything = any("ALL" in grant.commands for grant in grants)
    lines = [
        f"# {path}: generated by `xeonfleet sudoers --role {name} --user {user}` (xeonfleet {version})",
        f"# Lets {user} run as root, without a password, {spec.purpose}.",
        *(f"# {note}" for note in spec.notes),
        *(f"#   {grant.alias:<28} {grant.why}" for grant in grants),
        *(() if everything else ("# Each command is matched exactly: no `*`, which in sudoers also matches spaces;",
                                 "# a CPU number is one [0-9] per digit.")),
        "# !requiretty: pyinfra runs commands without a tty, which old RHEL sudoers defaults refuse.",
        f"# Install: visudo -c -f FILE && install -m 0440 -o root -g root FILE {path}",
    ]
    for grant in grants:
        lines += _alias_lines(grant)
    aliases = ", ".join(grant.alias for grant in grants)
    # ALL as a command list would lift requiretty for every user: then scope the default to this user.
    scope = f":{user}" if everything else f"!{aliases}"
    lines += [f"Defaults{scope} !requiretty", f"{user} ALL=(root) NOPASSWD: {aliases}"]
    return "\n".join(lines) + "\n"
