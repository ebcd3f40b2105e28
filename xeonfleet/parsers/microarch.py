"""CPU identity -> generation (gcc -march name), platform segment, AVX-512 FMA units, memory channels,
DIMM speeds and SNC modes, from one table of Intel server generations (xeonfleet/parsers/xeon_table.py).

Nothing here assumes family 6: a row names its (vendor, family, model) as the kernel's intel-family.h
does (Diamond Rapids is family 19). One model number can cover several platforms (Granite Rapids 6700P
has 8 channels, 6900P 12): the model name's SKU tells them apart, and when it cannot (a hypervisor masks
the name) every per-segment answer is None with the reason, never the likelier guess.
"""

from __future__ import annotations

from xeonfleet.parsers.xeon_table import AMD_MODELS, GENERATIONS, Generation, Segment

# Intel server generations, oldest first, each with the flags that prove a core is at least that
# new (kernel cpufeatures names, from cpuinfo or from CPUID: xeonfleet/parsers/cpuid.py). Hypervisors
# mask the model number and name but pass the flags: a KVM guest on Sapphire Rapids reads "model 167,
# Intel(R) Xeon(R) Processor" and still has amx_tile. Emerald Rapids adds no flag over Sapphire Rapids,
# so flags can prove "sapphirerapids class", never Emerald Rapids; AMX-FP16 (CPUID 7.1 EAX bit 21,
# which many kernels do not print) is what proves Granite Rapids. E-core Xeons (Sierra Forest) have no
# flag a client E-core lacks, so they are told by model only.
INTEL_GENERATIONS_BY_FLAGS: tuple[tuple[str, frozenset[str]], ...] = (
    ("skylake-avx512", frozenset({"avx512f", "avx512bw", "avx512vl"})),
    ("cascadelake", frozenset({"avx512_vnni"})),
    ("cooperlake", frozenset({"avx512_vnni", "avx512_bf16"})),
    ("icelake-server", frozenset({"avx512_vnni", "avx512_vbmi2", "avx512_bitalg", "gfni"})),
    ("sapphirerapids", frozenset({"amx_tile", "avx512_fp16"})),
    ("graniterapids", frozenset({"amx_tile", "amx_fp16"})),
)


def _generation_of(vendor: str | None, family: int | None, model: int | None,
                   stepping: int | None) -> Generation | None:
    for generation in GENERATIONS:
        if (vendor, family) == (generation.vendor, generation.family) and model in generation.models:
            if generation.steppings is None or (stepping is not None and stepping in generation.steppings):
                return generation
    return None


def microarch(vendor: str | None, family: int | None, model: int | None,
              stepping: int | None) -> str | None:
    """gcc -march name for a server CPU, or None when not one we know."""
    if family is None or model is None:
        return None
    if vendor == "GenuineIntel":
        generation = _generation_of(vendor, family, model, stepping)
        return generation.microarch if generation else None
    if vendor == "AuthenticAMD":
        for fam, models, name in AMD_MODELS:
            if family == fam and model in models:
                return name
    return None


def microarch_from_flags(vendor: str | None, flags: list[str]) -> str | None:
    """The newest Intel server generation the flags prove, or None (AMD and others: by model only)."""
    if vendor != "GenuineIntel":
        return None
    have = set(flags)
    proven = [name for name, needs in INTEL_GENERATIONS_BY_FLAGS if needs <= have]
    return proven[-1] if proven else None


def _generation_index(name: str | None) -> int:
    names = [generation for generation, _ in INTEL_GENERATIONS_BY_FLAGS]
    return names.index(name) if name in names else -1


def identify(vendor: str | None, family: int | None, model: int | None, stepping: int | None,
             flags: list[str]) -> tuple[str | None, str | None]:
    """(microarch, source): from the model number, or from the flags when they prove a newer core
    (masked or unknown models); source is "model", "flags" or None. `flags` are cpuinfo's plus the
    kernel-style names CPUID proves."""
    by_model = microarch(vendor, family, model, stepping)
    by_flags = microarch_from_flags(vendor, flags)
    newer = _generation_index(by_flags) > _generation_index(by_model)
    if by_flags and (by_model is None or (by_model in dict(INTEL_GENERATIONS_BY_FLAGS) and newer)):
        return by_flags, "flags"
    return (by_model, "model") if by_model else (None, None)


def generations(arch: str | None) -> list[Generation]:
    """The table rows of a microarch name (Ice Lake-SP and Ice Lake-D share one)."""
    return [g for g in GENERATIONS if g.microarch == arch] if arch else []


def segment(arch: str | None, model_name: str | None) -> tuple[Segment | None, str]:
    """(segment, note): the platform segment the model name's SKU names, with the row's source; or
    None with the reason it cannot be told."""
    rows = generations(arch)
    if not rows:
        return None, f"{arch or 'this CPU'} is not an Intel server generation in xeonfleet/parsers/xeon_table.py"
    for row in rows:
        for candidate in row.segments:
            if candidate.sku.search(model_name or ""):
                return candidate, candidate.source
    known = ", ".join(s.name for row in rows for s in row.segments)
    return None, (f"{rows[0].title}: the model name {model_name!r} names none of its segments ({known}); "
                  "a hypervisor may mask it")


def smt_capable(arch: str | None) -> bool | None:
    """Whether the generation's cores have SMT at all (Sierra Forest's E-cores do not); None off-table."""
    rows = generations(arch)
    return all(row.smt for row in rows) if rows else None


def channels_per_socket(arch: str | None, model_name: str | None) -> int | None:
    """Memory channels per socket of the CPU's platform segment (all must be populated for full
    bandwidth); AMD by generation; None when the segment cannot be told."""
    found, _ = segment(arch, model_name)
    if found:
        return found.channels
    return AMD_CHANNELS.get(arch or "")


def fma_units(model_name: str | None, arch: str | None, avx512f: bool | None) -> int | None:
    """AVX-512 FMA units per core: 0 without AVX-512; else what Intel publishes for the SKU ("# of
    AVX-512 FMA Units"), by segment or by a SKU exception; None for a SKU not in the table."""
    if avx512f is None:
        return None
    if not avx512f:
        return 0
    found, _ = segment(arch, model_name)
    if found is None:
        units = {row.fma_units for row in generations(arch)}
        return units.pop() if len(units) == 1 else None
    for sku, units in found.fma_by_sku.items():
        if sku.upper() in (model_name or "").upper().split():
            return units
    return found.fma_units


def max_dimm_mts(arch: str | None, model_name: str | None, dimms_per_channel: int,
                 mrdimm: bool) -> tuple[int | None, str]:
    """(MT/s, note): the segment's published memory speed for this population (1 or 2 DIMMs per
    channel; MRDIMMs at 1DPC), with the source; None with the reason when it is not published here."""
    found, note = segment(arch, model_name)
    if found is None:
        return None, note
    if mrdimm:
        mts = found.mrdimm_mts if dimms_per_channel == 1 else None
        what = "MRDIMM at 1DPC" if dimms_per_channel == 1 else f"MRDIMM at {dimms_per_channel}DPC"
    else:
        mts = {1: found.mts_1dpc, 2: found.mts_2dpc}.get(dimms_per_channel)
        what = f"{dimms_per_channel}DPC"
    if mts is None:
        return None, f"{found.name}: no published speed for {what} in xeonfleet/parsers/xeon_table.py"
    return mts, f"{found.name} {what} ({found.source})"


# AMD EPYC memory channels per socket (AMD product briefs; PerfSpect internal/cpus/cpu_defs.go).
AMD_CHANNELS = {"zen2": 8, "zen3": 8, "zen4": 12, "zen5": 12}
