"""The two small facts the tune deploy needs beyond NodeFacts, each one command.

ManagedFiles lets every file the deploy writes be compared by checksum in a single round trip (instead of
one `files.put` fact per file), which keeps a no-op re-run close to the cost of the audit.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from pyinfra.api import FactBase

STATE_FILE = "/var/lib/xeonfleet/state.json"


class ManagedFiles(FactBase[dict[str, Any]]):
    """{path: {"sha1": hex} | {"link": target} | None} for each path, plus "@systemd": bool and
    "@grub": the GRUB_CMDLINE_LINUX_DEFAULT line of /etc/default/grub (None without the file)."""

    def command(self, paths: tuple[str, ...]) -> str:
        # One sha1sum for every regular file (not two forks per file): on a fleet every host's no-op
        # re-run pays this, on the nodes' own cores.
        checks = " ".join(shlex.quote(p) for p in paths)
        return (
            f"set --; for p in {checks}; do if [ -L \"$p\" ]; then echo \"L $p $(readlink \"$p\")\"; "
            f"elif [ -f \"$p\" ]; then set -- \"$@\" \"$p\"; else echo \"- $p\"; fi; done; "
            "[ $# -eq 0 ] || sha1sum -- \"$@\" | while read -r sum p; do echo \"F $p $sum\"; done; "
            "[ -d /run/systemd/system ] && echo 'S systemd'; "
            "[ -f /etc/default/grub ] && echo \"G $(grep '^GRUB_CMDLINE_LINUX_DEFAULT=' /etc/default/grub)\"; true"
        )

    def process(self, output: list[str]) -> dict[str, Any]:
        files: dict[str, Any] = {"@systemd": False, "@grub": None}
        for line in output:
            tag, _, rest = line.partition(" ")
            if tag == "S":
                files["@systemd"] = True
            elif tag == "G":
                files["@grub"] = rest
            else:
                path, _, value = rest.partition(" ")
                files[path] = {"link": value} if tag == "L" else {"sha1": value} if tag == "F" else None
        return files


class TuneState(FactBase[dict[str, Any] | None]):
    """The deploy's undo log (node_state.py writes it), None when nothing was ever changed."""

    command = f"cat {STATE_FILE} 2>/dev/null || true"

    def process(self, output: list[str]) -> dict[str, Any] | None:
        text = "\n".join(output).strip()
        return json.loads(text) if text else None
