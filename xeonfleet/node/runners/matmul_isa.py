"""INT8, BF16 and FP16 next to FP32 on one matrix multiply (PyTorch), each precision by the best kernel the
stack offers, against each precision's ISA peak, with the kernel that really ran.

The guide: INT8 with AVX-512 VNNI, BF16 and AMX on newer Xeons. Each precision is measured on two paths:
- `layer`: the prepacked layer (y = x W^T) through oneDNN, the library every maintained stack uses on Xeon:
  FP32, BF16 and FP16 as torch's mkldnn Linear, INT8 as a quantized Linear on torch's `onednn` engine (u8
  activations, s8 weights);
- `gemm`: the raw GEMM on plain contiguous operands of that dtype, as a user's torch.mm runs it (FP32 goes to
  MKL's SGEMM, BF16/FP16 to oneDNN's matmul), and for INT8 torch._int_mm (s8 x s8 -> s32).
The headline `rate_<precision>` is the better of the two (`best_path` in its metadata), both are kept as
`rate_<precision>_layer` / `_gemm`: on an Emerald Rapids guest the layer path alone under-measured FP32 by
~21 % and AMX BF16 by ~32 % against a plain torch.matmul. Rates are the best of the repeats after the
warm-up, as a plain timing of torch.matmul reports them (the mean rate and the spread are in the metadata).
N is large enough (>= 1024) for oneDNN's AMX / VNNI brgemm kernels. One probe call per path runs under oneDNN
and MKL verbose, so the samples name the library, the kernel and, for oneDNN, its ISA (normalised by
isa_names.py): a BF16 rate at 5 % of the AMX peak with `dispatched_isa: avx512_core_bf16` says AMX was not
used. MKL names no ISA per call, only the code path it chose for the CPU (`mkl_cpu_path`, in its words).

Peaks come from the controller's facts (xeonfleet/bench/peak.py, one table); the %-of-peak samples use
the cores this process really ran on. BF16 runs only where the CPU has avx512_bf16 or amx_bf16, FP16
only where it has amx_fp16 (Granite Rapids) or avx512_fp16 (Sapphire Rapids on): elsewhere they are
emulated and say nothing about the node, so they are skipped with that reason. The speed-ups are over
FP32 on the same node, same N."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

import benchlib
import measures

BENCHMARK_NAME = "matmul-isa"
REQUIRES = ("torch",)
PRECISIONS = ("fp32", "bf16", "int8", "fp16")
PATHS = ("layer", "gemm")
# The /proc/cpuinfo flags that give a precision native math; precisions not named here always have it.
NATIVE_FLAGS = {"bf16": ("avx512_bf16", "amx_bf16"), "fp16": ("amx_fp16", "avx512_fp16")}
UNITS = {"fp32": "GFLOP/s", "bf16": "GFLOP/s", "int8": "GOP/s", "fp16": "GFLOP/s"}
# torch dtype names of the floating-point precisions.
DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
# A path the stack does not offer raises one of these when built or first called; the other path still runs.
NOT_OFFERED = (RuntimeError, NotImplementedError, AttributeError)
DEFAULT_PATH_BUDGET_S = 120.0


def _layer(precision: str, n: int) -> tuple[Callable[[], Any], str, str]:
    """(call, what it is, operand dtypes) of the prepacked layer, built in the instance process (torch loads
    there)."""
    import torch
    from torch.utils import mkldnn

    torch.manual_seed(0)
    if precision == "int8":
        torch.backends.quantized.engine = "onednn"
        layer = torch.ao.nn.quantized.Linear(n, n)
        layer.set_weight_bias(torch.quantize_per_tensor(torch.randn(n, n), 0.05, 0, torch.qint8), None)
        layer.scale, layer.zero_point = 0.5, 0
        x = torch.quantize_per_tensor(torch.rand(n, n), 0.01, 0, torch.quint8)
        return (lambda: layer(x)), "quantized Linear, onednn engine", "quint8 x qint8"
    dtype = getattr(torch, DTYPES[precision])
    layer = mkldnn.to_mkldnn(torch.nn.Linear(n, n, bias=False), dtype)
    x = torch.randn(n, n).to(dtype).to_mkldnn()
    return (lambda: layer(x)), "mkldnn Linear, prepacked weight", DTYPES[precision]


def _gemm(precision: str, n: int) -> tuple[Callable[[], Any], str, str]:
    """(call, what it is, operand dtypes) of the raw GEMM on plain contiguous operands of the precision's dtype."""
    import torch

    torch.manual_seed(0)
    if precision == "int8":
        a, b = (torch.randint(-128, 128, (n, n), dtype=torch.int8) for _ in range(2))
        return (lambda: torch._int_mm(a, b)), "torch._int_mm, contiguous", "int8 x int8 -> int32"
    dtype = getattr(torch, DTYPES[precision])
    a, b = (torch.randn(n, n).to(dtype).contiguous() for _ in range(2))
    return (lambda: torch.mm(a, b)), "torch.mm, contiguous", DTYPES[precision]


BUILDERS = {"layer": _layer, "gemm": _gemm}


def _measure_path(barrier, path: str, precision: str, n: int, warmup: int, repeats: int, budget_s: float) -> dict:
    """One path of one precision: its timings and what ran, or why it has none: the stack does not offer it,
    or its kernel is so slow here that timing it would take longer than `budget_s` (torch._int_mm without
    VNNI runs at ~1 GOP/s: minutes per call at n 4096). The time is foreseen from a warm call at n/4 (1/64
    of the work), so a hopeless path costs seconds, not the budget."""
    calls, small = warmup + repeats + 1, max(n // 4, 16)
    try:
        probe, op, dtype = BUILDERS[path](precision, small)
        probe()
        start = time.perf_counter()
        probe()
        foreseen_s = (time.perf_counter() - start) * (n / small) ** 3 * calls
        if foreseen_s > budget_s:
            return {"error": f"too slow to time: one call of {op} at n {small} foretells about {foreseen_s:.0f} s "
                             f"for {calls} calls at n {n}, over the path budget of {budget_s:g} s "
                             "(parameters.path_budget_s)"}
        call = BUILDERS[path](precision, n)[0]
        lines = measures.verbose_lines(call)
    except NOT_OFFERED as exc:
        return {"error": f"not offered by this stack: {type(exc).__name__}: {exc}".splitlines()[0]}
    barrier.wait()
    return {"op": op, "dtype": dtype, "times": benchlib.timed_repeats(call, warmup, repeats),
            "mkl_cpu_path": measures.mkl_cpu_path(lines), **measures.library_kernel(lines)}


def _matmul_instance(barrier, precisions: list[str], n: int, warmup: int, repeats: int, budget_s: float) -> dict:
    import torch

    with torch.no_grad():
        return {precision: {path: _measure_path(barrier, path, precision, n, warmup, repeats, budget_s)
                            for path in PATHS} for precision in precisions}


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
    args = (state["precisions"], n, int(params.get("warmup", 1)), int(params.get("repeats", 5)),
            float(params.get("path_budget_s", DEFAULT_PATH_BUDGET_S)))
    result = benchlib.run_instances(_matmul_instance, args, plan.cpusets, [len(plan.cpusets[0])])[0]
    return _ParseMatmulResults(result, n, params, state)


def _ParseMatmulResults(result: dict, n: int, params: dict, state: dict) -> list:
    """Per precision: each path's rate, the better one as the headline with its % of the ISA peak, then each
    precision's speed-up over FP32."""
    plan = state["plan"]
    base = {"n": n, "warmup": params.get("warmup", 1), "repeats": params.get("repeats", 5),
            "statistic": "best of repeats", "threads": len(plan.cpusets[0]), "skipped_precisions": state["skipped"],
            **plan.metadata}
    mkl_path = next((m.get("mkl_cpu_path") for paths in result.values() for m in paths.values()
                     if m.get("mkl_cpu_path")), None)
    samples: list = []
    rates = {}
    for precision, paths in result.items():
        measured = {}
        for path, outcome in paths.items():
            if "error" in outcome:
                samples.append(benchlib.Unavailable(f"rate_{precision}_{path}", f"{path} path {outcome['error']}"))
                continue
            rate, meta = _path_rate(precision, path, outcome, n)
            measured[path] = rate, {**base, "mkl_cpu_path": mkl_path, **meta}
            samples.append(benchlib.Sample(f"rate_{precision}_{path}", rate, UNITS[precision], measured[path][1]))
        if not measured:
            raise benchlib.RunnerError(f"{precision}: neither path ran: " + "; ".join(
                f"{path}: {outcome['error']}" for path, outcome in paths.items()))
        best = max(measured, key=lambda path: measured[path][0])
        rates[precision] = measured[best][0]
        meta = {**measured[best][1], "best_path": best,
                "path_rates": {path: rate for path, (rate, _) in measured.items()},
                "path_errors": {path: o["error"] for path, o in paths.items() if "error" in o}}
        samples.append(benchlib.Sample(f"rate_{precision}", rates[precision], UNITS[precision], meta))
        samples += measures.pct_of_peak_samples(rates[precision], params, precision, plan, meta, f"_{precision}")
    for precision, reason in state["skipped"].items():
        samples += [benchlib.Unavailable(f"{name}_{precision}", reason)
                    for name in ("rate", "pct_of_peak", "pct_of_used_cores_peak")]
        samples += [benchlib.Unavailable(f"rate_{precision}_{path}", reason) for path in PATHS]
    for precision in (p for p in PRECISIONS if p != "fp32"):
        if precision in rates:
            samples.append(benchlib.Sample(f"{precision}_fp32_speedup", rates[precision] / rates["fp32"], "x",
                                           {**base, "reference": "fp32 on the same node, same n, best paths"}))
        else:
            reason = state["skipped"].get(precision, f"{precision} not in this job's precisions")
            samples.append(benchlib.Unavailable(f"{precision}_fp32_speedup", reason))
    return samples


def _path_rate(precision: str, path: str, outcome: dict, n: int) -> tuple[float, dict]:
    """One path's rate (the best of its repeats) and the metadata that says what ran."""
    times, ops = outcome["times"], 2.0 * n**3
    if not times or min(times) <= 0:
        raise benchlib.RunnerError(f"{precision} {path} timings are empty or non-positive: {times!r}")
    per_repeat = [ops / t / 1e9 for t in times]
    return max(per_repeat), {
        "precision": precision, "path": path, "op": outcome["op"], "dtype": outcome["dtype"],
        "mean_rate": ops * len(times) / sum(times) / 1e9, "library": outcome["library"], "kernel": outcome["kernel"],
        "dispatched_isa": outcome["isa"], "src_type": outcome["src_type"], **measures.spread(per_repeat)}


def Cleanup(state) -> None:
    """Nothing to remove: the layers live in the instance process."""


if __name__ == "__main__":
    sys.exit(benchlib.main(sys.modules[__name__]))
