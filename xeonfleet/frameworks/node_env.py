"""Node-side helper for framework envs: pip install with one-line errors,
and the per-stack smoke tests that write the env record.

Uploaded by deploys/frameworks.py to /opt/xeonfleet/lib/node_env.py and run with the node's
Python (stdlib only, Python 3.8+): the controller never imports a framework.

    python node_env.py install ENV_PATH [--find-links DIR] [--no-index] -- REQ...
    python node_env.py smoke ENV_PATH --meta JSON      # runs every stack, writes the record
    python node_env.py check STACK [VARIANT]           # one stack, prints one JSON line

Each `check` runs in its own child process with ONEDNN_VERBOSE=1, so the oneDNN lines it
prints tell which ISA the kernels were dispatched to, and one crashing framework cannot take
the others' results down.
"""

import json
import os
import re
import subprocess
import sys
import time
from importlib import metadata

RECORD_NAME = "xeonfleet-env.json"
RESULT_PREFIX = "XEONFLEET_RESULT "
CHECK_TIMEOUT_S = 900

# oneDNN's "isa:" info line -> the ISA name its kernels carry; first entry whose words all
# appear wins ("Intel AVX-512 with float16, Intel DL Boost and bfloat16 support and Intel AMX ...").
_ISA_INFO = [
    (("AMX", "with float16"), "avx512_core_amx_fp16"),
    (("AMX",), "avx512_core_amx"),
    (("AVX-512", "bfloat16"), "avx512_core_bf16"),
    (("AVX-512", "DL Boost"), "avx512_core_vnni"),
    (("AVX-512",), "avx512_core"),
    (("AVX2", "DL Boost"), "avx2_vnni"),
    (("AVX2",), "avx2"),
    (("AVX",), "avx"),
    (("SSE4.1",), "sse41"),
]
_ISA_RANK = [name for _, name in reversed(_ISA_INFO)]
_IMPL_ISA = re.compile(r"(avx512_core_amx_fp16|avx512_core_amx|avx512_core_fp16|avx512_core_bf16|"
                       r"avx512_core_vnni|avx512_core|avx2_vnni_2|avx2_vnni|avx2|avx|sse41)")


def isa_rank(isa):
    """Order ISAs so the best one can be picked (unknown names rank lowest)."""
    base = isa.replace("avx512_core_fp16", "avx512_core_bf16").replace("avx2_vnni_2", "avx2_vnni")
    return _ISA_RANK.index(base) if base in _ISA_RANK else -1


def parse_onednn_verbose(lines):
    """oneDNN verbose lines -> {"max_isa": str|None, "dispatched": [isa, ...]}.

    `max_isa` is what the library says the CPU allows (the "isa:" info line); `dispatched`
    are the ISAs of the kernels that really ran ("brgemm:avx512_core_amx" ...), best first.
    """
    max_isa, dispatched = None, set()
    for line in lines:
        if not line.startswith(("onednn_verbose", "dnnl_verbose")):
            continue
        fields = line.strip().split(",")
        if "info" in fields and ",isa:" in line:
            text = line.split(",isa:", 1)[1]  # the ISA text itself may hold commas
            max_isa = next((name for words, name in _ISA_INFO if all(w in text for w in words)), text)
            continue
        if "exec" in fields and "cpu" in fields:
            idx = fields.index("cpu")
            impl = fields[idx + 2] if len(fields) > idx + 2 else ""
            match = _IMPL_ISA.search(impl)
            if match:
                dispatched.add(match.group(1))
    return {"max_isa": max_isa, "dispatched": sorted(dispatched, key=isa_rank, reverse=True)}


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
    compiled = core.compile_model(model, "CPU")
    out = compiled(np.ones((1, 3, 16, 16), dtype=np.float32))[0]
    return {"devices": devices, "output_shape": list(out.shape),
            "ok": "CPU" in devices and abs(float(out[0, 0, 8, 8]) - 2.7) < 1e-2}


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
    return {"onednn_enabled": onednn, "output_shape": list(y.shape), "ok": bool(onednn)}


def _check_pytorch(variant):
    import torch

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.LazyLinear(4)).eval()
    # A batch of 8: torch sends a single small fp32 image to its own kernels, not to oneDNN,
    # and then there would be no ISA to read (seen with torch 2.13 on the build VM).
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
    return result


def _check_inc(variant):
    import neural_compressor

    if variant == "pt":  # the PT2E INT8 entry points, which load torch and torchao
        from neural_compressor.torch.quantization import convert, get_default_static_config, prepare  # noqa: F401

        return {"module": "neural_compressor.torch.quantization", "ok": True}
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


def cmd_check(stack, variant):
    result = CHECKS[stack](variant)
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
    """Run one check in a child with ONEDNN_VERBOSE=1; return its result with the ISA found."""
    env = dict(os.environ, ONEDNN_VERBOSE="1", DNNL_VERBOSE="1")
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
    return result


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
    """The best ISA any stack's kernels were dispatched to (None if no oneDNN ran)."""
    found = [isa for res in stack_results.values() for isa in res.get("dispatched") or []]
    return max(found, key=isa_rank) if found else None


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
    record = {
        "name": meta["name"], "backend": meta["backend"], "path": env_path, "python": sys.version.split()[0],
        "spec_hash": meta["spec_hash"], "stacks": stacks, "versions": package_versions(meta["packages"]),
        "isa": best_isa(stacks), "coimport_ok": all(res.get("ok") for res in coimports), "ok": not failed, "error": "; ".join(failed) or None,
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
