"""/proc/cpuinfo: per-processor blocks and the CPU identity (x86 and aarch64 shapes)."""

from __future__ import annotations

import re

ISA_FLAGS = {
    "avx2": "avx2",
    "avx512f": "avx512f",
    "avx512_vnni": "avx512_vnni",
    "avx512_bf16": "avx512_bf16",
    "amx_tile": "amx_tile",
    "amx_int8": "amx_int8",
    "amx_bf16": "amx_bf16",
    "avx_vnni": "avx_vnni",
    "fma": "fma",
}
_BASE_GHZ = re.compile(r"@\s*([0-9.]+)\s*GHz", re.IGNORECASE)


# Beyond the first processor, only what tells CPUs apart is needed (placement, microcode).
_PER_CPU_KEYS = re.compile(r"^(processor|physical id|core id|microcode)[ \t]*:[ \t]*([^\n]*)", re.MULTILINE)


def _parse_block(lines: list[str]) -> dict[str, str]:
    block = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep:
            block[key.strip()] = value.strip()
    return block


def parse_cpuinfo_blocks(lines: list[str] | None) -> list[dict[str, str]]:
    """One dict per "processor" block: every key for the first, placement + microcode for the rest.

    Keys are as the kernel prints them ("cpu family"). A regex pass keeps a 224-CPU cpuinfo
    (6,000 lines) cheap to parse inside the fleet gather.
    """
    if not lines:
        return []
    first_start = next((i for i, line in enumerate(lines) if line.startswith("processor")), None)
    if first_start is None:
        return []
    first_end = next((i for i in range(first_start + 1, len(lines))
                      if not lines[i].strip() or lines[i].startswith("processor")), len(lines))
    blocks: list[dict[str, str]] = []
    for key, value in _PER_CPU_KEYS.findall("\n".join(lines[first_start:])):
        if key == "processor":
            blocks.append({})
        if blocks:
            blocks[-1][key] = value.strip()
    blocks[0] = {**_parse_block(lines[first_start:first_end]), **blocks[0]}
    return blocks


def _int(text: str | None, base: int = 10) -> int | None:
    try:
        return int(text, base) if text not in (None, "") else None
    except ValueError:
        return None


def detect_arch(block: dict[str, str]) -> str | None:
    """The architecture from the cpuinfo shape (x86 has vendor_id, aarch64 has CPU implementer)."""
    if "vendor_id" in block or "flags" in block:
        return "x86_64" if " lm " in f" {block.get('flags', '')} " else "i686"
    if "CPU implementer" in block or block.get("CPU architecture") == "8":
        return "aarch64"
    if "POWER" in block.get("cpu", ""):
        return "ppc64le"
    if block.get("isa", "").startswith("rv64"):
        return "riscv64"
    return None


def summarize_cpuinfo(blocks: list[dict[str, str]], errors: list[str]) -> dict:
    """CPU identity, ISA and microcode from the first processor, uniformity over all."""
    if not blocks:
        errors.append("proc/cpuinfo missing or empty: CPU identity unknown")
        return {
            "vendor": None, "model_name": None, "family": None, "model": None,
            "stepping": None, "arch": None, "microcode": None, "microcode_uniform": None,
            "flags": [], "isa": {name: None for name in ISA_FLAGS}, "base_ghz": None,
        }
    first = blocks[0]
    flags_text = first.get("flags")
    flags = flags_text.split() if flags_text is not None else []
    isa = {name: (flag in flags if flags_text is not None else None) for name, flag in ISA_FLAGS.items()}
    microcodes = {block.get("microcode") for block in blocks}
    model_name = first.get("model name")
    base = _BASE_GHZ.search(model_name or "")
    return {
        "vendor": first.get("vendor_id"),
        "model_name": model_name,
        "family": _int(first.get("cpu family")),
        "model": _int(first.get("model")),
        "stepping": _int(first.get("stepping")),
        "arch": detect_arch(first),
        "microcode": first.get("microcode"),
        "microcode_uniform": len(microcodes) == 1 if first.get("microcode") else None,
        "flags": flags,
        "isa": isa,
        "base_ghz": float(base.group(1)) if base else None,
    }
