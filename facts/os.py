"""OS facts: transparent huge pages and the sysctls xeonfleet tunes."""

from __future__ import annotations

from typing import Any

from xeonfleet.facts.probe import ProbeFact


class Thp(ProbeFact[dict[str, str | None]]):
    """{"enabled": "madvise", "defrag": "madvise"}: the bracketed THP choices."""

    abstract = False
    parts = ("os",)

    def pick(self, facts: dict[str, Any]) -> dict[str, str | None]:
        return {"enabled": facts["os"]["thp"], "defrag": facts["os"]["thp_defrag"]}


class Sysctls(ProbeFact[dict[str, str]]):
    """The sysctls listed in xeonfleet/node/probe.sh, dotted names, values as strings."""

    abstract = False
    parts = ("os",)

    @staticmethod
    def default() -> dict[str, str]:
        return {}

    def pick(self, facts: dict[str, Any]) -> dict[str, str]:
        return facts["os"]["sysctl"]
