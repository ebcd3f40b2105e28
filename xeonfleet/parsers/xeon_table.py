"""The table of Intel server generations and their platform segments: data, one row per segment, each
with its source. Read through xeonfleet/parsers/microarch.py.

Sources, cited per row by the short names below:
- kernel: Linux arch/x86/include/asm/intel-family.h (family/model of every generation; Diamond Rapids is
  INTEL_PANTHERCOVE_X, family 19 model 1; Sierra Forest INTEL_ATOM_CRESTMONT_X 0xAF; Clearwater Forest
  INTEL_ATOM_DARKMONT_X 0xDD).
- perfspect: intel/PerfSpect internal/cpus/cpu_defs.go (MemoryChannelCount per microarchitecture: SKX/CLX/
  CPX 6, ICX/SPR/EMR 8, SRF_SP 8 / SRF_AP 12, GNR_X1/X2 8 / GNR_X3 12, GNR_D unknown, CWF 12, DMR 16).
- brief-N: Intel's product brief of the Nth generation Xeon Scalable / Xeon 6 family (memory speed per
  SKU tier; two AVX-512 FMA units on Platinum and Gold 6, one on Silver and Bronze).
- ark: Intel's ark pages, "# of AVX-512 FMA Units" per SKU, as tabulated for Skylake-SP, Cascade Lake and
  Xeon W in jeffhammond/vpu-count's README (a SKU not listed there is not in fma_by_sku: null).
A value no source here confirms is None: the rules then say `unknown` with the reason.
SNC modes are named as the BIOS does: "off" (quadrant/UMA/HEX: one NUMA node per socket), SNC2, SNC3, SNC4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Segment:
    """One platform segment of a generation, told apart by the SKU in the model name."""

    name: str
    sku: re.Pattern[str]  # searched in /proc/cpuinfo's model name
    channels: int | None  # memory channels per socket
    mts_1dpc: int | None  # fastest DDR at 1 DIMM per channel
    mts_2dpc: int | None  # ... at 2 DIMMs per channel (None: not published, or a 1DPC-only platform)
    fma_units: int | None  # AVX-512 FMA units per core of every SKU of the segment (None: per SKU)
    snc_modes: tuple[str, ...] | None  # the clustering modes the BIOS offers (None: not published here)
    source: str
    mrdimm_mts: int | None = None  # MRDIMM (MCR DIMM) speed at 1DPC, where the segment takes them
    fma_by_sku: dict[str, int] = field(default_factory=dict)  # SKU -> units, where ark lists an exception


@dataclass(frozen=True)
class Generation:
    """One generation: its identity (vendor, family, models, steppings) and its segments."""

    microarch: str  # gcc -march name
    title: str
    vendor: str
    family: int
    models: tuple[int, ...]
    steppings: range | None  # None: any stepping
    fma_units: int | None  # units per core of every SKU of the generation (None: by segment or SKU)
    segments: tuple[Segment, ...]
    smt: bool = True  # False: the cores have no SMT (Hyper-Threading) to enable


def _sku(pattern: str) -> re.Pattern[str]:
    """A SKU pattern, case-blind: Emerald Rapids prints "INTEL(R) XEON(R) PLATINUM 8592+"."""
    return re.compile(pattern, re.IGNORECASE)


# The only segment of a generation that has one: any model name, a masked one included.
_SOLE = re.compile("")

GENERATIONS: tuple[Generation, ...] = (
    # Skylake-SP, 1st gen Xeon Scalable: INTEL_SKYLAKE_X 0x55, steppings 0-4 (kernel). 6 channels DDR4
    # (perfspect); 2666 on Platinum/Gold 6, 2400 on Gold 5/Silver, 2133 on Bronze, at 1 and 2DPC (brief-1).
    # FMA units: two on Platinum and Gold 6; one on Gold 5 except the 5122, one on Silver/Bronze (ark).
    Generation("skylake-avx512", "Skylake-SP (1st gen Xeon Scalable)", "GenuineIntel", 6, (0x55,), range(0, 5), None, (
        Segment("Platinum 81xx/Gold 61xx", _sku(r"\b(Platinum 81\d\d|Gold 61\d\d)"), 6, 2666, 2666, 2, ("off", "SNC2"),
                "perfspect; brief-1"),
        Segment("Gold 51xx", _sku(r"\bGold 51\d\d"), 6, 2400, 2400, None, ("off", "SNC2"), "perfspect; brief-1; ark",
                fma_by_sku={"5115": 1, "5118": 1, "5119": 1, "5120": 1, "5122": 2}),
        Segment("Silver 41xx/Bronze 31xx", _sku(r"\b(Silver 41\d\d|Bronze 31\d\d)"), 6, None, None, 1, ("off", "SNC2"),
                "perfspect; brief-1 (2400 Silver, 2133 Bronze: not told apart here)"),
        Segment("Xeon W-21xx", _sku(r"\bW-21\d\d"), 4, None, None, 2, None, "ark (Skylake-W, 4 channels)"),
        Segment("Xeon D-21xx", _sku(r"\bD-21\d\d"), 4, None, None, None, None, "ark (Skylake-D, 4 channels)"),
    )),
    # Cascade Lake-SP, 2nd gen: 0x55 steppings 5-7 (kernel). Platinum 82xx/Gold 62xx DDR4-2933 at 1DPC,
    # 2666 at 2DPC; Gold 52xx 2666; Silver 42xx 2400; Bronze 32xx 2133 (brief-2). Platinum 92xx (AP): 12
    # channels (brief-2, two dies). FMA: Gold 52xx one except 5222 (ark); suffixed SKUs (5218R ...) not listed.
    Generation("cascadelake", "Cascade Lake (2nd gen Xeon Scalable)", "GenuineIntel", 6, (0x55,), range(5, 8), None, (
        Segment("Platinum 82xx/Gold 62xx", _sku(r"\b(Platinum 82\d\d|Gold 62\d\d)"), 6, 2933, 2666, 2,
                ("off", "SNC2"), "perfspect; brief-2"),
        Segment("Platinum 92xx (AP)", _sku(r"\bPlatinum 92\d\d"), 12, 2933, None, 2, None, "brief-2 (Cascade Lake-AP)"),
        Segment("Gold 52xx", _sku(r"\bGold 52\d\d"), 6, 2666, 2666, None, ("off", "SNC2"), "perfspect; brief-2; ark",
                fma_by_sku={"5215": 1, "5217": 1, "5218": 1, "5220": 1, "5222": 2}),
        Segment("Silver 42xx", _sku(r"\bSilver 42\d\d"), 6, 2400, 2400, 1, ("off", "SNC2"), "perfspect; brief-2"),
        Segment("Bronze 32xx", _sku(r"\bBronze 32\d\d"), 6, 2133, 2133, 1, ("off", "SNC2"), "perfspect; brief-2"),
        Segment("Xeon W-22xx", _sku(r"\bW-22\d\d"), 4, None, None, 2, None, "ark (Cascade Lake-W, 4 channels)"),
        Segment("Xeon W-32xx", _sku(r"\bW-32\d\d"), 6, None, None, 2, None, "ark (Cascade Lake-W, 6 channels)"),
    )),
    # Cooper Lake, 3rd gen (4/8 sockets): 0x55 steppings 10-11 (kernel: s 11; PerfSpect CPX: 11). 6
    # channels (perfspect); speeds per SKU tier not confirmed here.
    Generation("cooperlake", "Cooper Lake (3rd gen Xeon Scalable, 4S/8S)", "GenuineIntel", 6, (0x55,), range(10, 12),
               None, (
        Segment("Platinum 83xxH/Gold 63xxH/53xxH", _sku(r"\b(Platinum 83\d\dH|Gold [56]3\d\dH)"), 6, None, None, None,
                None, "perfspect"),
    )),
    # Ice Lake-SP, 3rd gen: INTEL_ICELAKE_X 0x6A (kernel). 8 channels (perfspect); DDR4-3200 on Platinum/
    # Gold 6, 2933 on Gold 5, 2666 on Silver, the same at 2DPC (brief-3). SNC2. FMA: two on Platinum/Gold 6
    # (ark); Gold 53xx and Silver 43xx not confirmed here.
    Generation("icelake-server", "Ice Lake-SP (3rd gen Xeon Scalable)", "GenuineIntel", 6, (0x6A,), None, None, (
        Segment("Platinum 83xx/Gold 63xx", _sku(r"\b(Platinum 83\d\d|Gold 63\d\d)"), 8, 3200, 3200, 2, ("off", "SNC2"),
                "perfspect; brief-3"),
        Segment("Gold 53xx", _sku(r"\bGold 53\d\d"), 8, 2933, 2933, None, ("off", "SNC2"), "perfspect; brief-3"),
        Segment("Silver 43xx", _sku(r"\bSilver 43\d\d"), 8, 2666, 2666, None, ("off", "SNC2"), "perfspect; brief-3"),
        Segment("Xeon W-33xx", _sku(r"\bW-33\d\d"), 8, None, None, None, None, "ark (Ice Lake-W, 8 channels)"),
    )),
    # Ice Lake-D: INTEL_ICELAKE_D 0x6C (kernel); D-27xx 4 channels, D-17xx 3 (ark).
    Generation("icelake-server", "Ice Lake-D (Xeon D-1700/D-2700)", "GenuineIntel", 6, (0x6C,), None, None, (
        Segment("Xeon D-27xx", _sku(r"\bD-27\d\d"), 4, None, None, None, None, "ark (Ice Lake-D HCC)"),
        Segment("Xeon D-17xx", _sku(r"\bD-17\d\d"), 3, None, None, None, None, "ark (Ice Lake-D LCC)"),
    )),
    # Sapphire Rapids, 4th gen: INTEL_SAPPHIRERAPIDS_X 0x8F (kernel). 8 channels DDR5 (perfspect); 4800 at
    # 1DPC and 4400 at 2DPC on Platinum/Gold 6, 4400 on Gold 5, 4000 on Silver/Bronze at either (brief-4).
    # Every SKU has two FMA units (ark). SNC2 on MCC, SNC4 on XCC (brief-4). Xeon Max (HBM) the same DDR5.
    Generation("sapphirerapids", "Sapphire Rapids (4th gen Xeon Scalable)", "GenuineIntel", 6, (0x8F,), None, 2, (
        Segment("Platinum 84xx/Gold 64xx", _sku(r"\b(Platinum 84\d\d|Gold 64\d\d)"), 8, 4800, 4400, 2,
                ("off", "SNC2", "SNC4"), "perfspect; brief-4"),
        Segment("Gold 54xx", _sku(r"\bGold 54\d\d"), 8, 4400, 4400, 2, ("off", "SNC2", "SNC4"), "perfspect; brief-4"),
        Segment("Silver 44xx/Bronze 34xx", _sku(r"\b(Silver 44\d\d|Bronze 34\d\d)"), 8, 4000, 4000, 2, None,
                "perfspect; brief-4"),
        Segment("Xeon CPU Max 94xx", _sku(r"\bMax 94\d\d"), 8, 4800, 4400, 2, ("off", "SNC2", "SNC4"),
                "perfspect; brief-4 (Xeon Max: 64 GB HBM2e per socket besides DDR5)"),
        Segment("Xeon w-34xx", _sku(r"\bw[3579]-34\d\d"), 8, None, None, 2, None, "ark (Sapphire Rapids-WS)"),
        Segment("Xeon w-24xx", _sku(r"\bw[3579]-24\d\d"), 4, None, None, 2, None, "ark (Sapphire Rapids-WS)"),
    )),
    # Emerald Rapids, 5th gen: INTEL_EMERALDRAPIDS_X 0xCF (kernel). 8 channels (perfspect); DDR5 up to 5600
    # at 1DPC on some Platinum SKUs and 5200 on others (ark: per SKU, not in this table), 4400 at 2DPC
    # (brief-5). Two FMA units (ark). XCC (two dies) offers SNC2 (brief-5).
    Generation("emeraldrapids", "Emerald Rapids (5th gen Xeon Scalable)", "GenuineIntel", 6, (0xCF,), None, 2, (
        Segment("Platinum 85xx/Gold 65xx/55xx", _sku(r"\b(Platinum 85\d\d|Gold [56]5\d\d)"), 8, None, 4400, 2,
                ("off", "SNC2"), "perfspect; brief-5"),
        Segment("Silver 45xx/Bronze 35xx", _sku(r"\b(Silver 45\d\d|Bronze 35\d\d)"), 8, 4400, 4400, 2, None,
                "perfspect; brief-5"),
    )),
    # Granite Rapids, Xeon 6 P-cores: INTEL_GRANITERAPIDS_X 0xAD (kernel). 6900P (AP, up to three compute
    # dies): 12 channels DDR5-6400 1DPC, MRDIMM 8800, SNC3 by default and HEX (SNC off). 6700P/6500P (SP):
    # 8 channels, DDR5-6400 at 1DPC and 5200 at 2DPC, MRDIMM 8000 on 6700P; SNC2 on the two-die parts
    # (brief-6; perfspect GNR_X1/X2 8, GNR_X3 12). Two FMA units; AMX with FP16.
    Generation("graniterapids", "Granite Rapids (Xeon 6 P-core)", "GenuineIntel", 6, (0xAD,), None, 2, (
        Segment("Xeon 6 6900P (Granite Rapids-AP)", _sku(r"\b69\d\dP\b"), 12, 6400, None, 2, ("off", "SNC3"),
                "perfspect GNR_X3; brief-6", mrdimm_mts=8800),
        Segment("Xeon 6 6700P (Granite Rapids-SP)", _sku(r"\b67\d\dP\b"), 8, 6400, 5200, 2, ("off", "SNC2"),
                "perfspect GNR_X1/X2; brief-6", mrdimm_mts=8000),
        Segment("Xeon 6 6500P (Granite Rapids-SP)", _sku(r"\b65\d\dP\b"), 8, 6400, 5200, 2, None,
                "perfspect GNR_X1; brief-6"),
    )),
    # Granite Rapids-D (Xeon 6 SoC): INTEL_GRANITERAPIDS_D 0xAE (kernel); its own segment, 4 or 8 channels
    # by package (perfspect GNR_D: 0 = not known): None here.
    Generation("graniterapids-d", "Granite Rapids-D (Xeon 6 SoC)", "GenuineIntel", 6, (0xAE,), None, None, (
        Segment("Xeon 6 SoC (Granite Rapids-D)", _SOLE, None, None, None, None, None,
                "kernel; perfspect GNR_D (channels by package, not published per model)"),
    )),
    # Sierra Forest, Xeon 6 E-cores: INTEL_ATOM_CRESTMONT_X 0xAF (kernel). No SMT, no AVX-512, no AMX.
    # 6700E (SP): 8 channels; 6900E (AP): 12 (perfspect SRF_SP/SRF_AP; brief-6). Speeds vary per SKU.
    Generation("sierraforest", "Sierra Forest (Xeon 6 E-core)", "GenuineIntel", 6, (0xAF,), None, 0, (
        Segment("Xeon 6 6900E (Sierra Forest-AP)", _sku(r"\b69\d\dE\b"), 12, None, None, 0, None,
                "perfspect SRF_AP; brief-6"),
        Segment("Xeon 6 6700E (Sierra Forest-SP)", _sku(r"\b67\d\dE\b"), 8, None, None, 0, None,
                "perfspect SRF_SP; brief-6"),
    ), smt=False),  # E-cores: one thread per core (brief-6; perfspect LogicalThreadCount 1)
    # Clearwater Forest: INTEL_ATOM_DARKMONT_X 0xDD (kernel); 12 channels (perfspect CWF, one segment).
    Generation("clearwaterforest", "Clearwater Forest (Xeon 6+ E-core)", "GenuineIntel", 6, (0xDD,), None, 0, (
        Segment("Clearwater Forest", _SOLE, 12, None, None, 0, None, "kernel; perfspect CWF"),
    ), smt=False),  # E-cores (perfspect LogicalThreadCount 1)
    # Diamond Rapids: INTEL_PANTHERCOVE_X, family 19 model 1 (kernel); 16 channels (perfspect DMR).
    Generation("diamondrapids", "Diamond Rapids", "GenuineIntel", 19, (0x01,), None, None, (
        Segment("Diamond Rapids", _SOLE, 16, None, None, None, None, "kernel; perfspect DMR"),
    ), smt=False),  # perfspect DMR LogicalThreadCount 1
)

# AMD Zen generations by (family, model range) (AMD's PPRs; PerfSpect cpu_defs.go for EPYC models).
AMD_MODELS = (
    (0x17, range(0x30, 0x50), "zen2"),
    (0x17, range(0x60, 0x80), "zen2"),
    (0x19, range(0x00, 0x10), "zen3"),
    (0x19, range(0x10, 0x20), "zen4"),
    (0x19, range(0x20, 0x60), "zen3"),
    (0x19, range(0x60, 0x80), "zen4"),
    (0x19, range(0xA0, 0xB0), "zen4"),
    (0x1A, range(0x00, 0x100), "zen5"),
)
