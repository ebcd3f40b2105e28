"""ISA names, the kernels the checks record and the frameworks.isa / frameworks.support judgements,
on real output captured on a Sapphire Rapids (AMX) VM: torch 2.13, INC 3.10 PT2E, TensorFlow 2.21,
intel-tensorflow 2.14 and OpenVINO 2026.4, as is and under ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 (tests/unit/data/onednn/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xeonfleet.node import isa_names
from xeonfleet.frameworks.dispatch import dispatch_rule_input
from xeonfleet.node.node_env import CHECKS_VERSION, add_dispatched_kernels, runtime_knobs, split_phases
from xeonfleet.node.onednn_verbose import parse_onednn_verbose

DATA = Path(__file__).with_name("data") / "onednn"
SPR = {"avx2": True, "avx512f": True, "avx512_vnni": True, "avx512_bf16": True, "amx_tile": True,
       "amx_int8": True, "amx_bf16": True, "avx_vnni": True}
ZEN4 = {"avx2": True, "avx512f": True, "avx512_vnni": True, "avx512_bf16": True, "amx_tile": False}
ICX = {"avx2": True, "avx512f": True, "avx512_vnni": True}
AVX2_ONLY = {"avx2": True, "avx512f": False}
CAPPED = {"ONEDNN_MAX_CPU_ISA": {"value": "AVX512_CORE_BF16", "set_in": "/etc/profile.d/xeonfleet-ai.sh"}}


def lines(name: str) -> list[str]:
    return (DATA / name).read_text().splitlines()


def onednn_precisions(name: str) -> dict:
    """What node_env records for a torch/TF check whose output was this file."""
    precisions = {p: {"op": "captured", "gflops": 1.0} for p in ("fp32", "bf16", "int8")}
    add_dispatched_kernels(precisions, split_phases(lines(name)))
    return precisions


def openvino_precisions(name: str) -> dict:
    """The Convolution row of each precision's runtime graph, as node_env records it."""
    found, precision = {}, None
    for line in lines(name):
        if line.startswith("# precision"):
            precision = line.split()[2]
        elif line.startswith("Convolution,"):
            _, kernel, src = line.split(",")
            found[precision] = {"kernel": kernel, "isa": isa_names.openvino_isa(kernel), "src_type": src}
    return found


def env(stacks: dict, knobs: dict | None = None, **extra) -> dict:
    return dict({"name": "ai", "ok": True, "checks_version": CHECKS_VERSION, "runtime_knobs": knobs or {},
                 "stacks": stacks}, **extra)


@pytest.mark.parametrize(("impl", "isa"), [
    ("brg_matmul:avx10_1_512_amx", "avx512_core_amx"),  # oneDNN 3.12 in torch 2.13: read as "avx" before
    ("brg_conv_fwd:avx10_1_512_amx_fp16", "avx512_core_amx_fp16"),
    ("brg_matmul:avx10_1_512", "avx512_core_fp16"),
    ("brgconv:avx512_core_amx", "avx512_core_amx"),
    ("brg_conv_fwd:avx512_core", "avx512_core"),
    ("jit_int8:avx512_core_vnni", "avx512_core_vnni"),
    ("jit:avx2_vnni_2", "avx2_vnni_2"),
    ("brgemm:avx512_core_bf16", "avx512_core_bf16"),
    ("jit:avx512_common", "avx512_core"),
    ("jit:uni", None), ("gemm:jit", None), ("ref:any", None), ("jit_direct_copy:uni", None),
])
def test_onednn_names_old_and_new_normalise_to_one_spelling(impl, isa):
    assert isa_names.onednn_isa(impl) == isa


@pytest.mark.parametrize(("primitive", "isa"), [
    ("brgconv_avx512_amx_bf16", "avx512_core_amx"), ("brgconv_avx512_amx_I8", "avx512_core_amx"),
    ("brgemm_avx512_amx", "avx512_core_amx"), ("jit_avx512_core_vnni_1x1", "avx512_core_vnni"),
    ("brgconv_avx512_f32", "avx512*"), ("brgconv_avx512_bf16", "avx512*"), ("jit_avx2_1x1_f32", "avx2*"),
    ("jit_sse42_f32", "sse41"), ("ref_any_f32", None), ("unknown_f32", None), ("jit_uni_I8", None),
])
def test_openvino_primitive_types_normalise_to_an_isa_or_a_family(primitive, isa):
    assert isa_names.openvino_isa(primitive) == isa


def test_a_family_meets_its_own_level_only():
    assert isa_names.meets("avx512*", "avx512_core_vnni") and isa_names.meets("avx512*", "avx512_core_bf16")
    assert not isa_names.meets("avx512*", "avx512_core_amx")
    assert isa_names.meets("avx2*", "avx2_vnni") and not isa_names.meets("avx2*", "avx512_core")
    assert isa_names.meets("avx512_core_fp16", "avx512_core_bf16")
    assert not isa_names.meets("avx512_core_bf16", "avx512_core_amx") and not isa_names.meets(None, "avx2")
    assert not isa_names.meets("avx10_2_512", "avx512_core_amx")  # AVX10.2 without AMX is not AMX


def test_info_lines_of_this_machine_and_older_libraries():
    assert isa_names.info_isa("Intel AVX10.1 and Intel AMX with bfloat16 and 8-bit integer support") == "avx512_core_amx"
    assert isa_names.info_isa("Intel AVX-512 with float16, Intel DL Boost and bfloat16 support and "
                              "Intel AMX with bfloat16 and 8-bit integer support") == "avx512_core_amx"
    assert isa_names.info_isa("Intel AVX10.1/512 with float16, Intel DL Boost and bfloat16 support and "
                              "Intel AMX with bfloat16, float16 and 8-bit integer support") == "avx512_core_amx_fp16"
    assert isa_names.info_isa("Intel AVX-512 with Intel DL Boost") == "avx512_core_vnni"
    assert isa_names.info_isa("Intel AVX2 with Intel DL Boost") == "avx2_vnni"


@pytest.mark.parametrize(("flags", "wanted"), [
    (SPR, {"fp32": "avx512_core", "bf16": "avx512_core_amx", "int8": "avx512_core_amx"}),
    (ZEN4, {"fp32": "avx512_core", "bf16": "avx512_core_bf16", "int8": "avx512_core_vnni"}),
    (ICX, {"fp32": "avx512_core", "int8": "avx512_core_vnni"}),
    ({"avx2": True, "avx_vnni": True}, {"fp32": "avx2", "int8": "avx2_vnni"}),
    (AVX2_ONLY, {"fp32": "avx2"}),
])
def test_the_flags_decide_which_precisions_are_checked_and_at_what_isa(flags, wanted):
    present = {flag for flag, on in flags.items() if on}
    assert {p: isa_names.wanted_isa(p, present) for p in isa_names.precisions_for(present)} == wanted


def test_torch_on_this_amx_machine_ran_amx_for_bf16_and_int8():
    precisions = onednn_precisions("torch-2.13-spr-amx.txt")
    assert {p: (r["isa"], r["kernel"], r["src_type"]) for p, r in precisions.items()} == {
        "fp32": ("avx512_core", "brg_conv_fwd:avx512_core", "f32"),
        "bf16": ("avx512_core_amx", "brg_matmul:avx10_1_512_amx", "bf16"),
        "int8": ("avx512_core_amx", "brg_matmul:avx10_1_512_amx", "u8"),
    }
    assert parse_onednn_verbose(lines("torch-2.13-spr-amx.txt"))["max_isa"] == "avx512_core_amx"


def test_capped_torch_falls_back_and_says_so_in_its_info_line():
    precisions = onednn_precisions("torch-2.13-spr-amx-max-isa-avx512-core-bf16.txt")
    assert (precisions["bf16"]["isa"], precisions["int8"]["isa"]) == ("avx512_core_bf16", "avx512_core_vnni")
    assert parse_onednn_verbose(lines("torch-2.13-spr-amx-max-isa-avx512-core-bf16.txt"))["max_isa"] == "avx512_core_bf16"


def test_tensorflow_phase_lines_give_conv_for_fp32_and_amx_for_bf16():
    precisions = onednn_precisions("tensorflow-2.21-spr-amx.txt")
    assert (precisions["fp32"]["kernel"], precisions["bf16"]["kernel"]) == (
        "brg_conv_fwd:avx512_core", "brg_matmul:avx10_1_512_amx")
    assert precisions["int8"] == {"op": "captured", "gflops": 1.0, "isa": None, "kernel": None,
                                  "isa_source": "onednn verbose"}  # no int8 phase ran in this capture


def test_intel_tensorflow_prints_the_older_layout_and_names():
    # oneDNN 3.2.1: "onednn_verbose,exec,cpu,matmul,brg:avx512_core_amx,undef,src_bf16::..."
    precisions = onednn_precisions("intel-tensorflow-2.14-spr-amx.txt")
    assert {p: (r["isa"], r["kernel"], r["src_type"]) for p, r in precisions.items() if r["kernel"]} == {
        "fp32": ("avx512_core", "brgconv:avx512_core", "f32"),
        "bf16": ("avx512_core_amx", "brg:avx512_core_amx", "bf16"),
    }
    assert parse_onednn_verbose(lines("intel-tensorflow-2.14-spr-amx.txt"))["max_isa"] == "avx512_core_amx"


def test_inc_pt2e_int8_after_torch_compile_runs_amx():
    # The FP16 1x1 convs before the phase line are torch.export's tracing, not the INT8 model.
    phases = split_phases(lines("inc-pt-3.10-torch-2.13-spr-amx.txt"))
    assert list(phases) == ["int8"]
    found = {"int8": {"op": "captured"}}
    add_dispatched_kernels(found, phases)
    assert (found["int8"]["isa"], found["int8"]["kernel"], found["int8"]["src_type"]) == (
        "avx512_core_amx", "brg_matmul:avx10_1_512_amx", "u8")


def test_amx_node_passes_when_every_precision_ran_its_best_kernel():
    record = env({"pytorch": {"variant": "plain", "precisions": onednn_precisions("torch-2.13-spr-amx.txt")},
                  "openvino": {"variant": "runtime",
                               "precisions": openvino_precisions("openvino-2026.4-spr-amx-runtime-model.txt")}})
    result = dispatch_rule_input([record], SPR)
    assert result["status"] == "pass", result
    assert result["expected"] == "fp32 avx512_core, bf16 avx512_core_amx, int8 avx512_core_amx or better"
    assert "env ai: openvino bf16 ran avx512_core_amx (brgconv_avx512_amx_bf16)" in result["evidence"]


def test_bf16_on_avx512_on_an_amx_node_fails_naming_stack_precision_variable_and_file():
    capped = env({"pytorch": {"variant": "plain",
                              "precisions": onednn_precisions("torch-2.13-spr-amx-max-isa-avx512-core-bf16.txt")},
                  "openvino": {"variant": "runtime", "precisions": openvino_precisions(
                      "openvino-2026.4-spr-amx-max-isa-avx512-core-bf16-runtime-model.txt")}}, CAPPED)
    result = dispatch_rule_input([capped], SPR)
    assert result["status"] == "fail"
    fix = "remove ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 from /etc/profile.d/xeonfleet-ai.sh"
    assert result["evidence"] == [
        f"env ai: pytorch bf16 ran avx512_core_bf16 (brg_matmul:avx512_core_bf16, 1.0 GFLOP/s), CPU allows avx512_core_amx: {fix}",
        f"env ai: pytorch int8 ran avx512_core_vnni (brg_matmul:avx512_core_vnni, 1.0 GOP/s), CPU allows avx512_core_amx: {fix}",
        f"env ai: openvino bf16 ran avx512* (brgconv_avx512_bf16), CPU allows avx512_core_amx: {fix}",
        f"env ai: openvino int8 ran avx512* (brgconv_avx512_I8), CPU allows avx512_core_amx: {fix}",
    ]


def test_the_same_kernels_pass_on_a_cpu_without_amx():
    capped = env({"pytorch": {"variant": "plain",
                              "precisions": onednn_precisions("torch-2.13-spr-amx-max-isa-avx512-core-bf16.txt")}}, CAPPED)
    assert dispatch_rule_input([capped], ZEN4)["status"] == "pass"


def test_avx2_node_is_judged_on_fp32_only():
    record = env({"pytorch": {"variant": "plain", "precisions": {
        "fp32": {"isa": "avx2", "kernel": "brg_conv_fwd:avx2", "src_type": "f32"}}}})
    result = dispatch_rule_input([record], AVX2_ONLY)
    assert result["status"] == "pass" and result["expected"] == "fp32 avx2 or better"
    assert result["evidence"] == ["env ai: pytorch fp32 ran avx2 (brg_conv_fwd:avx2)"]


def test_wrong_data_type_a_failed_kernel_and_no_variable_name_the_build():
    record = env({"openvino": {"variant": "runtime", "precisions": {
        "fp32": {"isa": "avx512*", "kernel": "brgconv_avx512_f32", "src_type": "f32"},
        "bf16": {"isa": "avx512*", "kernel": "brgconv_avx512_f32", "src_type": "f32"},
        "int8": {"error": "RuntimeError: could not execute a primitive\nmore"}}},
        "pytorch": {"variant": "ipex", "precisions": {
            "fp32": {"isa": "avx2", "kernel": "jit:avx2", "src_type": "f32"},
            "bf16": {"skipped": "no kernel"}, "int8": {"skipped": "no kernel"}}}})
    evidence = dispatch_rule_input([record], ICX)["evidence"]
    assert evidence == [
        "env ai: openvino int8: the kernel failed: RuntimeError: could not execute a primitive",
        "env ai: pytorch fp32 ran avx2 (jit:avx2), CPU allows avx512_core: no variable caps it: this build "
        "lacks the kernel; use pytorch: {variant: plain, version: \"2.13\"}",
    ]
    bf16 = dispatch_rule_input([record], ZEN4)["evidence"]
    assert ("env ai: openvino bf16 ran avx512* (brgconv_avx512_f32) on f32 data, not bf16: no variable caps it: "
            "this openvino build lacks the kernel; pin another openvino release") in bf16


def test_records_of_older_checks_and_no_judged_stack_are_unknown():
    old = {"name": "ai", "ok": True, "isa": "avx", "stacks": {"openvino": {"variant": "runtime", "dispatched": ["avx"]}}}
    result = dispatch_rule_input([old], SPR)
    assert result["status"] == "unknown"
    assert result["evidence"] == ["env ai: its record predates the per-precision checks"]
    assert dispatch_rule_input([env({"faiss": {"variant": "cpu"}, "inc": {"variant": "default"}})], SPR)["status"] == "unknown"
    assert dispatch_rule_input([], {"neon": True})["status"] == "unknown"


def test_runtime_knobs_name_the_file_that_sets_them(tmp_path):
    (tmp_path / "activate.sh").write_text("export PATH=/x:$PATH\nexport ONEDNN_MAX_CPU_ISA=AVX2\n")
    knobs = runtime_knobs(str(tmp_path), {"ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_DEFAULT_FPMATH_MODE": "BF16", "HOME": "/root"})
    assert knobs == {"ONEDNN_MAX_CPU_ISA": {"value": "AVX2", "set_in": str(tmp_path / "activate.sh")},
                     "DNNL_DEFAULT_FPMATH_MODE": {"value": "BF16", "set_in": None}}


def test_tensorflow_with_onednn_turned_off_names_the_variable():
    off = {"TF_ENABLE_ONEDNN_OPTS": {"value": "0", "set_in": "/etc/environment"}}
    record = env({"tensorflow": {"variant": "stock", "max_isa": None, "precisions": {
        "fp32": {"op": "conv2d 4x28x28x128 NHWC 3x3", "isa": None, "kernel": None}}}}, off)
    assert dispatch_rule_input([record], AVX2_ONLY)["evidence"] == [
        "env ai: tensorflow fp32 ran no oneDNN kernel (conv2d 4x28x28x128 NHWC 3x3), CPU allows avx2: "
        "remove TF_ENABLE_ONEDNN_OPTS=0 from /etc/environment"]


def test_an_old_build_is_named_with_the_isa_its_onednn_reports():
    record = env({"pytorch": {"variant": "plain", "max_isa": "avx512_core_bf16", "precisions": {
        "bf16": {"isa": "avx512_core_bf16", "kernel": "brg_matmul:avx512_core_bf16", "src_type": "bf16"}}}})
    (line,) = dispatch_rule_input([record], SPR)["evidence"][:1]
    assert line.endswith("CPU allows avx512_core_amx: no variable caps it: this pytorch build lacks the kernel "
                         "(its oneDNN reports avx512_core_bf16); pin another pytorch release")
