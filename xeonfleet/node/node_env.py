"""Node-side helper for framework envs: pip install with one-line errors,
and the per-stack smoke tests that write the env record.

Uploaded by deploys/frameworks.py to /opt/xeonfleet/lib/node_env.py and run with the node's
Python (stdlib only, Python 3.8+): the controller never imports a framework.

    python node_env.py install ENV_PATH [--find-links DIR] [--no-index] -- REQ...
    python node_env.py smoke ENV_PATH --meta JSON      # runs every stack, writes the record
    python node_env.py check STACK [VARIANT]           # one stack, prints one JSON line

Each `check` runs in its own child process, so one crashing framework cannot take the others'
results down. Per precision the CPU flags allow (FP32, BF16, INT8) it runs one kernel big enough to
reach the framework's best path and records the ISA that really ran: from oneDNN's verbose lines
(torch, TensorFlow, INC) or OpenVINO's runtime graph; and, asked before those kernels, whether the
process got the AMX tile state (amx_permission).
"""

import errno
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import time
from importlib import metadata

if __package__:  # imported on the controller as xeonfleet.node.node_env
    from xeonfleet.node import isa_names
else:  # run as a script on the node, where deploys/frameworks.py uploads isa_names.py beside it
    import isa_names

RECORD_NAME = "xeonfleet-env.json"
RESULT_PREFIX = "XEONFLEET_RESULT "
PHASE_PREFIX = "XEONFLEET_PHASE "
CHECK_TIMEOUT_S = 900
# Bumped when the checks change what they record: a record of an older version is re-checked.
CHECKS_VERSION = 2
ONEDNN_VERBOSE_STACKS = ("pytorch", "tensorflow", "inc")
# oneDNN primitives that do the arithmetic (reorders and eltwise ops around them say nothing).
_COMPUTE_PRIMITIVES = ("convolution", "deconvolution", "matmul", "inner_product")
# Variables that change which kernels oneDNN / TensorFlow pick; the record says where each was set.
RUNTIME_KNOBS = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ONEDNN_DEFAULT_FPMATH_MODE",
                 "DNNL_DEFAULT_FPMATH_MODE", "ONEDNN_CPU_ISA_HINTS", "TF_ENABLE_ONEDNN_OPTS")
PROFILE_ENV = "/etc/profile.d/xeonfleet-ai.sh"
# The cpuinfo flags that decide which precisions are checked (kept in the record as evidence).
_JUDGED_FLAGS = {flag for table in isa_names.WANTED_FOR_FLAGS.values() for flag, _ in table}
# A process asks Linux (5.16+) for the AMX tile data state before its first AMX instruction:
# arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) (Documentation/arch/x86/xstate.rst; the values of
# arch/x86/include/uapi/asm/prctl.h and asm/fpu/types.h), syscall 158 on x86_64 (syscall_64.tbl).
SYS_ARCH_PRCTL = 158
ARCH_REQ_XCOMP_PERM = 0x1023
XFEATURE_XTILEDATA = 18


def _onednn_exec(line):
    """A oneDNN verbose exec line -> (primitive kind, implementation, src data type), else None.
    Both layouts: v3.x "onednn_verbose,v1,primitive,exec,cpu,matmul,IMPL,prop,src:bf16::..." and
    older "dnnl_verbose,exec,cpu,convolution,IMPL,prop,src_f32::...".
    """
    if not line.startswith(("onednn_verbose", "dnnl_verbose")):
        return None
    fields = line.strip().split(",")
    if "exec" not in fields or "cpu" not in fields:
        return None
    idx = fields.index("cpu")
    if len(fields) <= idx + 2:
        return None
    src = re.search(r"\bsrc[_:]([a-z0-9]+)", ",".join(fields[idx + 3:idx + 5]))
    return fields[idx + 1], fields[idx + 2], src.group(1) if src else None


def parse_onednn_verbose(lines):
    """oneDNN verbose lines -> {"max_isa": str|None, "dispatched": [isa, ...]}.

    `max_isa` is what the library says the CPU allows (the "isa:" info line); `dispatched`
    are the ISAs of the kernels that really ran ("brgemm:avx512_core_amx" ...), best first.
    """
    max_isa, dispatched = None, set()
    for line in lines:
        if line.startswith(("onednn_verbose", "dnnl_verbose")) and ",info," in line and ",isa:" in line:
            max_isa = isa_names.info_isa(line.split(",isa:", 1)[1])  # the ISA text itself may hold commas
            continue
        kernel = _onednn_exec(line)
        isa = isa_names.onednn_isa(kernel[1]) if kernel else None
        if isa:
            dispatched.add(isa)
    return {"max_isa": max_isa, "dispatched": sorted(dispatched, key=isa_names.rank, reverse=True)}


def compute_kernel(lines):
    """The best-ISA compute primitive among oneDNN verbose lines -> {"isa", "kernel", "src_type"}
    (None when no convolution/matmul/inner product ran through oneDNN)."""
    found = []
    for line in lines:
        kernel = _onednn_exec(line)
        if kernel and kernel[0] in _COMPUTE_PRIMITIVES:
            found.append({"isa": isa_names.onednn_isa(kernel[1]), "kernel": kernel[1], "src_type": kernel[2]})
    return max(found, key=lambda k: isa_names.rank(k["isa"])) if found else None


def split_phases(lines):
    """Lines of a check's output -> {precision: the lines printed while it ran}."""
    phases, current = {}, None
    for line in lines:
        if line.startswith(PHASE_PREFIX):
            current = line[len(PHASE_PREFIX):].strip()
            phases[current] = []
        elif current is not None:
            phases[current].append(line)
    return phases


def install_error_line(output, find_links):
    """Turn pip's output into the one line a fleet operator needs."""
    missing = re.search(r"No matching distribution found for (\S+)", output)
    if missing and find_links:
        return (f"xeonfleet: wheel missing from wheelhouse {find_links}: {missing.group(1)} "
                f"(rebuild it with `xeonfleet wheelhouse build` for this env's stacks)")
    if missing:
        return f"xeonfleet: the package index has no {missing.group(1)} for this Python/platform"
    if "No space left on device" in output:
        return "xeonfleet: no space left on device while installing; free space in the env prefix"
    if re.search(r"(NewConnectionError|Temporary failure in name resolution|Network is unreachable)", output):
        return "xeonfleet: cannot reach the package index; give the deploy a wheelhouse (host data `wheelhouse`)"
    tail = [line for line in output.strip().splitlines() if line.strip()]
    return "xeonfleet: pip install failed: " + (tail[-1] if tail else "no output")


def cmd_install(env_path, find_links, no_index, reqs):
    cmd = [os.path.join(env_path, "bin", "python"), "-m", "pip", "install", "--disable-pip-version-check",
           "--no-input", "--progress-bar", "off"]
    if find_links:
        cmd += ["--find-links", find_links]
    if no_index:
        cmd.append("--no-index")
    proc = subprocess.run(cmd + list(reqs), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    if proc.returncode != 0:
        print(install_error_line(proc.stdout, find_links), file=sys.stderr)
        return 1
    return 0


# --- per-stack checks: each runs inside the env's Python, in its own process -------------

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


def _check_tensorflow(variant):
    import tensorflow as tf

    onednn = None
    try:
        from tensorflow.python.util import _pywrap_util_port

        onednn = bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        pass
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0":
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
    return {"onednn_enabled": onednn, "output_shape": list(y.shape), "ok": bool(onednn),
            "precisions": run_precisions(kernels, cpu_flags())}


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


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b")
_NUMPY_ABI = re.compile(r"compiled using NumPy 1\.x cannot be run in")


def failure_line(lines, returncode):
    """The one line that says why a check died: NumPy 2 under a NumPy-1 build is named as
    such (its traceback ends in an unrelated pybind11 TypeError), else the last exception line."""
    text = [line for line in lines if line.strip() and not line.startswith(("onednn_verbose", "dnnl_verbose"))]
    if any(_NUMPY_ABI.search(line) for line in text):
        return "a module built for NumPy 1.x was imported under NumPy 2; pin numpy<2 for this stack"
    exceptions = [line.strip() for line in text if _EXCEPTION_LINE.match(line)]
    return (exceptions or text or [f"exit {returncode}"])[-1]


def run_stack_check(python, stack, variant):
    """Run one check in its own child; return its result with the ISAs found. torch, TensorFlow and
    INC run with ONEDNN_VERBOSE=1, whose lines name their kernels. OpenVINO names its own in the
    runtime graph, and under ONEDNN_VERBOSE=1 its 2026.4 INT8 conv failed in 3 of 4 runs on an AMX VM
    ("Node FakeQuantize_..._Convolution of type Reorder could not execute a primitive"): it runs without."""
    env = dict(os.environ)
    if stack in ONEDNN_VERBOSE_STACKS:
        env.update(ONEDNN_VERBOSE="1", DNNL_VERBOSE="1")
    try:
        proc = subprocess.run([python, os.path.abspath(__file__), "check", stack, variant],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                              env=env, timeout=CHECK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"{stack} smoke test timed out after {CHECK_TIMEOUT_S}s"}
    lines = proc.stdout.splitlines()
    result_lines = [line for line in lines if line.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not result_lines:
        return {"ok": False, "error": f"{stack}: " + failure_line(lines, proc.returncode)}
    result = json.loads(result_lines[-1][len(RESULT_PREFIX):])
    result.update(parse_onednn_verbose(lines))
    add_dispatched_kernels(result.get("precisions") or {}, split_phases(lines))
    return result


def add_dispatched_kernels(precisions, phases):
    """Fill each precision that ran with the oneDNN kernel its phase's verbose lines name (the
    OpenVINO check names its own from the runtime graph)."""
    for precision, found in precisions.items():
        if "isa" in found or "skipped" in found or "error" in found:
            continue
        kernel = compute_kernel(phases.get(precision, []))
        found.update(kernel or {"isa": None, "kernel": None}, isa_source="onednn verbose")


def _set_in(var, files):
    """The first of `files` that assigns `var` (`VAR=` or `export VAR=`), else None."""
    assign = re.compile(r"^\s*(export\s+)?" + re.escape(var) + r"=")
    for path in files:
        try:
            with open(path) as handle:
                if any(assign.match(line) for line in handle):
                    return path
        except OSError:
            continue
    return None


def runtime_knobs(env_path, environ=None):
    """The kernel-choosing variables set in the checks' environment, with the file that sets each
    (the env's activate.sh, a profile.d script or /etc/environment; None: inherited from the caller)."""
    environ = os.environ if environ is None else environ
    profile_d = "/etc/profile.d"
    scripts = sorted(os.path.join(profile_d, n) for n in os.listdir(profile_d)) if os.path.isdir(profile_d) else []
    files = [os.path.join(env_path, "activate.sh"), *scripts, "/etc/environment"]
    return {var: {"value": environ[var], "set_in": _set_in(var, files)} for var in RUNTIME_KNOBS if var in environ}


def file_sha1(path):
    try:
        with open(path, "rb") as handle:
            return hashlib.sha1(handle.read()).hexdigest()
    except OSError:
        return None


def watched_files(knobs):
    """The files whose change should re-run the checks: the node's runtime env and any file that
    set a knob -> their SHA1 now (None: absent)."""
    paths = {PROFILE_ENV, *(k["set_in"] for k in knobs.values() if k["set_in"])}
    return {path: file_sha1(path) for path in sorted(paths)}


def package_versions(names):
    """Installed versions of the given distributions (None when absent)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def best_isa(stack_results):
    """The best ISA any stack's kernels ran on, from oneDNN's verbose lines or a precision's kernel
    (None if none ran)."""
    found = [isa for res in stack_results.values() for isa in res.get("dispatched") or []]
    found += [p["isa"] for res in stack_results.values() for p in (res.get("precisions") or {}).values() if p.get("isa")]
    return max(found, key=isa_names.rank) if found else None


def cmd_smoke(env_path, meta):
    """Run every stack's check; write the record (ok true/false) atomically; exit 0 only if ok."""
    stacks = {}
    for stack, info in meta["stacks"].items():
        stacks[stack] = dict(info, **run_stack_check(sys.executable, stack, info["variant"]))
    order = list(meta["stacks"])
    coimports = [run_stack_check(sys.executable, "coimport", ",".join(o)) for o in (order, order[::-1])
                 if len(order) > 1]
    failed = [f"{name}: {res.get('error', 'check returned ok=false')}" for name, res in stacks.items()
              if not res.get("ok")]
    failed += [f"importing {', '.join(o)} together: {res.get('error')}" for o, res in
               zip((order, order[::-1]), coimports) if not res.get("ok")]
    knobs = runtime_knobs(env_path)
    record = {
        "name": meta["name"], "backend": meta["backend"], "path": env_path, "python": sys.version.split()[0],
        "spec_hash": meta["spec_hash"], "stacks": stacks, "versions": package_versions(meta["packages"]),
        "isa": best_isa(stacks), "coimport_ok": all(res.get("ok") for res in coimports), "ok": not failed, "error": "; ".join(failed) or None,
        "checks_version": CHECKS_VERSION, "cpu_flags": sorted(cpu_flags() & _JUDGED_FLAGS),
        "runtime_knobs": knobs, "watched_files": watched_files(knobs),
        "checked_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tmp = os.path.join(env_path, RECORD_NAME + ".tmp")
    with open(tmp, "w") as handle:
        json.dump(record, handle, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(env_path, RECORD_NAME))
    print(json.dumps(record, sort_keys=True))
    if failed:
        print("xeonfleet: smoke test failed in " + env_path + ": " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "install":
        opts, reqs = argv[2:argv.index("--")], argv[argv.index("--") + 1:]
        find_links = opts[opts.index("--find-links") + 1] if "--find-links" in opts else None
        return cmd_install(argv[1], find_links, "--no-index" in opts, reqs)
    if len(argv) == 4 and argv[0] == "smoke" and argv[2] == "--meta":
        return cmd_smoke(argv[1], json.loads(argv[3]))
    if len(argv) in (2, 3) and argv[0] == "check" and argv[1] in CHECKS:
        return cmd_check(argv[1], argv[2] if len(argv) == 3 else "")
    print("usage: node_env.py install ENV [--find-links D] [--no-index] -- REQ... | "
          "smoke ENV --meta JSON | check STACK [VARIANT]", file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
