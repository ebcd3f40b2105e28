"""One ranking of the CPU ISA names AI frameworks print, and the ISA a node's flags allow per precision.

oneDNN has renamed its ISAs (v3.5+ prints `avx10_1_512_amx` where v3.0 printed `avx512_core_amx`),
and OpenVINO's runtime graph names primitives by a coarser family (`brgconv_avx512_amx_bf16`,
`brgconv_avx512_f32`). Everything is normalised to oneDNN's classic names, so a rule compares like
with like. OpenVINO's `avx512` / `avx2` say only the family, not the level (VNNI? BF16?): they become
`avx512*` / `avx2*`, which meet a wanted ISA of the same family and no more.

Stdlib only, Python 3.8+: the node-side helper (node_env.py) and the benchmark runners import it on
the node, the audit rules on the controller.
"""

import re

# Best last. oneDNN orders them partially (AVX2_VNNI_2 and AVX-512 are apart); a node only ever
# compares names its own CPU can run, so one line is enough. avx10_2_512 has no AMX: below AMX.
RANKED = (
    "sse41", "avx", "avx2", "avx2_vnni", "avx2_vnni_2",
    "avx512_core", "avx512_core_vnni", "avx512_core_bf16", "avx512_core_fp16", "avx10_2_512",
    "avx512_core_amx", "avx512_core_amx_fp16", "avx10_2_512_amx_2",
)
# oneDNN's other spellings (doc: "aliased for backward compatibility with the introduction of AVX10.1")
# and the pre-3.0 names.
ALIASES = {
    "avx10_1_512": "avx512_core_fp16",
    "avx10_1_512_amx": "avx512_core_amx",
    "avx10_1_512_amx_fp16": "avx512_core_amx_fp16",
    "avx512_common": "avx512_core",
    "avx512_core_bf16_amx_int8": "avx512_core_amx",
    "avx512_core_bf16_amx_bf16": "avx512_core_amx",
    "sse42": "sse41",
}
FAMILIES = ("sse", "avx", "avx2", "avx512", "amx")
_NAMES = sorted(set(RANKED) | set(ALIASES), key=len, reverse=True)  # longest first: amx_fp16 before amx
_ONEDNN_NAME = re.compile(r"(?<![a-z0-9])(" + "|".join(_NAMES) + r")(?![a-z0-9])")

# oneDNN's "isa:" info line (what the library will use on this CPU) -> name; first match wins.
# "Intel AVX10.1 and Intel AMX with bfloat16 and 8-bit integer support" is Sapphire Rapids (no AMX-FP16:
# `\bfloat16` does not match "bfloat16").
_INFO = (
    (r"AVX10\.2.*AMX", "avx10_2_512_amx_2"),
    (r"AMX\b.*\bfloat16", "avx512_core_amx_fp16"),
    (r"AMX", "avx512_core_amx"),
    (r"AVX10\.2", "avx10_2_512"),
    (r"AVX10\.1|AVX-512 with float16", "avx512_core_fp16"),
    (r"AVX-512.*bfloat16", "avx512_core_bf16"),
    (r"AVX-512.*DL Boost", "avx512_core_vnni"),
    (r"AVX-512", "avx512_core"),
    (r"AVX2.*DL Boost.*(float16|bfloat16)", "avx2_vnni_2"),
    (r"AVX2.*DL Boost", "avx2_vnni"),
    (r"AVX2", "avx2"),
    (r"AVX", "avx"),
    (r"SSE4\.1", "sse41"),
)

# Per precision, the ISA a node should reach, from its /proc/cpuinfo flags, best first. No entry for
# a precision means no native path (BF16 without avx512_bf16/amx_bf16 is emulated): not checked.
WANTED_FOR_FLAGS = {
    "fp32": (("avx512f", "avx512_core"), ("avx2", "avx2")),
    "bf16": (("amx_bf16", "avx512_core_amx"), ("avx512_bf16", "avx512_core_bf16")),
    "int8": (("amx_int8", "avx512_core_amx"), ("avx512_vnni", "avx512_core_vnni"), ("avx_vnni", "avx2_vnni")),
}
PRECISIONS = tuple(WANTED_FOR_FLAGS)


def canonical(name):
    """A oneDNN ISA name in any spelling -> its classic name (unknown names come back as they are)."""
    return ALIASES.get(name, name)


def onednn_isa(impl):
    """oneDNN implementation name ("brg_matmul:avx10_1_512_amx", "jit:avx2") -> ISA, or None
    ("ref:any", "gemm:jit", "jit:uni" name no ISA)."""
    match = _ONEDNN_NAME.search(impl.lower())
    return canonical(match.group(1)) if match else None


def openvino_isa(primitive_type):
    """OpenVINO CPU primitive type ("brgconv_avx512_amx_bf16", "jit_avx2_1x1_f32") -> ISA or family."""
    words = primitive_type.lower().split("_")
    if "amx" in words:
        return "avx512_core_amx"
    exact = onednn_isa(primitive_type)
    if exact and exact.startswith("avx512_core"):  # "jit_avx512_core_vnni_1x1" says the level
        return exact
    for word, name in (("avx512", "avx512*"), ("avx2", "avx2*"), ("avx", "avx"), ("sse42", "sse41")):
        if word in words:
            return name
    return None


def info_isa(text):
    """The text of oneDNN's "isa:" info line -> the best ISA it will use (the text itself if unknown)."""
    return next((name for pattern, name in _INFO if re.search(pattern, text)), text)


def family(name):
    if "amx" in name:
        return "amx"
    if name.startswith(("avx512", "avx10")):
        return "avx512"
    if name.startswith("avx2"):
        return "avx2"
    return "avx" if name.startswith("avx") else "sse"


def rank(name):
    """Position in RANKED (a family name ranks as its lowest member; unknown: -1)."""
    name = canonical((name or "").rstrip("*"))
    if name == "avx512":
        name = "avx512_core"
    return RANKED.index(name) if name in RANKED else -1


def meets(ran, wanted):
    """True when an ISA that ran is at least the wanted one; a family name ("avx512*") only says
    its family, so it meets any wanted ISA of that family or below."""
    if ran is None:
        return False
    if ran.endswith("*"):
        return FAMILIES.index(family(ran)) >= FAMILIES.index(family(wanted))
    return rank(ran) >= rank(wanted)


def wanted_isa(precision, flags):
    """The ISA a node with these cpuinfo flags should run `precision` on, or None (no native path)."""
    return next((name for flag, name in WANTED_FOR_FLAGS[precision] if flag in flags), None)


def precisions_for(flags):
    """The precisions the flags give a native path for, in PRECISIONS order."""
    return [p for p in PRECISIONS if wanted_isa(p, flags)]
