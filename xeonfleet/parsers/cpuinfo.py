"""/proc/cpuinfo: per-processor blocks and the CPU identity, in every layout the kernel prints.

Most architectures print one "processor : N" block per CPU (x86, arm64, armv7, ppc64, riscv,
loongarch), some with keys outside the blocks (loongarch's "system type" before them, ppc's
"machine" after them). s390 prints one header and a "processor N: version = ..." line per CPU;
sparc prints one header and a "CPUn : online" line per CPU. Keys an architecture does not have
come out as None, never as a crash.
"""

from __future__ import annotations

import re

# cpu.isa key -> the /proc/cpuinfo flag the kernel prints for it (the keys only CPUID can tell, and the
# CPUID bit of every key, are in xeonfleet/parsers/cpuid.py).
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
    "avx512_fp16": "avx512_fp16",
}
_BASE_GHZ = re.compile(r"@\s*([0-9.]+)\s*GHz", re.IGNORECASE)

# Beyond the first processor, only what tells CPUs apart is needed (placement, microcode).
_PER_CPU_KEYS = re.compile(r"^(processor|physical id|core id|microcode)[ \t]*:[ \t]*([^\n]*)", re.MULTILINE)
_PROCESSOR_LINE = re.compile(r"^processor[ \t]*:")
# s390: "processor 0: version = FF,  identification = 0133E8,  machine = 2964"
_S390_PROCESSOR = re.compile(r"^processor[ \t]+(\d+)[ \t]*:(.*)$")
# sparc: "CPU0\t\t: online"
_SPARC_CPU = re.compile(r"^CPU(\d+)[ \t]*:[ \t]*online")

# arm "CPU implementer" -> the vendor name lscpu prints (util-linux lscpu-arm.c).
ARM_IMPLEMENTERS = {
    0x41: "ARM", 0x42: "Broadcom", 0x43: "Cavium", 0x44: "DEC", 0x46: "FUJITSU", 0x48: "HiSilicon",
    0x49: "Infineon", 0x4D: "Motorola/Freescale", 0x4E: "NVIDIA", 0x50: "APM", 0x51: "Qualcomm",
    0x53: "Samsung", 0x56: "Marvell", 0x61: "Apple", 0x66: "Faraday", 0x69: "Intel", 0x6D: "Microsoft",
    0x70: "Phytium", 0xC0: "Ampere",
}


def _parse_block(lines: list[str]) -> dict[str, str]:
    block = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.strip():
            block.setdefault(key.strip(), value.strip())
    return block


def _numbered_blocks(lines: list[str], pattern: re.Pattern[str]) -> list[dict[str, str]]:
    """s390/sparc: one header for all CPUs, then a line per CPU naming its number."""
    header = _parse_block([line for line in lines if not pattern.match(line)])
    blocks = [{"processor": match.group(1)} for line in lines if (match := pattern.match(line))]
    if not blocks:
        return [header] if header else []
    blocks[0] = {**header, **blocks[0]}
    return blocks


def parse_cpuinfo_blocks(lines: list[str] | None) -> list[dict[str, str]]:
    """One dict per CPU: every key for the first (header keys included), placement + microcode for the rest.

    Keys are as the kernel prints them ("cpu family"). A regex pass keeps a 224-CPU cpuinfo
    (6,000 lines) cheap to parse inside the fleet gather.
    """
    if not lines:
        return []
    first_start = next((i for i, line in enumerate(lines) if _PROCESSOR_LINE.match(line)), None)
    if first_start is None:
        if any(_S390_PROCESSOR.match(line) for line in lines):
            return _numbered_blocks(lines, _S390_PROCESSOR)
        return _numbered_blocks(lines, _SPARC_CPU)
    first_end = next((i for i in range(first_start + 1, len(lines))
                      if not lines[i].strip() or _PROCESSOR_LINE.match(lines[i])), len(lines))
    blocks: list[dict[str, str]] = []
    for key, value in _PER_CPU_KEYS.findall("\n".join(lines[first_start:])):
        if key == "processor":
            blocks.append({})
        if blocks:
            blocks[-1][key] = value.strip()
    last_start = max(i for i, line in enumerate(lines) if _PROCESSOR_LINE.match(line))
    last_end = next((i for i in range(last_start, len(lines)) if not lines[i].strip()), len(lines))
    outside = _parse_block(lines[:first_start] + lines[last_end:])
    blocks[0] = {**outside, **_parse_block(lines[first_start:first_end]), **blocks[0]}
    return blocks


def _int(text: str | None, base: int = 10) -> int | None:
    try:
        return int(text, base) if text not in (None, "") else None
    except ValueError:
        return None


def detect_arch(block: dict[str, str]) -> str | None:
    """The architecture from the cpuinfo shape (the keys each architecture's kernel prints)."""
    if block.get("vendor_id", "").startswith("IBM/S390"):
        return "s390x"
    if "vendor_id" in block or "flags" in block:
        return "x86_64" if " lm " in f" {block.get('flags', '')} " else "i686"
    if "CPU implementer" in block or "CPU architecture" in block:
        arch = block.get("CPU architecture", "")
        return "aarch64" if arch in ("8", "AArch64") or _int(arch) and _int(arch) >= 8 else "armv7l"
    if "POWER" in block.get("cpu", "") or "timebase" in block:
        return "ppc64le"
    if block.get("isa", "").startswith("rv64"):
        return "riscv64"
    if block.get("isa", "").startswith("rv32"):
        return "riscv32"
    if "loongarch" in block.get("ISA", "").lower() or "Loongson" in block.get("CPU Family", ""):
        return "loongarch64"
    if "sparc" in block.get("cpu", "").lower() or block.get("type", "").startswith("sun4"):
        return "sparc64"
    return None


def _vendor(block: dict[str, str]) -> str | None:
    """x86/s390 vendor_id, arm's implementer by name (as lscpu prints it); None where there is none."""
    if "vendor_id" in block:
        return block["vendor_id"]
    implementer = _int(block.get("CPU implementer"), 16)
    if implementer is not None:
        return ARM_IMPLEMENTERS.get(implementer, f"0x{implementer:02x}")
    return None


def _model_name(block: dict[str, str]) -> str | None:
    for key in ("model name", "Model Name", "cpu", "uarch"):
        if block.get(key):
            return block[key]
    return None


def _flags(block: dict[str, str]) -> str | None:
    """The feature list: x86 "flags", arm "Features", s390 "features"."""
    for key in ("flags", "Features", "features"):
        if key in block:
            return block[key]
    return None


def summarize_cpuinfo(blocks: list[dict[str, str]], errors: list[str]) -> dict:
    """CPU identity, ISA and microcode from the first processor, uniformity over all."""
    if not blocks:
        errors.append("proc/cpuinfo missing or empty: CPU identity unknown")
        return {
            "vendor": None, "model_name": None, "family": None, "model": None,
            "stepping": None, "arch": None, "microcode": None, "microcode_uniform": None,
            "flags": [], "x86_flags": None, "isa": {name: None for name in ISA_FLAGS}, "base_ghz": None, "mhz": None,
        }
    first = blocks[0]
    arch = detect_arch(first)
    flags_text = _flags(first)
    flags = flags_text.split() if flags_text is not None else []
    x86 = arch in ("x86_64", "i686")
    isa = {name: (flag in flags if x86 and flags_text is not None else None) for name, flag in ISA_FLAGS.items()}
    microcodes = {block.get("microcode") for block in blocks}
    model_name = _model_name(first)
    base = _BASE_GHZ.search(model_name or "") if x86 else None
    mhz = first.get("cpu MHz")
    return {
        "vendor": _vendor(first),
        "model_name": model_name,
        "family": _int(first.get("cpu family")) if x86 else None,
        "model": _int(first.get("model")) if x86 else None,
        "stepping": _int(first.get("stepping")) if x86 else None,
        "arch": arch,
        "microcode": first.get("microcode"),
        "microcode_uniform": len(microcodes) == 1 if first.get("microcode") else None,
        "flags": flags,
        "x86_flags": flags if x86 and flags_text is not None else None,  # None: no x86 flags line
        "isa": isa,
        "base_ghz": float(base.group(1)) if base else None,
        "mhz": float(mhz) if mhz and mhz.replace(".", "", 1).isdigit() else None,
    }
