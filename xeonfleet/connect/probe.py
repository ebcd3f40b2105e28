"""The one batched node probe (probe.sh): build its command, run it locally on an offline tree.

The same script text runs over SSH on live hosts (as a pyinfra fact command) and here with
ROOT=DIR on a sysroot, so both go through identical reads and the same parsers.
"""

from __future__ import annotations

import shlex
import subprocess
from functools import lru_cache
from pathlib import Path

from xeonfleet.resources import packaged

PROBE_PATH = packaged("node/probe.sh")
ALL_PARTS = ("cpu", "numa", "memory", "power", "os", "devices", "tools", "frameworks")


@lru_cache(maxsize=1)
def probe_script() -> str:
    """The probe's text (read once: facts build their command from it for every host)."""
    return PROBE_PATH.read_text()


def probe_command(parts: tuple[str, ...] = ALL_PARTS, root: str = "", pack: bool = True,
                  full_cpuinfo: bool = False) -> str:
    """A shell command running the probe inline (no file to upload: one round trip).

    pack=True compresses the output on the node: over SSH, reading ~10,000 lines costs far more
    than gzip does. full_cpuinfo=True sends proc/cpuinfo whole rather than the lines the parsers
    read (for snapshots, which rebuild the file; the facts are the same either way).
    """
    unknown = sorted(set(parts) - set(ALL_PARTS))
    if unknown:
        raise ValueError(f"unknown probe parts {unknown}; choose from {list(ALL_PARTS)}")
    header = (f"ROOT={shlex.quote(root)}\nPARTS={shlex.quote(' '.join(parts))}\n"
              f"PACK={'1' if pack else ''}\nFULL_CPUINFO={'1' if full_cpuinfo else ''}\n")
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
