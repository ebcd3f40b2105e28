"""The node's theoretical FP32 peak from its facts: cores x GHz x FMA units x FLOP per FMA unit-cycle.

An AVX-512 FMA unit does 16 FP32 lanes x 2 (multiply + add) = 32 FLOP per cycle. Base frequency is
used (the guaranteed all-core clock; AVX-512 licence clocks are lower, turbo higher), as vendors do in
published peak figures. Nodes without AVX-512 but with AVX2 FMA are counted as 2 units of 16 FLOP
(two 256-bit FMA pipes: Haswell and later, Zen 2 and later), stated in the formula text."""

from __future__ import annotations

from typing import Any

FP32_FLOP_PER_AVX512_FMA = 32
FP32_FLOP_PER_AVX2_FMA = 16
AVX2_FMA_UNITS = 2


def peak_gflops(cores: int, ghz: float, fma_units: int, flop_per_unit_cycle: int = FP32_FLOP_PER_AVX512_FMA) -> float:
    """cores x GHz x FMA units x FLOP per unit per cycle, in GFLOP/s."""
    if cores < 1 or ghz <= 0 or fma_units < 1 or flop_per_unit_cycle < 1:
        raise ValueError(f"peak needs positive cores, GHz, FMA units and FLOP/cycle "
                         f"(got {cores}, {ghz}, {fma_units}, {flop_per_unit_cycle})")
    return cores * ghz * fma_units * flop_per_unit_cycle


def node_peak(facts: dict[str, Any]) -> tuple[float | None, str]:
    """(peak GFLOP/s, formula text) from NodeFacts, or (None, why not) when a fact is unknown."""
    cpu = facts.get("cpu") or {}
    cores, ghz, isa = cpu.get("physical_cores"), cpu.get("base_ghz") or cpu.get("max_ghz"), cpu.get("isa") or {}
    if not cores or not ghz:
        return None, f"unknown {'physical_cores' if not cores else 'base_ghz'} in facts: no peak"
    units, flop = cpu.get("fma_units"), FP32_FLOP_PER_AVX512_FMA
    if not units:
        if not (isa.get("fma") and isa.get("avx2")):
            return None, "no AVX-512 FMA unit count and no AVX2 FMA in facts: no peak"
        units, flop = AVX2_FMA_UNITS, FP32_FLOP_PER_AVX2_FMA
    peak = peak_gflops(cores, ghz, units, flop)
    return peak, f"{cores} cores x {ghz} GHz x {units} FMA units x {flop} FP32 FLOP/cycle = {peak:.0f} GFLOP/s"
