"""The one batched node probe (probe.sh): its command, its local run on an offline tree, and the base of
the node-facts classes (run the probe, or a part of it, parse, pick a piece).

The same script text runs over SSH on live hosts (as a pyinfra fact command) and here with ROOT=DIR on a
sysroot, so both go through identical reads and the same parsers. Every fact is one command over the same
parsers `xeonfleet facts` uses, so a deploy that reads `host.get_fact(Governor)` sees exactly what the
audit sees.

The probe needs no `_sudo`: run as the login user it sends only its root-only reads through `sudo`, as the
fixed command lines `xeonfleet sudoers --role audit` grants (xeonfleet/connect/privilege.py); under
`pyinfra --sudo` (the tune deploy) it runs as root and reads them directly. `as_login_user` gives the
get_fact arguments that run it as the login user whatever the run's `_sudo`, with the host's sudo password (if
any) on its stdin, never in its command line.
"""

from __future__ import annotations

import shlex
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar

from pyinfra.api import FactBase

from xeonfleet.parsers.node import node_facts_from_lines
from xeonfleet.resources import packaged

PROBE_PATH = packaged("node/probe.sh")
ALL_PARTS = ("cpu", "numa", "memory", "power", "os", "devices", "tools", "frameworks")


@lru_cache(maxsize=1)
def probe_script() -> str:
    """The probe's text (read once: facts build their command from it for every host)."""
    return PROBE_PATH.read_text()


def probe_command(parts: tuple[str, ...] = ALL_PARTS, root: str = "", pack: bool = True,
                  full_cpuinfo: bool = False, sudo_stdin: bool = False) -> str:
    """A shell command running the probe inline (no file to upload: one round trip).

    pack=True compresses the output on the node: over SSH, reading ~10,000 lines costs far more
    than gzip does. full_cpuinfo=True sends proc/cpuinfo whole rather than the lines the parsers
    read (for snapshots, which rebuild the file; the facts are the same either way). sudo_stdin=True: the
    first line of the probe's stdin is the sudo password for its root-only reads (as_login_user).
    """
    unknown = sorted(set(parts) - set(ALL_PARTS))
    if unknown:
        raise ValueError(f"unknown probe parts {unknown}; choose from {list(ALL_PARTS)}")
    header = (f"ROOT={shlex.quote(root)}\nPARTS={shlex.quote(' '.join(parts))}\n"
              f"PACK={'1' if pack else ''}\nFULL_CPUINFO={'1' if full_cpuinfo else ''}\n"
              f"SUDO_STDIN={'1' if sudo_stdin else ''}\n")
    return header + probe_script()


def run_probe_local(root: str | Path, parts: tuple[str, ...] = ALL_PARTS,
                    full_cpuinfo: bool = False) -> list[str]:
    """Run the probe on a local tree (ROOT=root) and return its output lines."""
    result = subprocess.run(
        ["sh", "-c", probe_command(parts, str(root), pack=False, full_cpuinfo=full_cpuinfo)],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    return result.stdout.splitlines()


def as_login_user(sudo_password: str | None) -> dict[str, Any]:
    """get_fact arguments running the probe as the login user even in a `--sudo` run: it escalates only its
    root-only reads itself. A sudo password (host data `_sudo_password`) goes on its stdin, which sudo -S
    reads; pyinfra's own way (`env PYINFRA_SUDO_PASSWORD=...` before `sudo -A`) puts it in an argv."""
    if not sudo_password:
        return {"_sudo": False}
    return {"_sudo": False, "sudo_stdin": True, "_stdin": sudo_password}


T = TypeVar("T")


class ProbeFact(FactBase[T], Generic[T]):
    """Runs the probe limited to `parts` and returns `pick(node_facts)`."""

    abstract = True
    parts: tuple[str, ...] = ALL_PARTS

    def command(self, sudo_stdin: bool = False) -> str:
        return probe_command(self.parts, sudo_stdin=sudo_stdin)

    def pick(self, facts: dict[str, Any]) -> T:
        raise NotImplementedError

    def process(self, output: list[str]) -> T:
        return self.pick(node_facts_from_lines(output))


class ProbeLines(FactBase[list[str]]):
    """The probe's raw output lines (what `xeonfleet snapshot` turns back into a sysroot tree)."""

    def command(self, sudo_stdin: bool = False) -> str:
        return probe_command(full_cpuinfo=True, sudo_stdin=sudo_stdin)

    @staticmethod
    def default() -> list[str]:
        return []

    def process(self, output: list[str]) -> list[str]:
        return output
