"""Memory facts: MemTotal and the DIMMs of the SMBIOS table (decoded in Python, no dmidecode)."""

from __future__ import annotations

from typing import Any

from xeonfleet.facts.probe import ProbeFact


class Memory(ProbeFact[dict[str, Any]]):
    """The memory.* block: total bytes, DIMM slots, channels populated per socket.

    Reading the SMBIOS table needs root: without it `dimms` is [] and `slots` None.
    """

    abstract = False
    parts = ("cpu", "memory")

    def pick(self, facts: dict[str, Any]) -> dict[str, Any]:
        return facts["memory"]
