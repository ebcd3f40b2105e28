"""Power facts: governor, C-states, turbo, EPP (null/[] where the node has no such control)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from xeonfleet.facts.probe import ProbeFact

T = TypeVar("T")


class _PowerFact(ProbeFact[T], Generic[T]):
    """Power facts read the cpufreq/cpuidle part of the probe only."""

    parts = ("power",)


class Governor(_PowerFact[str | None]):
    """The cpufreq governor of every online CPU, "mixed" if they differ, None without cpufreq."""

    abstract = False

    def pick(self, facts: dict[str, Any]) -> str | None:
        return facts["power"]["governor"]


class CStates(_PowerFact[list[dict[str, Any]]]):
    """cpuidle states: index, name, latency_us, disabled (on every online CPU), counts."""

    abstract = False

    @staticmethod
    def default() -> list[dict[str, Any]]:
        return []

    def pick(self, facts: dict[str, Any]) -> list[dict[str, Any]]:
        return facts["power"]["cstates"]


class Turbo(_PowerFact[bool | None]):
    """Whether turbo is on (intel_pstate/no_turbo or cpufreq/boost), None when neither exists."""

    abstract = False

    def pick(self, facts: dict[str, Any]) -> bool | None:
        return facts["power"]["turbo_enabled"]


class Epp(_PowerFact[str | None]):
    """energy_performance_preference if uniform, "mixed" otherwise, None when absent."""

    abstract = False

    def pick(self, facts: dict[str, Any]) -> str | None:
        return facts["power"]["epp"]


class Uncore(_PowerFact[list[dict[str, Any]]]):
    """intel_uncore_frequency limits per package/die in kHz (current and the firmware's initial ones)."""

    abstract = False

    @staticmethod
    def default() -> list[dict[str, Any]]:
        return []

    def pick(self, facts: dict[str, Any]) -> list[dict[str, Any]]:
        return facts["power"]["uncore"]


class Msrs(_PowerFact[dict[str, int] | None]):
    """The MSRs the knobs use ({"0x1a4": value, ...}), None when no msr device is readable."""

    abstract = False

    def pick(self, facts: dict[str, Any]) -> dict[str, int] | None:
        return facts["power"]["msr"]
