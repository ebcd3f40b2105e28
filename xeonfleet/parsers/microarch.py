"""CPU identity -> gcc -march name, AVX-512 FMA units per core, memory channels per socket."""

from __future__ import annotations

import re

# Intel family 6 server models (SDM / kernel arch/x86/include/asm/intel-family.h).
_INTEL_SERVER_MODELS = {
    0x6A: "icelake-server",
    0x6C: "icelake-server",
    0x8F: "sapphirerapids",
    0xCF: "emeraldrapids",
    0xAD: "graniterapids",
    0xAE: "graniterapids",
}
# Model 0x55 is three generations told apart by stepping.
_MODEL_55_BY_STEPPING = (
    (range(0, 5), "skylake-avx512"),
    (range(5, 8), "cascadelake"),
    (range(10, 12), "cooperlake"),
)
# AMD Zen generations by (family, model range).
_AMD_MODELS = (
    (0x17, range(0x30, 0x50), "zen2"),
    (0x17, range(0x60, 0x80), "zen2"),
    (0x19, range(0x00, 0x10), "zen3"),
    (0x19, range(0x10, 0x20), "zen4"),
    (0x19, range(0x20, 0x60), "zen3"),
    (0x19, range(0x60, 0x80), "zen4"),
    (0x19, range(0xA0, 0xB0), "zen4"),
    (0x1A, range(0x00, 0x100), "zen5"),
)
CHANNELS_PER_SOCKET = {
    "skylake-avx512": 6,
    "cascadelake": 6,
    "cooperlake": 6,
    "icelake-server": 8,
    "sapphirerapids": 8,
    "emeraldrapids": 8,
    "graniterapids": 12,
    "zen2": 8,
    "zen3": 8,
    "zen4": 12,
    "zen5": 12,
}
_TWO_FMA_GENERATIONS = {"sapphirerapids", "emeraldrapids", "graniterapids"}
_TWO_FMA_SKU = re.compile(r"Platinum\s+8\d{3}|Gold\s+6\d{3}")
_ONE_FMA_SKU = re.compile(r"Gold\s+5\d{3}|Silver\s+4\d{3}|Bronze\s+3\d{3}")

def microarch(vendor: str | None, family: int | None, model: int | None,
              stepping: int | None) -> str | None:
    """gcc -march name for a server CPU, or None when not one we know."""
    if family is None or model is None:
        return None
    if vendor == "GenuineIntel" and family == 6:
        if model == 0x55:
            for steppings, name in _MODEL_55_BY_STEPPING:
                if stepping is not None and stepping in steppings:
                    return name
            return None
        return _INTEL_SERVER_MODELS.get(model)
    if vendor == "AuthenticAMD":
        for fam, models, name in _AMD_MODELS:
            if family == fam and model in models:
                return name
    return None


# Intel server generations, oldest first, each with the flags that prove a core is at least that
# new (kernel cpufeatures names; Intel ISA extensions reference, table 1-2). Hypervisors mask the
# model number and name but pass the flags: a KVM guest on Sapphire Rapids reads "model 167,
# Intel(R) Xeon(R) Processor" and still has amx_tile. Emerald Rapids adds no flag over Sapphire
# Rapids, so flags can prove "sapphirerapids class", never Emerald Rapids.
INTEL_GENERATIONS_BY_FLAGS: tuple[tuple[str, frozenset[str]], ...] = (
    ("skylake-avx512", frozenset({"avx512f", "avx512bw", "avx512vl"})),
    ("cascadelake", frozenset({"avx512_vnni"})),
    ("cooperlake", frozenset({"avx512_vnni", "avx512_bf16"})),
    ("icelake-server", frozenset({"avx512_vnni", "avx512_vbmi2", "avx512_bitalg", "gfni"})),
    ("sapphirerapids", frozenset({"amx_tile", "avx512_fp16"})),
    ("graniterapids", frozenset({"amx_tile", "amx_fp16"})),
)


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
    (masked or unknown models); source is "model", "flags" or None."""
    by_model = microarch(vendor, family, model, stepping)
    by_flags = microarch_from_flags(vendor, flags)
    newer = _generation_index(by_flags) > _generation_index(by_model)
    if by_flags and (by_model is None or (by_model in dict(INTEL_GENERATIONS_BY_FLAGS) and newer)):
        return by_flags, "flags"
    return (by_model, "model") if by_model else (None, None)


def fma_units(model_name: str | None, arch: str | None, avx512f: bool | None) -> int | None:
    """AVX-512 FMA units per core: 0 without AVX-512, else from the SKU or generation, else None.

    Every AMX Xeon (Sapphire Rapids and newer) has two; before that it depends on the SKU, which
    a masked model name hides: then the count is unknown, never a guess.
    """
    if avx512f is None:
        return None
    if not avx512f:
        return 0
    if arch in _TWO_FMA_GENERATIONS or _TWO_FMA_SKU.search(model_name or ""):
        return 2
    if _ONE_FMA_SKU.search(model_name or ""):
        return 1
    return None


def channels_per_socket(arch: str | None) -> int | None:
    """Memory channels per socket the platform has (all must be populated for full bandwidth)."""
    return CHANNELS_PER_SOCKET.get(arch or "")
