"""INT8, BF16 and FP16 next to FP32 on one matrix multiply through oneDNN (PyTorch), against each
precision's ISA peak, with the kernel oneDNN really dispatched.

The guide: INT8 with AVX-512 VNNI, BF16 and AMX on newer Xeons. The same N x N linear layer
(y = x W^T) runs in each precision through oneDNN, the library every maintained stack uses on Xeon:
FP32, BF16 and FP16 as torch's mkldnn Linear, INT8 as a quantized Linear on torch's `onednn` engine (u8
activations, s8 weights). N is large enough (>= 1024) for oneDNN to pick its AMX / VNNI brgemm
kernels. One probe call per precision runs under oneDNN verbose, so the samples name the kernel and
its ISA (normalised by isa_names.py, shipped with the runners): a BF16 rate at 5 % of the AMX peak
with `dispatched_isa: avx512_core_bf16` says AMX was not used, and why the speed-up is small.

Peaks come from the controller's facts (xeonfleet/bench/peak.py, one table); the %-of-peak samples use
the cores this process really ran on. BF16 runs only where the CPU has avx512_bf16 or amx_bf16, FP16
only where it has amx_fp16 (Granite Rapids) or avx512_fp16 (Sapphire Rapids on): elsewhere they are
emulated and say nothing about the node, so they are skipped with that reason. The speed-ups are over
FP32 on the same node, same N."""

from __future__ import annotations

import sys

import benchlib
import measures

BENCHMARK_NAME = "matmul-isa"
REQUIRES = ("torch",)
PRECISIONS = ("fp32", "bf16", "int8", "fp16")
# The /proc/cpuinfo flags that give a precision native math; precisions not named here always have it.
NATIVE_FLAGS = {"bf16": ("avx512_bf16", "amx_bf16"), "fp16": ("amx_fp16", "avx512_fp16")}
UNITS = {"fp32": "GFLOP/s", "bf16": "GFLOP/s", "int8": "GOP/s", "fp16": "GFLOP/s"}
# What each precision multiplies (torch dtype names; INT8 is u8 activations x s8 weights).
DTYPES = {"fp32": "float32", "bf16": "bfloat16", "int8": "quint8 x qint8", "fp16": "float16"}


def _linear(precision: str, n: int):
    """(layer, input) of one precision, built in the instance process (torch loads there)."""
    import torch
    from torch.utils import mkldnn

    torch.manual_seed(0)
    if precision == "int8":
        torch.backends.quantized.engine = "onednn"
        layer = torch.ao.nn.quantized.Linear(n, n)
        layer.set_weight_bias(torch.quantize_per_tensor(torch.randn(n, n), 0.05, 0, torch.qint8), None)
        layer.scale, layer.zero_point = 0.5, 0
        return layer, torch.quantize_per_tensor(torch.rand(n, n), 0.01, 0, torch.quint8)
    dtype = getattr(torch, DTYPES[precision])
    layer = mkldnn.to_mkldnn(torch.nn.Linear(n, n, bias=False), dtype)
    return layer, torch.randn(n, n).to(dtype).to_mkldnn()


def _matmul_instance(barrier, precisions: list[str], n: int, warmup: int, repeats: int) -> dict:
    import torch

    out = {}
    with torch.no_grad():
        for precision in precisions:
            layer, x = _linear(precision, n)
            kernel = measures.onednn_kernel(lambda: layer(x))
            barrier.wait()
            out[precision] = {"times": benchlib.timed_repeats(lambda: layer(x), warmup, repeats), "kernel": kernel}
    return out


def _flags() -> set[str]:
    with open("/proc/cpuinfo") as handle:
        line = next((line for line in handle if line.startswith("flags")), "flags :")
    return set(line.split(":", 1)[1].split())


def _skipped(wanted: list[str], flags: set[str]) -> dict[str, str]:
    """{precision: why it does not run} for the wanted precisions this CPU has no native math for."""
    return {p: f"no {' or '.join(NATIVE_FLAGS[p])} in /proc/cpuinfo flags: {p.upper()} would be emulated"
            for p in wanted if p in NATIVE_FLAGS and not flags.intersection(NATIVE_FLAGS[p])}


def Prepare(params: dict) -> dict:
    wanted = params.get("precisions", list(PRECISIONS))
    unknown = [p for p in wanted if p not in PRECISIONS]
    if unknown or "fp32" not in wanted:
        raise benchlib.RunnerError(f"precisions {wanted} must include fp32 (the speed-up reference) and be "
                                   f"some of {list(PRECISIONS)}")
    if int(params.get("n", 0)) < 256:
        raise benchlib.RunnerError(f"n {params.get('n')!r} too small for oneDNN's AMX/VNNI kernels; use >= 1024")
    skipped = _skipped(wanted, _flags())
    return {"plan": benchlib.node_plan("single"), "precisions": [p for p in wanted if p not in skipped],
            "skipped": skipped}


def Run(params: dict, state: dict) -> list:
    plan = state["plan"]
    n = int(params["n"])
    args = (state["precisions"], n, int(params.get("warmup", 1)), int(params.get("repeats", 5)))
    result = benchlib.run_instances(_matmul_instance, args, plan.cpusets, [len(plan.cpusets[0])])[0]
    return _ParseMatmulResults(result, n, params, state)


def _ParseMatmulResults(result: dict, n: int, params: dict, state: dict) -> list:
    """Per precision: sustained rate, % of its ISA peak, the kernel; then each precision's speed-up over FP32."""
    plan, ops = state["plan"], 2.0 * n**3
    base = {"n": n, "op": "linear y = x W^T (oneDNN)", "warmup": params.get("warmup", 1),
            "repeats": params.get("repeats", 5), "statistic": "mean rate over repeats",
            "threads": len(plan.cpusets[0]), "skipped_precisions": state["skipped"], **plan.metadata}
    samples: list = []
    rates = {}
    for precision, measured in result.items():
        times = measured["times"]
        if not times or min(times) <= 0:
            raise benchlib.RunnerError(f"{precision} matmul timings are empty or non-positive: {times!r}")
        rates[precision] = ops * len(times) / sum(times) / 1e9
        kernel = measured["kernel"] or {}
        meta = {**base, "precision": precision, "dtype": DTYPES[precision], "kernel": kernel.get("kernel"),
                "dispatched_isa": kernel.get("isa"), "src_type": kernel.get("src_type"),
                **measures.spread([ops / t / 1e9 for t in times])}
        samples.append(benchlib.Sample(f"rate_{precision}", rates[precision], UNITS[precision], meta))
        samples += measures.pct_of_peak_samples(rates[precision], params, precision, plan, meta, f"_{precision}")
    for precision, reason in state["skipped"].items():
        samples += [benchlib.Unavailable(f"{name}_{precision}", reason)
                    for name in ("rate", "pct_of_peak", "pct_of_used_cores_peak")]
    for precision in (p for p in PRECISIONS if p != "fp32"):
        if precision in rates:
            samples.append(benchlib.Sample(f"{precision}_fp32_speedup", rates[precision] / rates["fp32"], "x",
                                           {**base, "reference": "fp32 on the same node, same n"}))
        else:
            reason = state["skipped"].get(precision, f"{precision} not in this job's precisions")
            samples.append(benchlib.Unavailable(f"{precision}_fp32_speedup", reason))
    return samples


def Cleanup(state) -> None:
    """Nothing to remove: the layers live in the instance process."""


if __name__ == "__main__":
    sys.exit(benchlib.main(sys.modules[__name__]))
