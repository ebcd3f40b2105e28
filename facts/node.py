"""NodeFacts: the whole node (docs/facts.md) in one SSH round trip."""

from __future__ import annotations

from typing import Any

from xeonfleet.facts.probe import ProbeFact


class NodeFacts(ProbeFact[dict[str, Any]]):
    """The full NodeFacts JSON dict of docs/facts.md, from one batched probe.

    **Example:**

    .. code:: python

        facts = host.get_fact(NodeFacts)
        cores = facts["cpu"]["physical_cores"]
    """

    abstract = False

    def pick(self, facts: dict[str, Any]) -> dict[str, Any]:
        return facts
