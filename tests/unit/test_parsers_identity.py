"""CPU identity when the world is real: masked models, guests, no cpufreq."""

from __future__ import annotations

import pytest

from xeonfleet.parsers.hypervisor import detect_hypervisor
from xeonfleet.parsers.microarch import fma_units, identify, microarch_from_flags
from xeonfleet.parsers.node import base_ghz_and_source

AVX512 = ["avx512f", "avx512bw", "avx512vl", "avx2", "fma"]
ICX = AVX512 + ["avx512_vnni", "avx512_vbmi2", "avx512_bitalg", "gfni"]
SPR = ICX + ["avx512_bf16", "amx_tile", "amx_int8", "amx_bf16", "avx512_fp16"]


@pytest.mark.parametrize(("flags", "expected"), [
    (["avx2", "fma"], None),
    (AVX512, "skylake-avx512"),
    (AVX512 + ["avx512_vnni"], "cascadelake"),
    (AVX512 + ["avx512_vnni", "avx512_bf16"], "cooperlake"),
    (ICX, "icelake-server"),
    (SPR, "sapphirerapids"),
    (SPR + ["amx_fp16"], "graniterapids"),
])
def test_the_newest_generation_the_flags_prove(flags, expected):
    assert microarch_from_flags("GenuineIntel", flags) == expected


def test_amd_is_never_inferred_from_flags():
    # Zen 4 has AVX-512 with BF16 and VNNI: flags would call it Cooper Lake.
    assert microarch_from_flags("AuthenticAMD", SPR) is None
    assert identify("AuthenticAMD", 0x19, 0x11, 1, AVX512 + ["avx512_vnni", "avx512_bf16"]) == ("zen4", "model")


def test_a_masked_model_is_identified_by_flags_and_a_known_one_by_model():
    # The KVM guest seen on the build machines: model 167 (a client model number), AMX flags.
    assert identify("GenuineIntel", 6, 167, 8, SPR) == ("sapphirerapids", "flags")
    assert identify("GenuineIntel", 6, 0x8F, 8, SPR) == ("sapphirerapids", "model")
    # A model that claims older than the flags prove (a hypervisor's generic CPU model).
    assert identify("GenuineIntel", 6, 0x55, 4, SPR) == ("sapphirerapids", "flags")
    # Emerald Rapids adds no flag: the model stays the truth.
    assert identify("GenuineIntel", 6, 0xCF, 2, SPR) == ("emeraldrapids", "model")
    assert identify("GenuineIntel", 6, 167, 8, ["avx2"]) == (None, None)


def test_fma_units_only_where_certain():
    assert fma_units("Intel(R) Xeon(R) Processor", "sapphirerapids", True) == 2  # every AMX Xeon
    assert fma_units("Intel(R) Xeon(R) Processor", "icelake-server", True) is None  # SKU masked
    assert fma_units("Intel(R) Xeon(R) Gold 5318Y CPU @ 2.10GHz", "icelake-server", True) is None  # not in ark's table here
    assert fma_units("Intel(R) Xeon(R) Gold 5218 CPU @ 2.30GHz", "cascadelake", True) == 1
    assert fma_units(None, None, False) == 0


@pytest.mark.parametrize(("args", "expected"), [
    (("x86_64", ["fpu"], None, ["QEMU", "Standard PC"], "kvm-clock tsc"), None),  # no flag: bare metal
    (("x86_64", ["hypervisor"], None, ["QEMU", "Standard PC (Q35 + ICH9, 2009)", "SeaBIOS"], None), "kvm"),
    (("x86_64", ["hypervisor"], None, ["VMware, Inc.", "VMware Virtual Platform"], None), "vmware"),
    (("x86_64", ["hypervisor"], None, ["Microsoft Corporation", "Virtual Machine"], None), "hyperv"),
    (("x86_64", ["hypervisor"], "xen", [], None), "xen"),
    (("x86_64", ["hypervisor"], None, [], "tsc kvm-clock"), "kvm"),  # Firecracker: no DMI at all
    (("x86_64", ["hypervisor"], None, [], "hyperv_clocksource_tsc_page acpi_pm"), "hyperv"),
    (("x86_64", ["hypervisor"], None, [], "tsc hpet"), "unknown"),
    (("aarch64", [], None, ["QEMU", "KVM Virtual Machine"], None), "kvm"),
    (("aarch64", [], None, [], "arch_sys_counter"), None),
])
def test_hypervisor(args, expected):
    assert detect_hypervisor(*args) == expected


@pytest.mark.parametrize(("identity", "base_khz", "expected"), [
    ({"base_ghz": 2.3, "mhz": 800.0, "flags": []}, 2_300_000, (2.3, "model_name")),
    ({"base_ghz": None, "mhz": 800.0, "flags": []}, 2_000_000, (2.0, "cpufreq")),
    ({"base_ghz": None, "mhz": 2000.0, "flags": ["constant_tsc", "tsc_known_freq"]}, None, (2.0, "tsc")),
    # Without a calibrated, constant TSC "cpu MHz" is whatever the core ran at: no base frequency.
    ({"base_ghz": None, "mhz": 1197.4, "flags": ["constant_tsc"]}, None, (None, None)),
])
def test_base_ghz_and_its_source(identity, base_khz, expected):
    assert base_ghz_and_source(identity, base_khz) == expected
