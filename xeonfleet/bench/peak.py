"""The node's theoretical compute peak per precision, from its facts: cores x base GHz x ops per core-cycle.

One table (PEAK_TABLE) holds the ops per core and cycle of each ISA the guide names, plus FP16 (AMX-FP16
on Granite Rapids, AVX512-FP16 from Sapphire Rapids on), best ISA first within a precision: the node's
peak for a precision is the first row whose cpu.isa flags it has. A flag the facts do not hold (null, or
a key facts from an older collector lack) stops the walk at that row: a better ISA cannot be ruled out,
so there is no peak rather than a lower one. AVX-512 rows scale with the AVX-512 FMA units per core
(cpu.fma_units); AMX rows do not (one TMUL per core); the AVX2 row counts two 256-bit FMA pipes, which
only the microarchs in TWO_256BIT_FMA_PIPES are known to have (an E-core such as Sierra Forest's is not
among them).

Base frequency is used (the guaranteed all-core clock; AVX-512/AMX licence clocks are lower, turbo
higher), as vendors do in published peaks. A factor the facts do not know gives no peak (None, with the
reason), never a guessed number: a guessed FMA count or clock would print 165 % of peak."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

PRECISIONS = ("fp32", "bf16", "int8", "fp16")
UNITS = {"fp32": "GFLOP/s", "bf16": "GFLOP/s", "int8": "GOP/s", "fp16": "GFLOP/s"}
# Two 256-bit FMA pipes per core: Intel P-cores from Haswell on (FMA on ports 0 and 1; Intel 64 and IA-32
# Optimization Reference Manual, Skylake server microarchitecture), AMD from Zen 2 on (AMD Software
# Optimization Guides for family 17h model 30h+, 19h, 1Ah: two FMA pipes of 256 bits or wider).
TWO_256BIT_FMA_PIPES = frozenset({"skylake-avx512", "cascadelake", "cooperlake", "icelake-server", "sapphirerapids",
                                  "emeraldrapids", "graniterapids", "graniterapids-d", "zen2", "zen3", "zen4",
                                  "zen5"})


@dataclass(frozen=True)
class IsaRate:
    """Ops per core and cycle of one ISA: `per_fma_unit` x cpu.fma_units, or `per_core` flat."""

    precision: str
    isa: str
    flags: tuple[str, ...]  # cpu.isa keys that must all be true
    per_fma_unit: int | None = None
    per_core: int | None = None
    why: str = ""


PEAK_TABLE = (
    IsaRate("fp32", "avx512", ("avx512f",), per_fma_unit=32, why="16 FP32 lanes x 2 (FMA) per AVX-512 FMA unit"),
    IsaRate("fp32", "avx2", ("avx2", "fma"), per_core=32, why="2 x 256-bit FMA pipes x 8 lanes x 2"),
    IsaRate("bf16", "amx", ("amx_bf16",), per_core=1024, why="AMX TMUL, BF16 dot products"),
    IsaRate("bf16", "avx512_bf16", ("avx512_bf16",), per_fma_unit=64, why="VDPBF16PS: 32 BF16 pairs x 2"),
    IsaRate("int8", "amx", ("amx_int8",), per_core=2048, why="AMX TMUL, INT8 dot products"),
    IsaRate("int8", "avx512_vnni", ("avx512_vnni",), per_fma_unit=128, why="VPDPBUSD: 64 INT8 pairs x 2"),
    # TDPFP16PS works on TDPBF16PS's tiles (a dword holds an FP16 pair: 16 x 16 x 32 FMAs per instruction;
    # Intel ISA Extensions Programming Reference, AMX-FP16): BF16's work per instruction. Intel's Xeon 6
    # product brief gives 1024 BF16/FP16 ops/core-cycle (read here only as quoted by secondary sources).
    IsaRate("fp16", "amx", ("amx_fp16",), per_core=1024, why="AMX TMUL, FP16 dot products (TDPFP16PS)"),
    # VFMADD*PH zmm: 32 FP16 lanes (Intel SDM, AVX512-FP16), one per FMA unit and cycle as the rows above count.
    IsaRate("fp16", "avx512_fp16", ("avx512_fp16",), per_fma_unit=64, why="VFMADD*PH: 32 FP16 lanes x 2"),
)


@dataclass(frozen=True)
class PrecisionPeak:
    """One precision's peak on one node, or why there is none (gops None, formula = the reason)."""

    precision: str
    isa: str | None
    ops_per_core_cycle: int | None
    ghz: float | None
    cores: int | None
    gops: float | None
    unit: str
    formula: str

    @property
    def per_core_gops(self) -> float | None:
        """What one core gives at base clock: the runners multiply it by the cores they really used."""
        return self.gops / self.cores if self.gops is not None and self.cores else None

    def to_params(self) -> dict[str, Any]:
        return {**asdict(self), "per_core_gops": self.per_core_gops}


def peak_gops(cores: int, ghz: float, ops_per_core_cycle: int) -> float:
    """cores x GHz x ops per core per cycle, in G-ops/s."""
    if cores < 1 or ghz <= 0 or ops_per_core_cycle < 1:
        raise ValueError(f"peak needs positive cores, GHz and ops/cycle (got {cores}, {ghz}, {ops_per_core_cycle})")
    return cores * ghz * ops_per_core_cycle


def _from(cpu: dict[str, Any], key: str) -> str:
    """', from <source>' for a fact that names its source (cpu.base_ghz_source, cpu.microarch_source)."""
    source = cpu.get(f"{key}_source")
    return f", from {source}" if source else ""


def _rate(cpu: dict[str, Any], row: IsaRate) -> tuple[int | None, str]:
    """(ops per core-cycle, how it was counted) for a row the node has, or (None, why unknown)."""
    if row.per_core is not None:
        if row.isa == "avx2" and not cpu.get("microarch"):
            return None, "AVX2 FMA pipes per core unknown: cpu.microarch is null"
        if row.isa == "avx2" and cpu["microarch"] not in TWO_256BIT_FMA_PIPES:
            return None, (f"AVX2 FMA pipes per core unknown for {cpu['microarch']}: two 256-bit pipes are known "
                          f"only for {', '.join(sorted(TWO_256BIT_FMA_PIPES))}")
        return row.per_core, f"{row.per_core} {row.precision.upper()} ops/core-cycle ({row.isa}: {row.why})"
    units = cpu.get("fma_units")
    if not units:  # None (unknown) or 0 (no AVX-512 FMA unit, yet the flag says AVX-512): never guess
        return None, (f"cpu.fma_units is {units!r}: AVX-512 FMA units per core unknown for "
                      f"{cpu.get('model_name') or 'this CPU'} (microarch {cpu.get('microarch')!r})")
    arch = cpu.get("microarch") or "microarch unknown"
    return units * row.per_fma_unit, (f"{units} FMA units (cpu.fma_units; {arch}{_from(cpu, 'microarch')}) x "
                                      f"{row.per_fma_unit} {row.precision.upper()} ops/unit-cycle ({row.isa}: {row.why})")


def _best_row(rows: list[IsaRate], isa_flags: dict[str, Any]) -> tuple[IsaRate | None, str | None]:
    """(the first row whose flags are all true, None), or (the row whose flag is unknown, that flag): a
    better ISA that might be there is never skipped for a lower one."""
    for row in rows:
        unknown = next((flag for flag in row.flags if isa_flags.get(flag) is None), None)
        if unknown:
            return row, unknown
        if all(isa_flags[flag] for flag in row.flags):
            return row, None
    return None, None


def precision_peak(facts: dict[str, Any], precision: str) -> PrecisionPeak:
    """The node's peak for one precision from NodeFacts, on its best ISA for it."""
    cpu = facts.get("cpu") or {}
    isa_flags = cpu.get("isa") or {}
    cores, ghz = cpu.get("physical_cores"), cpu.get("base_ghz")

    def none(isa: str | None, why: str) -> PrecisionPeak:
        return PrecisionPeak(precision, isa, None, ghz, cores, None, UNITS[precision], f"no peak: {why}")

    rows = [row for row in PEAK_TABLE if row.precision == precision]
    if not rows:
        raise ValueError(f"precision {precision!r} unknown; use one of {', '.join(PRECISIONS)}")
    if all(value is None for value in isa_flags.values()):
        return none(None, "cpu.isa unknown (no flags line in /proc/cpuinfo)")
    row, unknown = _best_row(rows, isa_flags)
    if unknown:
        state = "null in" if unknown in isa_flags else "absent from"
        return none(None, f"cpu.isa.{unknown} is {state} these facts: cannot tell whether the node has "
                          f"{precision.upper()} {row.isa}")
    if row is None:
        return none(None, f"no {precision.upper()} ISA of {', '.join(r.isa for r in rows)} in cpu.isa")
    if not cores:
        return none(row.isa, "cpu.physical_cores unknown")
    if not ghz:
        return none(row.isa, "cpu.base_ghz unknown (no '@ x GHz' in the model name, no cpufreq, no TSC frequency)")
    ops, counted = _rate(cpu, row)
    if ops is None:
        return none(row.isa, counted)
    gops = peak_gops(cores, ghz, ops)
    formula = (f"{cores} cores (cpu.physical_cores) x {ghz} GHz (cpu.base_ghz{_from(cpu, 'base_ghz')}) x {counted} "
               f"= {gops:,.0f} {UNITS[precision]}")
    return PrecisionPeak(precision, row.isa, ops, ghz, cores, gops, UNITS[precision], formula)


def node_peaks(facts: dict[str, Any]) -> dict[str, PrecisionPeak]:
    """{precision: its peak or why none} for every precision the guide names."""
    return {precision: precision_peak(facts, precision) for precision in PRECISIONS}
