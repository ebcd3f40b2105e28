"""Peaks per precision against vendor figures, and no peak (with the reason) whenever a factor is unknown."""

import pytest

from xeonfleet.bench.bandwidth import memory_limit
from xeonfleet.bench.peak import node_peaks, peak_gops, precision_peak

ISA_ALL = {"avx2": True, "fma": True, "avx512f": True, "avx512_vnni": True, "avx512_bf16": True,
           "amx_bf16": True, "amx_int8": True, "amx_tile": True, "avx_vnni": True, "avx512_fp16": True,
           "amx_fp16": True}
ISA_ICX = {**ISA_ALL, "avx512_bf16": False, "amx_bf16": False, "amx_int8": False, "amx_tile": False,
           "avx512_fp16": False, "amx_fp16": False}
ISA_SPR = {**ISA_ALL, "amx_fp16": False}  # AMX-BF16/INT8 and AVX512-FP16, no AMX-FP16 (that is Granite Rapids)
ISA_SRF = {**ISA_ICX, "avx512f": False, "avx512_vnni": False}  # Sierra Forest E-cores: AVX2 + AVX-VNNI only


def _cpu(**cpu):
    return {"cpu": {"physical_cores": 80, "base_ghz": 2.3, "fma_units": 2, "microarch": "icelake-server",
                    "isa": ISA_ICX, **cpu}}


def test_xeon_8380_fp32_matches_published_peak():
    # Platinum 8380: 40 cores, 2.3 GHz base, 2 AVX-512 FMA units; published FP64 peak 2.944 TFLOPS/socket.
    assert peak_gops(40, 2.3, 64) == pytest.approx(2 * 2944.0)


def test_two_socket_8380_fp32_formula_names_each_factor_and_its_source():
    peak = precision_peak(_cpu(base_ghz_source="model_name", microarch_source="model"), "fp32")
    assert peak.gops == pytest.approx(11776.0) and peak.isa == "avx512" and peak.per_core_gops == pytest.approx(147.2)
    assert peak.formula == ("80 cores (cpu.physical_cores) x 2.3 GHz (cpu.base_ghz, from model_name) x "
                            "2 FMA units (cpu.fma_units; icelake-server, from model) x 32 FP32 ops/unit-cycle "
                            "(avx512: 16 FP32 lanes x 2 (FMA) per AVX-512 FMA unit) = 11,776 GFLOP/s")


def test_per_precision_isa_rates_are_the_guides_limits():
    spr = {"cpu": {"physical_cores": 1, "base_ghz": 1.0, "fma_units": 2, "microarch": "sapphirerapids",
                   "isa": ISA_ALL}}
    peaks = node_peaks(spr)
    assert {p: (peak.isa, peak.gops) for p, peak in peaks.items()} == {
        "fp32": ("avx512", 64.0), "bf16": ("amx", 1024.0), "int8": ("amx", 2048.0), "fp16": ("amx", 1024.0)}
    icx = node_peaks(_cpu(physical_cores=1, base_ghz=1.0))
    assert (icx["int8"].isa, icx["int8"].gops) == ("avx512_vnni", 256.0)
    assert icx["bf16"].gops is None and "no BF16 ISA" in icx["bf16"].formula
    cpx = node_peaks(_cpu(physical_cores=1, base_ghz=1.0, isa={**ISA_ICX, "avx512_bf16": True}))
    assert (cpx["bf16"].isa, cpx["bf16"].gops, cpx["bf16"].unit) == ("avx512_bf16", 128.0, "GFLOP/s")
    assert icx["int8"].unit == "GOP/s"


def _node(microarch, cores, ghz, isa, fma_units):
    return {"cpu": {"physical_cores": cores, "base_ghz": ghz, "fma_units": fma_units, "microarch": microarch,
                    "isa": isa}}


def _table(peaks):
    return {p: (peak.isa, peak.ops_per_core_cycle, peak.gops) for p, peak in peaks.items()}


def test_granite_rapids_2x_6767p_has_every_peak_and_fp16_on_amx_fp16():
    # 2 x Xeon 6767P: 64 cores each. Its model name carries no clock ("Intel(R) Xeon(R) 6767P"); 2.4 GHz base
    # is HPE's part P73834-B21 ("Intel Xeon 6767P 2.4GHz 64-core 350W"), not confirmed on Intel ark from
    # here, so this is a synthetic facts dict whose base_ghz is stated: 2.4.
    gnr = _node("graniterapids", 128, 2.4, ISA_ALL, 2)
    assert _table(node_peaks(gnr)) == {
        "fp32": ("avx512", 64, pytest.approx(128 * 2.4 * 64)),      # 19,661 GFLOP/s
        "bf16": ("amx", 1024, pytest.approx(128 * 2.4 * 1024)),     # 314,573 GFLOP/s
        "int8": ("amx", 2048, pytest.approx(128 * 2.4 * 2048)),     # 629,146 GOP/s
        "fp16": ("amx", 1024, pytest.approx(128 * 2.4 * 1024))}     # AMX-FP16, as BF16
    assert "AMX TMUL, FP16 dot products (TDPFP16PS)" in precision_peak(gnr, "fp16").formula


def test_sapphire_rapids_fp16_is_avx512_fp16_not_amx():
    spr = node_peaks(_node("sapphirerapids", 112, 2.0, ISA_SPR, 2))
    assert _table(spr)["fp16"] == ("avx512_fp16", 128, pytest.approx(112 * 2.0 * 128))
    assert spr["fp16"].unit == "GFLOP/s" and "VFMADD*PH: 32 FP16 lanes x 2" in spr["fp16"].formula
    assert _table(spr)["bf16"] == ("amx", 1024, pytest.approx(112 * 2.0 * 1024))


def test_sierra_forest_has_avx2_fp32_only_and_no_fp16():
    peaks = node_peaks(_node("sierraforest", 144, 2.2, ISA_SRF, 0))
    assert peaks["fp32"].isa == "avx2"
    # Crestmont's FMA pipes are not in the table: no FP32 number rather than the P-cores' 32 ops/cycle.
    assert peaks["fp32"].gops is None and "AVX2 FMA pipes per core unknown for sierraforest" in peaks["fp32"].formula
    for precision in ("bf16", "int8", "fp16"):
        assert peaks[precision].gops is None and peaks[precision].isa is None
    assert peaks["fp16"].formula == "no peak: no FP16 ISA of amx, avx512_fp16 in cpu.isa"


def test_ice_lake_has_no_fp16():
    icx = node_peaks(_node("icelake-server", 80, 2.3, ISA_ICX, 2))
    assert icx["fp16"].gops is None and icx["fp16"].formula == "no peak: no FP16 ISA of amx, avx512_fp16 in cpu.isa"
    assert _table(icx)["int8"] == ("avx512_vnni", 256, pytest.approx(80 * 2.3 * 256))


def test_fp16_flags_missing_from_older_facts_give_no_peak_never_a_lower_isa():
    old = {k: v for k, v in ISA_ALL.items() if k not in ("amx_fp16", "avx512_fp16")}
    peak = precision_peak(_node("sapphirerapids", 1, 1.0, old, 2), "fp16")
    assert peak.gops is None and "cpu.isa.amx_fp16 is absent from these facts" in peak.formula
    # avx512_fp16 known but amx_fp16 unknown: AMX-FP16 cannot be ruled out, so no AVX512-FP16 figure either.
    peak = precision_peak(_node("graniterapids", 1, 1.0, {**ISA_ALL, "amx_fp16": None}, 2), "fp16")
    assert peak.gops is None and "cpu.isa.amx_fp16 is null in these facts" in peak.formula
    # amx_fp16 true: the best row is known, a lower row's missing key does not matter.
    gnr = {k: v for k, v in ISA_ALL.items() if k != "avx512_fp16"}
    assert precision_peak(_node("graniterapids", 1, 1.0, gnr, 2), "fp16").gops == pytest.approx(1024.0)


def test_avx2_node_counts_two_256_bit_pipes_only_for_a_known_microarch():
    zen3 = {"cpu": {"physical_cores": 8, "base_ghz": 3.0, "fma_units": 0, "microarch": "zen3",
                    "isa": {**ISA_ALL, "avx512f": False, "avx512_vnni": False, "avx512_bf16": False,
                            "amx_bf16": False, "amx_int8": False}}}
    assert precision_peak(zen3, "fp32").gops == pytest.approx(8 * 3.0 * 32)
    zen3["cpu"]["microarch"] = None
    assert "microarch is null" in precision_peak(zen3, "fp32").formula


@pytest.mark.parametrize("cpu, why", [
    ({"base_ghz": None}, "cpu.base_ghz unknown"),
    ({"physical_cores": None}, "cpu.physical_cores unknown"),
    ({"fma_units": None}, "cpu.fma_units is None"),  # an AVX-512 host with a known GHz: never "2 units x 16"
    ({"isa": {}}, "cpu.isa unknown"),
])
def test_unknown_factor_gives_no_peak_and_says_why(cpu, why):
    peak = precision_peak(_cpu(**cpu), "fp32")
    assert peak.gops is None and peak.per_core_gops is None and why in peak.formula
    assert peak.formula.startswith("no peak: ")


def test_max_ghz_is_never_used_for_the_peak():
    assert precision_peak(_cpu(base_ghz=None, max_ghz=3.4), "fp32").gops is None


def test_nonsense_inputs_are_rejected():
    with pytest.raises(ValueError, match="positive"):
        peak_gops(0, 2.3, 64)
    with pytest.raises(ValueError, match="precision 'fp64' unknown"):
        precision_peak(_cpu(), "fp64")


def _dimm(socket, channel, mts=3200, populated=True):
    return {"socket": socket, "channel": channel, "populated": populated, "configured_speed_mts": mts}


def test_memory_limit_is_channels_times_configured_speed_times_8_bytes_per_socket():
    dimms = [_dimm(s, c) for s in (0, 1) for c in "ABCDEFGH"]
    limit = memory_limit({"memory": {"slots": 16, "dimms": dimms, "populated_channels": {"0": 8, "1": 8}}})
    assert limit.per_socket_gbps == {"0": pytest.approx(204.8), "1": pytest.approx(204.8)}
    assert "socket 0: 8 channels x 3200 MT/s x 8 B = 204.8 GB/s" in limit.formula


def test_memory_limit_takes_the_slowest_dimm_and_counts_only_populated_channels():
    dimms = [_dimm(0, c) for c in "ABCDEF"] + [_dimm(0, "G", 2933), _dimm(0, "H", None, populated=False)]
    limit = memory_limit({"memory": {"slots": 8, "dimms": dimms, "populated_channels": {"0": 7}}})
    assert limit.per_socket_gbps == {"0": pytest.approx(7 * 2933 * 8 / 1000)}


@pytest.mark.parametrize("memory, why", [
    ({"slots": None, "dimms": [], "populated_channels": {}}, "no SMBIOS table"),
    ({"slots": 2, "dimms": [_dimm(0, "A", None)], "populated_channels": {"0": 1}}, "without a configured speed"),
    ({"slots": 2, "dimms": [_dimm(None, None)], "populated_channels": {"unknown": 1}}, "name no socket"),
])
def test_memory_limit_unknown_says_why(memory, why):
    limit = memory_limit({"memory": memory})
    assert limit.per_socket_gbps is None and why in limit.formula
