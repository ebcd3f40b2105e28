"""CPUID leaves read through the kernel's cpuid driver -> the AI ISA bits /proc/cpuinfo does not show,
and whether a process can use AMX.

The kernel prints a flag only when cpufeatures.h gives it a /proc/cpuinfo name: amx_fp16 has none,
avx_vnni_int8, amx_complex and AVX10 are not kernel features at all (only KVM's reverse_cpuid.h
defines them, to pass them to guests), and kernels before avx512_fp16 was added omit that too. So the
probe reads CPU 0's leaves through /dev/cpu/0/cpuid (16 bytes EAX EBX ECX EDX at offset
leaf | subleaf << 32, arch/x86/kernel/cpuid.c) and prints each as "dev/cpu/0/cpuid/0x7.0x1:EAX EBX ECX
EDX" in hex; a snapshot stores the same text files under dev/cpu/0/cpuid/. Pure: no I/O.

Bit sources: Intel SDM vol. 2A, CPUID instruction, and the ISA extensions programming reference
(319433) table 1-2 (1-5 for AVX10); checked against Linux arch/x86/include/asm/cpufeatures.h (word 4
= 1:ECX, 9 = 7.0:EBX, 12 = 7.1:EAX, 16 = 7.0:ECX, 18 = 7.0:EDX, 10*32+4 = XFD) and
arch/x86/kvm/reverse_cpuid.h (CPUID_7_1_EDX, CPUID_24_0_EBX).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xeonfleet.parsers.cpuinfo import ISA_FLAGS
from xeonfleet.parsers.sections import ProbeOutput, needs_root_reason

CPUID_DIR = "dev/cpu/0/cpuid"
# (leaf, subleaf) the probe sends: its CPUID_LEAVES line in xeonfleet/node/probe.sh must list exactly these.
LEAVES = ((0x0, 0), (0x1, 0), (0x7, 0), (0x7, 1), (0xD, 0), (0xD, 1), (0x24, 0))
EAX, EBX, ECX, EDX = range(4)
# ISA keys no mainline kernel prints in /proc/cpuinfo: only CPUID can say yes or no.
CPUID_ONLY = ("amx_fp16", "amx_complex", "avx_vnni_int8", "avx10")
ISA_KEYS = (*ISA_FLAGS, *CPUID_ONLY)
AMX_KERNEL = (5, 16)  # first Linux with the AMX tile state and arch_prctl(ARCH_REQ_XCOMP_PERM) (commit db8268df)

_PATH = re.compile(r"^0x([0-9a-f]+)\.0x([0-9a-f]+)$")
_RELEASE = re.compile(r"^(\d+)\.(\d+)")


def leaf_runs(leaves: tuple[tuple[int, int], ...] = LEAVES) -> tuple[tuple[int, int, int], ...]:
    """(first leaf, subleaf, last leaf) per subleaf: the probe's reads (its CPUID_READS line). The driver answers
    a read of 16 x N bytes at leaf | subleaf << 32 with N consecutive leaves of that subleaf, so two reads give
    all seven: through sudo, one `sudo od` costs ~9 ms of the node's CPU and a line in its auth log."""
    subleaves = sorted({subleaf for _, subleaf in leaves})
    return tuple((min(leaf for leaf, s in leaves if s == subleaf), subleaf,
                  max(leaf for leaf, s in leaves if s == subleaf)) for subleaf in subleaves)


@dataclass(frozen=True)
class Bit:
    """One feature bit: CPUID.(EAX=leaf,ECX=subleaf):register[bit]."""

    leaf: int
    subleaf: int
    register: int
    bit: int


ISA_BITS = {
    "fma": Bit(0x1, 0, ECX, 12),  # SDM CPUID.01H:ECX.FMA[bit 12]; X86_FEATURE_FMA (4*32+12)
    "avx2": Bit(0x7, 0, EBX, 5),  # CPUID.(EAX=7,ECX=0):EBX.AVX2[bit 5]; X86_FEATURE_AVX2 (9*32+5)
    "avx512f": Bit(0x7, 0, EBX, 16),  # EBX.AVX512F[bit 16]; X86_FEATURE_AVX512F (9*32+16)
    "avx512_vnni": Bit(0x7, 0, ECX, 11),  # ECX.AVX512_VNNI[bit 11]; X86_FEATURE_AVX512_VNNI (16*32+11)
    "amx_bf16": Bit(0x7, 0, EDX, 22),  # EDX.AMX-BF16[bit 22]; X86_FEATURE_AMX_BF16 (18*32+22)
    "avx512_fp16": Bit(0x7, 0, EDX, 23),  # EDX.AVX512-FP16[bit 23]; X86_FEATURE_AVX512_FP16 (18*32+23)
    "amx_tile": Bit(0x7, 0, EDX, 24),  # EDX.AMX-TILE[bit 24]; X86_FEATURE_AMX_TILE (18*32+24)
    "amx_int8": Bit(0x7, 0, EDX, 25),  # EDX.AMX-INT8[bit 25]; X86_FEATURE_AMX_INT8 (18*32+25)
    "avx_vnni": Bit(0x7, 1, EAX, 4),  # CPUID.(EAX=7,ECX=1):EAX.AVX-VNNI[bit 4]; X86_FEATURE_AVX_VNNI (12*32+4)
    "avx512_bf16": Bit(0x7, 1, EAX, 5),  # EAX.AVX512_BF16[bit 5]; X86_FEATURE_AVX512_BF16 (12*32+5)
    "amx_fp16": Bit(0x7, 1, EAX, 21),  # EAX.AMX-FP16[bit 21]; X86_FEATURE_AMX_FP16 (12*32+21), no cpuinfo name
    "avx_vnni_int8": Bit(0x7, 1, EDX, 4),  # EDX.AVX-VNNI-INT8[bit 4]; KVM X86_FEATURE_AVX_VNNI_INT8 (7_1_EDX, 4)
    "amx_complex": Bit(0x7, 1, EDX, 8),  # EDX.AMX-COMPLEX[bit 8]; KVM X86_FEATURE_AMX_COMPLEX (7_1_EDX, 8)
    "avx10": Bit(0x7, 1, EDX, 19),  # EDX.AVX10[bit 19]: leaf 24H is valid; KVM X86_FEATURE_AVX10 (7_1_EDX, 19)
}
# The processor can put XTILEDATA (state component 18) in XCR0: CPUID.(EAX=0DH,ECX=0):EAX[bit 18].
XTILEDATA = Bit(0xD, 0, EAX, 18)
# XFD (extended feature disable): CPUID.(EAX=0DH,ECX=1):EAX[bit 4]; X86_FEATURE_XFD (10*32+4). Linux
# clears amx_tile without it (cpuid-deps.c: AMX_TILE depends on XFD) and never enables the tile state.
XFD = Bit(0xD, 1, EAX, 4)
# Leaf 24H (AVX10 converged vector ISA): EBX[7:0] the version; EBX bits 16/17/18 128/256/512-bit vectors
# (KVM X86_FEATURE_AVX10_128/256/512 = CPUID_24_0_EBX 16/17/18).
AVX10_LEAF = (0x24, 0)
AVX10_VECTOR_BITS = ((18, 512), (17, 256), (16, 128))

Leaves = dict[tuple[int, int], tuple[int, int, int, int]]


@dataclass(frozen=True)
class CpuidFacts:
    """What the dump proves: each ISA key true/false (None: a leaf it needs was not in the dump)."""

    isa: dict[str, bool | None]
    avx10_version: int | None
    avx10_vector_bits: int | None
    xfd: bool | None
    xtiledata: bool | None


def parse_leaves(files: dict[str, list[str]], errors: list[str]) -> Leaves:
    """{"0x7.0x1": ["EAX EBX ECX EDX"]} (the probe's dev/cpu/0/cpuid/ files by name) -> {(7, 1): (eax, ...)}."""
    leaves: Leaves = {}
    for name, lines in files.items():
        match = _PATH.match(name)
        words = (lines[0] if lines else "").split()
        try:
            if match is None or len(words) != 4:
                raise ValueError
            leaves[(int(match.group(1), 16), int(match.group(2), 16))] = tuple(int(w, 16) for w in words)  # type: ignore[assignment]
        except ValueError:
            errors.append(f"{CPUID_DIR}/{name}: not 4 hex words (EAX EBX ECX EDX): ignored")
    return leaves


def from_probe(probe: ProbeOutput, x86: bool, errors: list[str]) -> tuple[CpuidFacts | None, str | None]:
    """(what CPU 0's CPUID proves, None) or, on x86 without a dump, (None, why) with the same line in errors."""
    files = probe.matching(f"{CPUID_DIR}/", "")
    if not x86:
        return None, None
    leaves = parse_leaves(files, errors)
    if (0, 0) in leaves:
        return decode(leaves), None
    if files:
        missing = f"{CPUID_DIR} dump has no leaf 0"
    elif CPUID_DIR in probe.needs_root:
        missing = needs_root_reason("CPUID", CPUID_DIR)
    elif CPUID_DIR in probe.unreadable:
        missing = f"{CPUID_DIR} not readable"
    else:
        missing = f"no {CPUID_DIR} (cpuid driver not loaded: modprobe cpuid; or a snapshot without it)"
    errors.append(f"{missing}: cpu.isa {', '.join(CPUID_ONLY)} and cpu.avx10 unknown")
    return None, missing


def _enumerated(leaves: Leaves, leaf: int, subleaf: int) -> bool | None:
    """Whether the CPU has (leaf, subleaf) at all; None when the dump cannot tell. Above the highest
    basic leaf (CPUID.0:EAX) Intel CPUs return the highest leaf's data, so it must not be read as bits."""
    if (0, 0) not in leaves:
        return None
    if leaf > leaves[(0, 0)][EAX]:
        return False
    if (leaf, subleaf) == (0x7, 1):  # CPUID.(EAX=7,ECX=0):EAX is the highest subleaf of leaf 7
        return leaves[(0x7, 0)][EAX] >= 1 if (0x7, 0) in leaves else None
    return True


def _bit(leaves: Leaves, bit: Bit) -> bool | None:
    present = _enumerated(leaves, bit.leaf, bit.subleaf)
    if present is False:
        return False
    if present is None or (bit.leaf, bit.subleaf) not in leaves:
        return None
    return bool(leaves[(bit.leaf, bit.subleaf)][bit.register] >> bit.bit & 1)


def decode(leaves: Leaves) -> CpuidFacts:
    """The ISA bits, the AVX10 version and widest vector, and the two bits the AMX tile state needs."""
    isa = {key: _bit(leaves, bit) for key, bit in ISA_BITS.items()}
    version = vector_bits = None
    if isa["avx10"] and AVX10_LEAF in leaves and _enumerated(leaves, *AVX10_LEAF):
        ebx = leaves[AVX10_LEAF][EBX]
        version = ebx & 0xFF or None
        vector_bits = next((bits for bit, bits in AVX10_VECTOR_BITS if ebx >> bit & 1), None)
    return CpuidFacts(isa, version, vector_bits, _bit(leaves, XFD), _bit(leaves, XTILEDATA))


def merge_isa(flags: list[str] | None, cpuid: CpuidFacts | None) -> tuple[dict[str, bool | None], dict[str, str | None]]:
    """(cpu.isa, cpu.isa_source) from the x86 flags line (None: no flags line, or not x86) and CPUID.

    True when either says so ("cpuinfo" wins the source when both do); false when CPUID was read and
    says no, or, for a flag the kernel prints, when the flags line lacks it and CPUID was not read;
    null when neither can tell (a CPUID-only key without CPUID, or no flags line and no CPUID).
    """
    have = set(flags or ())
    isa: dict[str, bool | None] = {}
    source: dict[str, str | None] = {}
    for key in ISA_KEYS:
        by_cpuid = cpuid.isa.get(key) if cpuid else None
        if flags is not None and ISA_FLAGS.get(key, key) in have:
            isa[key], source[key] = True, "cpuinfo"
        elif by_cpuid is not None:
            isa[key], source[key] = by_cpuid, "cpuid"
        elif flags is not None and key in ISA_FLAGS:
            isa[key], source[key] = False, "cpuinfo"
        else:
            isa[key], source[key] = None, None
    return isa, source


def proven_flags(flags: list[str], isa: dict[str, bool | None]) -> list[str]:
    """The cpuinfo flags plus the kernel-style names of the ISA keys CPUID proved (what
    microarch.identify reads, so a masked Granite Rapids with amx_fp16 only in CPUID is told apart)."""
    return flags + [ISA_FLAGS.get(key, key) for key, present in isa.items()
                    if present and ISA_FLAGS.get(key, key) not in flags]


def _kernel_before_amx(release: str | None) -> bool | None:
    match = _RELEASE.match(release or "")
    return (int(match.group(1)), int(match.group(2))) < AMX_KERNEL if match else None


def amx_usable(flags: list[str] | None, cpuid: CpuidFacts | None, cpuid_missing: str | None,
               kernel: str | None) -> tuple[bool | None, str]:
    """(cpu.amx_usable, cpu.amx_usable_reason): whether a process here can get AMX.

    Linux shows amx_tile in /proc/cpuinfo only once it enabled the tile state (5.16+: the flag needs XFD,
    cpuid-deps.c, and xstate.c drops the tile components when the flag is gone), so the flags line
    decides; CPUID and the kernel release only say why not. Each process must still request the state
    (arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA)): the frameworks checks record that answer per env.
    """
    if flags is None:
        return None, "no x86 flags line in /proc/cpuinfo: cannot tell whether the kernel enabled AMX"
    if "amx_tile" in flags:
        return True, ("the kernel enabled the AMX tile state (amx_tile in /proc/cpuinfo); each process still "
                      "requests it with arch_prctl(ARCH_REQ_XCOMP_PERM), which frameworks.envs records per env")
    has_amx = cpuid.isa["amx_tile"] if cpuid else None
    if has_amx is False:
        return False, "the CPU has no AMX (CPUID.(EAX=7,ECX=0):EDX[24] AMX-TILE clear)"
    old = _kernel_before_amx(kernel)
    if has_amx is None:
        why = "; whether the CPU has AMX is unknown: " + (cpuid_missing or "CPUID leaf 7 not read")
        if old:
            return False, f"kernel {kernel} predates Linux 5.16, the first to enable AMX{why}"
        return False, f"no amx_tile in /proc/cpuinfo: the CPU has no AMX or the kernel did not enable it{why}"
    if old:
        return False, f"the CPU has AMX but kernel {kernel} predates Linux 5.16, the first to enable it: boot a 5.16+ kernel"
    if cpuid.xfd is False:
        return False, ("the CPU reports AMX but not XFD (CPUID.(EAX=0DH,ECX=1):EAX[4]), without which Linux "
                       "disables AMX: a hypervisor passing AMX without XFD; expose XFD to the guest")
    if cpuid.xtiledata is False:
        return False, ("the CPU reports AMX but no XTILEDATA state (CPUID.(EAX=0DH,ECX=0):EAX[18]): a hypervisor "
                       "hiding the tile state; expose it to the guest")
    return False, ("the CPU has AMX but the kernel did not enable it (no amx_tile in /proc/cpuinfo: clearcpuid= "
                   "on the command line, or a failed XSTATE check at boot: see dmesg)")
