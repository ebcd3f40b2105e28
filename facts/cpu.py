"""CPU facts: topology and instruction set, usable on their own from any deploy."""

from __future__ import annotations

from typing import Any

from xeonfleet.facts.probe import ProbeFact

TOPOLOGY_KEYS = ("sockets", "cores_per_socket", "threads_per_core", "logical_cpus", "online_cpus",
                 "offline_cpus", "physical_cores", "smt_enabled")
ISA_KEYS = ("vendor", "model_name", "microarch", "arch", "isa", "fma_units")


class CpuTopology(ProbeFact[dict[str, Any]]):
    """Sockets, cores per socket, threads per core, logical/online/physical CPU counts, SMT.

    **Example:**

    .. code:: python

        omp_threads = host.get_fact(CpuTopology)["physical_cores"]
    """

    abstract = False
    parts = ("cpu",)

    def pick(self, facts: dict[str, Any]) -> dict[str, Any]:
        return {key: facts["cpu"][key] for key in TOPOLOGY_KEYS}


class CpuIsa(ProbeFact[dict[str, Any]]):
    """Vendor, model, microarch (gcc -march name), ISA booleans and AVX-512 FMA units per core.

    **Example:**

    .. code:: python

        if host.get_fact(CpuIsa)["isa"]["amx_tile"]: ...
    """

    abstract = False
    parts = ("cpu",)

    def pick(self, facts: dict[str, Any]) -> dict[str, Any]:
        return {key: facts["cpu"][key] for key in ISA_KEYS}
