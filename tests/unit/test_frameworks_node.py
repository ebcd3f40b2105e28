"""Node-side parsing: oneDNN verbose ISA, pip failures as one line, env records and the
node's tools (FrameworkEnvs / CondaTools / FrameworkPython parsers)."""

import json

from xeonfleet.facts.frameworks import FrameworkPython, parse_conda_tools, parse_env_records
from xeonfleet.node.env_checks import tensorflow_onednn_verdict
from xeonfleet.node.env_install import install_error_line
from xeonfleet.node.node_env import best_isa, failure_line
from xeonfleet.node.onednn_verbose import parse_onednn_verbose

# Real lines: OpenVINO 2026.4 on this Zen 4 VM, and oneDNN 3.x on Sapphire Rapids / AVX2 hosts.
OPENVINO_ZEN4 = [
    "onednn_verbose,v1,info,oneDNN v3.13.0 (commit 1289c3b65dd6a119a5ed12a816517d9c3a21d81b)",
    "onednn_verbose,v1,info,cpu,runtime:threadpool,nthr:2",
    "onednn_verbose,v1,info,cpu,isa:Intel AVX-512 with Intel DL Boost and bfloat16 support",
    "onednn_verbose,v1,primitive,exec,cpu,reorder,jit_direct_copy:uni,undef,src:f32::blocked:ab::f0 dst:bf16,,,8x16,0.01",
    "onednn_verbose,v1,primitive,exec,cpu,inner_product,brgemm:avx512_core_bf16,forward_inference,src:bf16,,,mb1ic16oc8,0.02",
]
SPR_AMX = [
    "onednn_verbose,info,cpu,isa:Intel AVX-512 with float16, Intel DL Boost and bfloat16 support and Intel AMX with bfloat16 and 8-bit integer support",
    "onednn_verbose,exec,cpu,convolution,brgconv:avx512_core_amx,forward_inference,src_u8,,,mb1_ic64oc64,0.1",
    "onednn_verbose,exec,cpu,matmul,brg:avx512_core_vnni,undef,src_s8,,,2x64:64x64,0.1",
]
AVX2_FALLBACK = [
    "dnnl_verbose,info,cpu,isa:Intel AVX2",
    "dnnl_verbose,exec,cpu,convolution,jit:avx2,forward_training,src_f32,,,mb1_ic3oc8,0.3",
    "unrelated line with avx512_core_amx in it",
]


def test_isa_from_openvino_on_this_vm():
    assert parse_onednn_verbose(OPENVINO_ZEN4) == {"max_isa": "avx512_core_bf16", "dispatched": ["avx512_core_bf16"]}


def test_isa_on_sapphire_rapids_lists_amx_first():
    # Sapphire Rapids has AVX512-FP16 but not AMX-FP16: its info line is plain AMX.
    assert parse_onednn_verbose(SPR_AMX) == {"max_isa": "avx512_core_amx",
                                             "dispatched": ["avx512_core_amx", "avx512_core_vnni"]}


def test_isa_info_without_fp16_is_plain_amx():
    line = ("onednn_verbose,info,cpu,isa:Intel AVX-512 with Intel DL Boost and bfloat16 support and "
            "Intel AMX with bfloat16 and 8-bit integer support")
    assert parse_onednn_verbose([line])["max_isa"] == "avx512_core_amx"


def test_avx2_fallback_is_visible():
    assert parse_onednn_verbose(AVX2_FALLBACK) == {"max_isa": "avx2", "dispatched": ["avx2"]}


def test_no_onednn_lines():
    assert parse_onednn_verbose(["hello"]) == {"max_isa": None, "dispatched": []}


def test_best_isa_over_stacks():
    stacks = {"openvino": {"dispatched": ["avx2"]}, "pytorch": {"dispatched": ["avx512_core_amx", "avx2"]},
              "intel-python": {"dispatched": []}}
    assert best_isa(stacks) == "avx512_core_amx"
    assert best_isa({"inc": {}}) is None


def test_missing_wheel_in_wheelhouse_is_one_named_line():
    out = ("Looking in links: /opt/xeonfleet/wheelhouse\n"
           "ERROR: Could not find a version that satisfies the requirement openvino==2026.* (from versions: none)\n"
           "ERROR: No matching distribution found for openvino==2026.*\n")
    assert install_error_line(out, "/opt/xeonfleet/wheelhouse") == (
        "xeonfleet: wheel missing from wheelhouse /opt/xeonfleet/wheelhouse: openvino==2026.* "
        "(rebuild it with `xeonfleet wheelhouse build` for this env's stacks)"
    )


def test_pip_failures_become_one_line():
    assert "no space left on device" in install_error_line("OSError: [Errno 28] No space left on device", None)
    assert "cannot reach the package index" in install_error_line(
        "WARNING: Retrying ... NewConnectionError('...: Failed to establish a new connection')", None)
    assert install_error_line("ERROR: No matching distribution found for torch==9.9", None) == (
        "xeonfleet: the package index has no torch==9.9 for this Python/platform")
    assert install_error_line("\nsomething odd\n", None) == "xeonfleet: pip install failed: something odd"


def test_env_records_ok_half_installed_and_unreadable():
    good = {"name": "ai", "backend": "venv", "ok": True, "spec_hash": "abc", "stacks": {}, "versions": {}, "isa": None}
    output = ["@@xeonfleet-env /opt/xeonfleet/envs/ai", *json.dumps(good, indent=1).splitlines(), "",
              "@@xeonfleet-env /opt/xeonfleet/envs/crashed", "",
              "@@xeonfleet-env /opt/xeonfleet/envs/torn", '{"name": "torn", ', ""]
    ai, crashed, torn = parse_env_records(output)
    assert ai["ok"] is True and ai["path"] == "/opt/xeonfleet/envs/ai" and ai["spec_hash"] == "abc"
    assert crashed["name"] == "crashed" and crashed["ok"] is False and "half-installed" in crashed["error"]
    assert torn["ok"] is False and torn["error"] == "unreadable xeonfleet-env.json"
    assert parse_env_records([]) == []


def test_conda_tools_first_of_each():
    assert parse_conda_tools(["/usr/local/bin/micromamba", "/opt/conda/bin/conda", "/root/miniforge3/bin/conda"]) == {
        "micromamba": "/usr/local/bin/micromamba", "conda": "/opt/conda/bin/conda"}
    assert parse_conda_tools([]) == {}


def test_python_fact_quotes_the_version_and_keeps_globs_for_the_shell():
    command = FrameworkPython().command("3.11")
    assert "command -v python3.11" in command and "/root/.pyenv/versions/3.11*/bin/python3.11" in command
    assert FrameworkPython().process(["/usr/bin/python3.11"]) == "/usr/bin/python3.11"
    assert FrameworkPython().process([]) is None


# Tail of intel-tensorflow 2.14 imported under numpy 2.4.6 (lab host, before the numpy<2 fix).
TF_UNDER_NUMPY2 = [
    "A module that was compiled using NumPy 1.x cannot be run in",
    "NumPy 2.4.6 as it may crash. To support both 1.x and 2.x",
    "AttributeError: _ARRAY_API not found",
    "    _np_bfloat16 = pywrap_ml_dtypes.bfloat16()",
    "TypeError: Unable to convert function return value to a Python type! The signature was",
    "\t() -> handle",
]


def test_numpy_abi_break_is_named_not_its_last_traceback_line():
    assert failure_line(TF_UNDER_NUMPY2, 1) == (
        "a module built for NumPy 1.x was imported under NumPy 2; pin numpy<2 for this stack")


def test_failure_line_is_the_last_exception_else_the_last_line():
    lines = ["onednn_verbose,info,x", "Traceback (most recent call last):", '  File "x.py", line 1',
             "ModuleNotFoundError: No module named 'faiss'", "  (hint)"]
    assert failure_line(lines, 1) == "ModuleNotFoundError: No module named 'faiss'"
    assert failure_line(["Segmentation fault"], -11) == "Segmentation fault"
    assert failure_line(["onednn_verbose,info"], -9) == "exit -9"


# --- TensorFlow's oneDNN: a fault, or TensorFlow's own default on a CPU without NN features ---------------------

ICX = {"avx2", "avx512f", "avx512_vnni"}
ZEN3 = {"avx2", "fma"}  # and Skylake-SP: AVX-512 without VNNI


def test_tensorflow_with_onednn_on_is_ok() -> None:
    assert tensorflow_onednn_verdict(True, None, ICX) == (True, None)


def test_tensorflow_onednn_off_on_a_cpu_without_nn_features_is_its_own_default() -> None:
    ok, note = tensorflow_onednn_verdict(False, None, ZEN3 | {"avx512f"})
    assert ok and note.startswith("off, TensorFlow's default on this CPU") and "TF_ENABLE_ONEDNN_OPTS=1" in note


def test_tensorflow_onednn_off_is_a_fault_where_tf_would_turn_it_on_or_was_told_not_to() -> None:
    assert tensorflow_onednn_verdict(False, None, ICX) == (
        False, "oneDNN is off although this CPU has avx512_vnni: this TensorFlow build has no oneDNN")
    assert tensorflow_onednn_verdict(False, "0", ZEN3) == (False, "TF_ENABLE_ONEDNN_OPTS=0 turns oneDNN off")
    assert tensorflow_onednn_verdict(False, "false", ICX)[0] is False
    assert tensorflow_onednn_verdict(False, "1", ZEN3) == (
        False, "oneDNN is off although TF_ENABLE_ONEDNN_OPTS=1: this TensorFlow build has no oneDNN")
    assert tensorflow_onednn_verdict(None, None, ZEN3)[0] is False
    assert tensorflow_onednn_verdict(False, None, {"avx2", "avx_vnni"})[0] is False  # Sierra Forest, Alder Lake
