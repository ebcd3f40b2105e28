"""The base of the node-facts classes: run probe.sh (or a part of it), parse, pick a piece.

Every fact here is one command over the same parsers `xeonfleet facts` uses, so a deploy that
reads `host.get_fact(Governor)` sees exactly what the audit sees.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pyinfra.api import FactBase

from xeonfleet.parsers.node import node_facts_from_lines
from xeonfleet.connect.probe import ALL_PARTS, probe_command

T = TypeVar("T")


class ProbeFact(FactBase[T], Generic[T]):
    """Runs the probe limited to `parts` and returns `pick(node_facts)`."""

    abstract = True
    parts: tuple[str, ...] = ALL_PARTS

    def command(self) -> str:
        return probe_command(self.parts)

    def pick(self, facts: dict[str, Any]) -> T:
        raise NotImplementedError

    def process(self, output: list[str]) -> T:
        return self.pick(node_facts_from_lines(output))


class ProbeLines(FactBase[list[str]]):
    """The probe's raw output lines (what `xeonfleet snapshot` turns back into a sysroot tree)."""

    def command(self) -> str:
        return probe_command(full_cpuinfo=True)

    @staticmethod
    def default() -> list[str]:
        return []

    def process(self, output: list[str]) -> list[str]:
        return output
