"""The peak-FLOPs formula against vendor figures (FP64 peak x 2 = FP32 peak)."""

import pytest

from xeonfleet.bench.peak import node_peak, peak_gflops


def test_xeon_8380_matches_published_peak():
    # Platinum 8380: 40 cores, 2.3 GHz base, 2 AVX-512 FMA units; published FP64 peak 2.944 TFLOPS/socket.
    assert peak_gflops(40, 2.3, 2) == pytest.approx(2 * 2944.0)


def test_xeon_8480_matches_published_peak():
    # Platinum 8480+: 56 cores, 2.0 GHz base, 2 FMA units; published FP64 peak 3.584 TFLOPS/socket.
    assert peak_gflops(56, 2.0, 2) == pytest.approx(2 * 3584.0)


def test_node_peak_from_facts_of_a_two_socket_8380():
    facts = {"cpu": {"physical_cores": 80, "base_ghz": 2.3, "fma_units": 2, "isa": {"avx512f": True}}}
    peak, formula = node_peak(facts)
    assert peak == pytest.approx(11776.0)
    assert formula == "80 cores x 2.3 GHz x 2 FMA units x 32 FP32 FLOP/cycle = 11776 GFLOP/s"


def test_avx2_node_counts_two_256_bit_units():
    facts = {"cpu": {"physical_cores": 8, "base_ghz": 3.0, "fma_units": 0, "isa": {"avx2": True, "fma": True}}}
    assert node_peak(facts)[0] == pytest.approx(8 * 3.0 * 2 * 16)


@pytest.mark.parametrize("cpu, why", [
    ({"physical_cores": 8, "base_ghz": None, "max_ghz": None}, "base_ghz"),
    ({"physical_cores": None, "base_ghz": 2.0}, "physical_cores"),
    ({"physical_cores": 8, "base_ghz": 2.0, "fma_units": 0, "isa": {"avx2": False}}, "no AVX-512"),
])
def test_unknown_facts_give_no_peak_and_say_why(cpu, why):
    peak, reason = node_peak({"cpu": cpu})
    assert peak is None and why in reason


def test_nonsense_inputs_are_rejected():
    with pytest.raises(ValueError, match="positive"):
        peak_gflops(0, 2.3, 2)
