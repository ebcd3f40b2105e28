"""The per-stack smoke tests of a framework env: each runs inside the env's Python, in its own process.

node_env.py starts one child per stack (`node_env.py check STACK [VARIANT]`), so one crashing framework
cannot take the others' results down. The child asks for the AMX tile state first (amx_permission), then
imports the stack, runs its smoke test and, per precision the CPU flags allow (FP32, BF16, INT8), one kernel
big enough to reach the framework's best path, each after a phase line so the oneDNN verbose lines that
follow are that precision's kernels; it prints its result as one JSON line. The framework imports live inside
the check functions: this module itself is standard library only, Python 3.8+.
"""

import errno
import json
import os
import platform
import sys
import time

if __package__:  # on the controller: the package xeonfleet.node
    from xeonfleet.node.siblings import sibling
else:  # on a node: the flat upload directory (see siblings.py)
    from siblings import sibling

isa_names = sibling("isa_names")

RESULT_PREFIX = "XEONFLEET_RESULT "
PHASE_PREFIX = "XEONFLEET_PHASE "
# A process asks Linux (5.16+) for the AMX tile data state before its first AMX instruction:
# arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) (Documentation/arch/x86/xstate.rst; the values of
# arch/x86/include/uapi/asm/prctl.h and asm/fpu/types.h), syscall 158 on x86_64 (syscall_64.tbl).
SYS_ARCH_PRCTL = 158
ARCH_REQ_XCOMP_PERM = 0x1023
XFEATURE_XTILEDATA = 18


def _check_intel_python(variant):
    import numpy as np

    data = np.random.default_rng(0).random((20000, 16))

    def fit():
        from sklearn.cluster import KMeans

        start = time.perf_counter()
        KMeans(n_clusters=8, n_init=1, max_iter=30, random_state=0).fit(data)
        return time.perf_counter() - start

    stock = min(fit() for _ in range(2))
    from sklearnex import patch_sklearn

    patch_sklearn(verbose=False)
    from sklearn.cluster import KMeans

    patched = min(fit() for _ in range(2))
    return {"kmeans_stock_s": round(stock, 4), "kmeans_sklearnex_s": round(patched, 4),
            "speedup": round(stock / patched, 2) if patched else None,
            "patched_module": KMeans.__module__, "ok": KMeans.__module__.startswith("sklearnex")}


# Per precision, one kernel big enough to reach the framework's best path (a tiny FP32 model never
# meets the AMX or VNNI kernels a rule asks about) and small enough for seconds on 2 cores:
# a 3x3 convolution of 4x128x28x28 (0.9 GFLOP) or a 2048^3 matmul (17 GFLOP).
CONV_SHAPE = (4, 128, 28, 28)
CONV_FLOP = 2 * 4 * 128 * 128 * 9 * 28 * 28
MATMUL_N = 2048
MATMUL_FLOP = 2 * MATMUL_N ** 3


def cpu_flags(path="/proc/cpuinfo"):
    """The first processor's flags (x86 "flags" line); empty when there is none."""
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _gflops(precision, run, flop):
    """GFLOP/s (GOP/s for INT8) of the best of three calls after a warm-up (JIT, weight reorders),
    after a phase line: the oneDNN verbose lines that follow are the kernels of `precision`."""
    print(PHASE_PREFIX + precision, flush=True)
    run()
    best = None
    for _ in range(3):
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return round(flop / best / 1e9, 1)


def run_precisions(kernels, flags):
    """Run kernels[precision]() for each precision the CPU flags give a native path for. A precision
    the stack has no kernel for is recorded as skipped with the reason; one that raises, with its error."""
    results = {}
    for precision in isa_names.precisions_for(flags):
        kernel = kernels.get(precision)
        if isinstance(kernel, str):
            results[precision] = {"skipped": kernel}
            continue
        try:
            results[precision] = kernel()
        except Exception as exc:  # one precision failing must not hide the others
            results[precision] = {"error": f"{type(exc).__name__}: {exc}"}
    return results


def _openvino_conv(ov, ops, np, precision):
    """A conv compiled for `precision` (INT8 through FakeQuantize, which OpenVINO's low-precision
    passes turn into a u8 x i8 conv); its kernel comes from the runtime graph, which names it per op."""
    x = ops.parameter(list(CONV_SHAPE), np.float32, name="x")
    src = x
    weights = ops.constant(np.random.default_rng(0).standard_normal((128, 128, 3, 3)).astype(np.float32) * 0.05)
    if precision == "int8":
        low, high = ops.constant(np.float32(0)), ops.constant(np.float32(4))
        src = ops.fake_quantize(x, low, high, low, high, 256)
        wlow, whigh = ops.constant(np.float32(-0.25)), ops.constant(np.float32(0.25))
        weights = ops.fake_quantize(weights, wlow, whigh, wlow, whigh, 255)
    model = ov.Model([ops.relu(ops.convolution(src, weights, [1, 1], [1, 1], [1, 1], [1, 1]))], [x], precision)
    hint = "bf16" if precision == "bf16" else "f32"
    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": hint, "NUM_STREAMS": "1"})
    request = compiled.create_infer_request()
    data = np.random.default_rng(1).random(CONV_SHAPE, dtype=np.float32)
    result = {"op": "convolution 4x128x28x28 3x3", "hint": hint,
              "gflops": _gflops(precision, lambda: request.infer({0: data}), CONV_FLOP)}
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        if "layerType" in info and info["layerType"].astype(str) == "Convolution":
            kernel = info["primitiveType"].astype(str)
            result.update(kernel=kernel, isa=isa_names.openvino_isa(kernel),
                          src_type=info["runtimePrecision"].astype(str), isa_source="openvino runtime model")
    return result


def _check_openvino(variant):
    import numpy as np
    import openvino as ov
    import openvino.opset13 as ops

    core = ov.Core()
    devices = list(core.available_devices)
    param = ops.parameter([1, 3, 16, 16], np.float32, name="x")
    weights = ops.constant(np.full((8, 3, 3, 3), 0.1, dtype=np.float32))
    conv = ops.convolution(param, weights, [1, 1], [1, 1], [1, 1], [1, 1])
    model = ov.Model([ops.relu(conv)], [param], "xeonfleet_smoke")
    compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})  # AMX CPUs default to BF16
    out = compiled(np.ones((1, 3, 16, 16), dtype=np.float32))[0]
    kernels = {p: (lambda p=p: _openvino_conv(ov, ops, np, p)) for p in isa_names.PRECISIONS}
    return {"devices": devices, "output_shape": list(out.shape),
            "ok": "CPU" in devices and abs(float(out[0, 0, 8, 8]) - 2.7) < 1e-2,
            "precisions": run_precisions(kernels, cpu_flags())}


# TensorFlow's own default on Linux x86 (DefaultOneDnnPolicy, tensorflow/core/util/port.cc): oneDNN on only for
# a CPU with one of these; on the others (Skylake-SP, Broadwell, AMD Zen 3) it is off unless TF_ENABLE_ONEDNN_OPTS=1.
TF_ONEDNN_DEFAULT_FLAGS = frozenset({"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16"})


def turns_onednn_off(forced):
    """Whether a TF_ENABLE_ONEDNN_OPTS value (None: unset) turns oneDNN off, as TensorFlow reads it."""
    return forced is not None and forced.lower() in ("0", "false")


def tensorflow_onednn_verdict(onednn, forced, flags):
    """(ok, why oneDNN is off, or None) of a TensorFlow env. Off is a fault where it was forced off
    (TF_ENABLE_ONEDNN_OPTS=0) or where TF would have it on (a CPU with NN features: Cascade Lake on, Sierra Forest's
    AVX-VNNI); on a CPU without them it is TF's own choice, and the env works on Eigen. None (TF did not say) is
    a fault too."""
    if onednn:
        return True, None
    if onednn is None:
        return False, "TensorFlow does not say whether oneDNN is on (no _pywrap_util_port.IsMklEnabled)"
    if turns_onednn_off(forced):
        return False, f"TF_ENABLE_ONEDNN_OPTS={forced} turns oneDNN off"
    has = sorted(flags & TF_ONEDNN_DEFAULT_FLAGS)
    if forced is None and not has:
        return True, ("off, TensorFlow's default on this CPU: it turns oneDNN on only with one of "
                      f"{', '.join(sorted(TF_ONEDNN_DEFAULT_FLAGS))} in the CPU flags (TF_ENABLE_ONEDNN_OPTS=1 forces it)")
    why = f"TF_ENABLE_ONEDNN_OPTS={forced}" if forced is not None else f"this CPU has {', '.join(has)}"
    return False, f"oneDNN is off although {why}: this TensorFlow build has no oneDNN"


def _check_tensorflow(variant):
    import tensorflow as tf

    onednn = None
    try:
        from tensorflow.python.util import _pywrap_util_port

        onednn = bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        pass
    forced = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    if turns_onednn_off(forced):
        onednn = False
    x = tf.random.uniform((1, 16, 16, 3))
    y = tf.keras.layers.Conv2D(8, 3)(x)

    def fp32():  # TF runs FP32 matmul on Eigen, FP32 convolution on oneDNN
        batch, channels, size = CONV_SHAPE[0], CONV_SHAPE[1], CONV_SHAPE[2]
        images = tf.random.uniform((batch, size, size, channels))
        filters = tf.random.uniform((3, 3, channels, channels))
        return {"op": "conv2d 4x28x28x128 NHWC 3x3",
                "gflops": _gflops("fp32", lambda: tf.nn.conv2d(images, filters, 1, "SAME").numpy(), CONV_FLOP)}

    def bf16():
        a, b = (tf.cast(tf.random.uniform((MATMUL_N, MATMUL_N)), tf.bfloat16) for _ in range(2))
        return {"op": f"matmul {MATMUL_N}^3", "gflops": _gflops("bf16", lambda: tf.linalg.matmul(a, b).numpy(), MATMUL_FLOP)}

    kernels = {"fp32": fp32, "bf16": bf16,
               "int8": "TensorFlow has no INT8 matmul/conv outside a quantised graph (INC or the model zoo make those)"}
    flags = cpu_flags()
    ok, onednn_note = tensorflow_onednn_verdict(onednn, forced, flags)
    return {"onednn_enabled": onednn, "onednn_note": onednn_note, "output_shape": list(y.shape), "ok": ok,
            **({} if ok else {"error": onednn_note}), "precisions": run_precisions(kernels, flags)}


def _pytorch_kernels(torch):
    """FP32 through a channels-last conv (torch sends FP32 matmul to MKL, not oneDNN), BF16 through
    matmul, INT8 through onednn::qlinear_pointwise, the op INC's and torch.compile's PT2E INT8 lower to."""
    def fp32():
        x = torch.randn(*CONV_SHAPE).to(memory_format=torch.channels_last)
        w = torch.randn(128, 128, 3, 3).to(memory_format=torch.channels_last)
        with torch.no_grad():
            return {"op": "conv2d 4x128x28x28 3x3 channels_last",
                    "gflops": _gflops("fp32", lambda: torch.nn.functional.conv2d(x, w, padding=1), CONV_FLOP)}

    def bf16():
        a, b = (torch.randn(MATMUL_N, MATMUL_N, dtype=torch.bfloat16) for _ in range(2))
        return {"op": f"matmul {MATMUL_N}^3", "gflops": _gflops("bf16", lambda: torch.matmul(a, b), MATMUL_FLOP)}

    def int8():
        n = MATMUL_N
        x = torch.randint(0, 255, (n, n), dtype=torch.uint8)
        packed = torch.ops.onednn.qlinear_prepack(torch.randint(-127, 127, (n, n), dtype=torch.int8), [n, n])
        scales, zeros = torch.full((n,), 0.01), torch.zeros(n, dtype=torch.int64)

        def run():
            return torch.ops.onednn.qlinear_pointwise(x, 0.01, 0, packed, scales, zeros, None, 1.0, 0,
                                                      torch.float32, "none", [], "")

        return {"op": f"onednn::qlinear_pointwise u8 x s8 {n}^3", "gflops": _gflops("int8", run, MATMUL_FLOP)}

    return {"fp32": fp32, "bf16": bf16, "int8": int8}


def _check_pytorch(variant):
    import torch

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.LazyLinear(4)).eval()
    x = torch.ones(8, 3, 32, 32)
    with torch.no_grad():
        model(x)
    result = {"mkldnn": bool(torch.backends.mkldnn.is_available()), "ipex": None}
    if variant == "ipex":
        import intel_extension_for_pytorch as ipex

        model = ipex.optimize(model)
        result["ipex"] = ipex.__version__
    with torch.no_grad():
        out = model(x)
    result["output_shape"] = list(out.shape)
    result["ok"] = result["mkldnn"] and list(out.shape) == [8, 4]
    result["precisions"] = run_precisions(_pytorch_kernels(torch), cpu_flags())
    return result


def _inc_pt2e_int8(torch):
    """INC's PT2E flow on a 2048x2048 linear (export, calibrate, convert, torch.compile). Inductor
    lowers it to oneDNN INT8 only with freezing on (weights prepacked): without it the compiled
    model ran no oneDNN kernel at all here (dequantise, then FP32)."""
    import torch._inductor.config as inductor_config
    from neural_compressor.torch.export import export
    from neural_compressor.torch.quantization import convert, get_default_static_config, prepare

    inductor_config.freezing = True
    model = torch.nn.Sequential(torch.nn.Linear(MATMUL_N, MATMUL_N), torch.nn.ReLU()).eval()
    x = torch.randn(MATMUL_N, MATMUL_N)
    with torch.no_grad():
        prepared = prepare(export(model, example_inputs=(x,)), get_default_static_config())
        prepared(x)  # calibration
        quantised = torch.compile(convert(prepared))
        quantised(x)  # compiles (tens of seconds on 2 cores), outside the timed phase
        return {"op": f"INC PT2E linear {MATMUL_N}^3 + torch.compile (freezing)",
                "gflops": _gflops("int8", lambda: quantised(x), MATMUL_FLOP)}


def _check_inc(variant):
    import neural_compressor

    if variant == "pt":  # the PT2E INT8 entry points, which load torch and torchao
        import torch

        only_int8 = "INC quantises to INT8; FP32 and BF16 run the env's torch (the pytorch check)"
        kernels = {"fp32": only_int8, "bf16": only_int8, "int8": lambda: _inc_pt2e_int8(torch)}
        return {"module": "neural_compressor.torch.quantization", "ok": True,
                "precisions": run_precisions(kernels, cpu_flags())}
    return {"module": neural_compressor.__name__, "ok": True}


def _check_faiss(variant):
    import faiss
    import numpy as np

    data = np.random.default_rng(0).random((2000, 32)).astype("float32")
    index = faiss.IndexHNSWFlat(32, 16)
    index.add(data)
    _, ids = index.search(data[:5], 1)
    return {"ok": [int(i) for i in ids[:, 0]] == [0, 1, 2, 3, 4]}


# What a user imports for each stack; the co-import check loads them together in one process.
MODULES = {"intel-python": ["sklearnex"], "openvino": ["openvino"], "tensorflow": ["tensorflow"],
           "pytorch": ["torch"], "inc": ["neural_compressor"], "faiss": ["faiss"]}


def _check_coimport(order):
    """Import every stack in one process, in the given order: bundled native libraries (OpenVINO
    ships its own TBB, for one) can break a stack imported after them."""
    import importlib

    for stack in order.split(","):
        for module in MODULES[stack]:
            importlib.import_module(module)
    return {"order": order.split(","), "ok": True}


CHECKS = {"coimport": _check_coimport, "intel-python": _check_intel_python, "openvino": _check_openvino, "tensorflow": _check_tensorflow,
          "pytorch": _check_pytorch, "inc": _check_inc, "faiss": _check_faiss}


def request_amx_permission():
    """Ask for the AMX tile state in this process, as oneDNN does before its AMX kernels: "granted",
    "denied (ERRNO)" (EINVAL: a kernel before 5.16; EOPNOTSUPP: no tile state to grant; EPERM: a seccomp
    filter) or "n/a" (not x86_64 Linux). A denial is why AMX kernels cannot run here, whatever the stack."""
    if sys.platform != "linux" or platform.machine() != "x86_64":
        return "n/a"
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(ctypes.c_long(SYS_ARCH_PRCTL), ctypes.c_long(ARCH_REQ_XCOMP_PERM),
                    ctypes.c_long(XFEATURE_XTILEDATA)) == 0:
        return "granted"
    code = ctypes.get_errno()
    name = "EOPNOTSUPP" if code == errno.EOPNOTSUPP else errno.errorcode.get(code, f"errno {code}")
    return f"denied ({name})"


def cmd_check(stack, variant):
    permission = request_amx_permission()  # before the stack's kernels, in their process
    result = CHECKS[stack](variant)
    result["amx_permission"] = permission
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0

