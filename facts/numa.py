"""NUMA facts: the numa.* block of docs/facts.md."""

from __future__ import annotations

from typing import Any

from xeonfleet.facts.probe import ProbeFact


class NumaTopology(ProbeFact[dict[str, Any]]):
    """NUMA nodes (CPUs, memory), nodes per socket, SNC (Intel) / NPS (AMD), NUMA balancing.

    **Example:**

    .. code:: python

        for node in host.get_fact(NumaTopology)["nodes"]:
            print(node["id"], node["cpulist"])
    """

    abstract = False
    parts = ("numa",)

    def pick(self, facts: dict[str, Any]) -> dict[str, Any]:
        return facts["numa"]
