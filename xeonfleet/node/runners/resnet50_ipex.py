"""ResNet-50 inference with PyTorch (+ Intel Extension for PyTorch when installed): FP32 always,
BF16 only where the ISA has AVX-512 BF16 or AMX, INT8 by IPEX static quantisation when IPEX is
installed (torch <= 2.8), else by Intel Neural Compressor's PT2E flow (the inc stack's `pt` variant:
export, calibrate, convert, then torch.compile, whose inductor needs a C++ compiler and Python.h on
the node, lowers it to oneDNN INT8 kernels). A precision that cannot run is listed in the samples'
`skipped_precisions` with the reason; the job is skipped only without torch. BF16 and INT8 also give
their speed-up over FP32 on the same node, and every precision names the oneDNN kernel (and ISA) its
batch-1 inference dispatched.

Weights are random and the network is built here (torchvision's resnet50 when torchvision is
installed, else the same layout by hand), so nothing is downloaded: throughput and latency do not
depend on the weight values. Without IPEX the model is plain torch, TorchScript-traced and frozen
(oneDNN still runs the convolutions); `optimizer` in the metadata says which. Reports images/s at
`batch` and median latency at batch 1."""

from __future__ import annotations

import importlib.util
import os
import shutil
import statistics
import sys
import sysconfig
import time

import benchlib
import measures

BENCHMARK_NAME = "resnet50-ipex"
REQUIRES = ("torch",)
OPTIONAL = ("intel_extension_for_pytorch", "neural_compressor", "torchao", "torchvision")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
PRECISIONS = ("fp32", "bf16", "int8")
JIT_WARMUP = 3  # TorchScript's profiling executor re-optimises the graph during its first calls
CALIBRATION_BATCHES = 4
PYTHON_H = os.path.join(sysconfig.get_paths()["include"], "Python.h")  # inductor compiles against it


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def int8_quantizer() -> tuple[str | None, str]:
    """("ipex" | "inc-pt2e", "") for the INT8 path this env has, else (None, why there is none)."""
    if _installed("intel_extension_for_pytorch"):
        return "ipex", ""
    if not (_installed("neural_compressor") and _installed("torchao")):
        return None, (f"neither intel_extension_for_pytorch nor neural-compressor-pt importable by {sys.executable}: "
                      "install the pytorch stack with IPEX (torch 2.8) or add inc {variant: pt} to the env")
    if not (shutil.which("c++") or shutil.which("g++")):
        return None, "INC's INT8 model runs through torch.compile, whose inductor needs a C++ compiler: install g++"
    if not os.path.exists(PYTHON_H):
        return None, f"INC's INT8 model runs through torch.compile, whose inductor needs {PYTHON_H}: install python3-dev"
    return "inc-pt2e", ""


def build_resnet50():
    """ResNet-50 v1.5 with random weights: torchvision's when installed, else its layout by hand
    (bottlenecks 3-4-6-3, stride on the 3x3)."""
    if _installed("torchvision"):
        from torchvision.models import resnet50

        return resnet50(weights=None).eval()
    from torch import nn

    class Bottleneck(nn.Module):
        def __init__(self, cin: int, width: int, stride: int) -> None:
            super().__init__()
            cout = width * 4
            self.body = nn.Sequential(
                nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout))
            self.skip = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else nn.Identity())
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x):
            return self.relu(self.body(x) + self.skip(x))

    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for index in range(blocks):
            layers.append(Bottleneck(cin, width, stride if index == 0 else 1))
            cin = width * 4
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000)]
    return nn.Sequential(*layers).eval()


def _optimised(precision: str, batch: int, size: int):
    """The model for one precision, plus its input: FP32/BF16 IPEX-optimised when IPEX is installed,
    TorchScript-traced and frozen; INT8 as _int8_model makes it."""
    import torch

    # No grad on the weights: the BF16 autocast casts become constants of the frozen graph, and
    # TorchScript refuses a constant that requires grad.
    model = build_resnet50().requires_grad_(False).to(memory_format=torch.channels_last)
    x = torch.rand(batch, 3, size, size).contiguous(memory_format=torch.channels_last)
    ipex = None
    if _installed("intel_extension_for_pytorch"):
        import intel_extension_for_pytorch as ipex
    with torch.no_grad():
        if precision == "int8":  # Prepare lets int8 through only with a quantizer
            return _int8_model(model, x), x
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        if ipex is not None:
            model = ipex.optimize(model, dtype=dtype)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            traced = torch.jit.freeze(torch.jit.trace(model, x))
    return traced, x


def _int8_model(model, x):
    """Static INT8 through IPEX (traced, frozen) or INC's PT2E flow (compiled on its first call, inside
    the warm-up), calibrated on random images: enough to fix the scales, since the weights are random too."""
    import torch

    if int8_quantizer()[0] == "ipex":
        import intel_extension_for_pytorch as ipex
        from intel_extension_for_pytorch.quantization import convert, prepare

        prepared = prepare(model, ipex.quantization.default_static_qconfig_mapping, example_inputs=x, inplace=False)
        finish = lambda quantized: torch.jit.freeze(torch.jit.trace(quantized, x))  # noqa: E731
    else:
        from neural_compressor.torch.export import export
        from neural_compressor.torch.quantization import convert, get_default_static_config, prepare

        # Inductor lowers the quantized graph to oneDNN INT8 kernels only with freezing (weights
        # prepacked); without it the compiled model dequantises and runs FP32 kernels.
        import torch._inductor.config as inductor_config

        inductor_config.freezing = True
        prepared = prepare(export(model, example_inputs=(x,)), get_default_static_config())
        finish = torch.compile
    for _ in range(CALIBRATION_BATCHES):
        prepared(x)
    return finish(convert(prepared))


def _resnet_instance(barrier, precision: str, params: dict) -> dict:
    import torch

    size, batch = int(params["image_size"]), int(params["batch"])
    model, x = _optimised(precision, batch, size)
    single_model, one = _optimised(precision, 1, size)
    barrier.wait()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        for _ in range(max(int(params["warmup"]), JIT_WARMUP)):
            model(x)
            single_model(one)
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < float(params["seconds"]):
            model(x)
            done += batch
        elapsed = time.perf_counter() - start
        latencies = benchlib.timed_repeats(lambda: single_model(one), 0, int(params["latency_repeats"]))
        kernel = measures.onednn_kernel(lambda: single_model(one))  # after warm-up: the kernels that stay
    return {"images": done, "seconds": elapsed, "latencies": latencies, "kernel": kernel}


def _node_flags() -> set[str]:
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def Prepare(params: dict) -> dict:
    wanted = params.get("precisions", list(PRECISIONS))
    unknown = [p for p in wanted if p not in PRECISIONS]
    if unknown:
        raise benchlib.RunnerError(f"precisions {unknown} unknown; use some of {list(PRECISIONS)}")
    skipped = {}
    if "bf16" in wanted and not _node_flags().intersection(BF16_FLAGS):
        skipped["bf16"] = f"no {' or '.join(BF16_FLAGS)} in /proc/cpuinfo flags"
    quantizer, why_not = int8_quantizer()
    if "int8" in wanted and quantizer is None:
        skipped["int8"] = why_not
    precisions = [p for p in wanted if p not in skipped]
    if not precisions:
        raise benchlib.SkipBenchmark("; ".join(f"{p}: {why}" for p, why in skipped.items()))
    return {"plan": benchlib.node_plan(params.get("pinning", "single")), "precisions": precisions,
            "skipped": skipped}


def Run(params: dict, state: dict) -> list[benchlib.Sample]:
    plan = state["plan"]
    threads = [len(c) for c in plan.cpusets]
    results = {p: benchlib.run_instances(_resnet_instance, (p, params), plan.cpusets, threads)
               for p in state["precisions"]}
    return _ParseResNetResults(results, state["skipped"], params, plan)


def _ParseResNetResults(results: dict[str, list[dict]], skipped: dict[str, str], params: dict,
                        plan: benchlib.CpuPlan) -> list[benchlib.Sample]:
    """Per precision: images/s over all instances and median batch-1 latency."""
    meta = {key: params[key] for key in ("batch", "image_size", "seconds", "latency_repeats")}
    meta["warmup"] = max(int(params["warmup"]), JIT_WARMUP)
    meta.update(plan.metadata, weights="random", skipped_precisions=skipped,
                optimizer="ipex" if _installed("intel_extension_for_pytorch") else "torch.jit",
                int8_quantizer=int8_quantizer()[0],
                model_source="torchvision" if _installed("torchvision") else "built-in")
    samples: list = []
    throughput: dict[str, float] = {}
    for precision, runs in results.items():
        if not runs or any(r["images"] <= 0 or not r["latencies"] for r in runs):
            raise benchlib.RunnerError(f"ResNet-50 {precision}: no completed batches; raise `seconds`")
        kernel = runs[0].get("kernel") or {}
        pmeta = {**meta, "precision": precision, "kernel": kernel.get("kernel"), "dispatched_isa": kernel.get("isa"),
                 "src_type": kernel.get("src_type")}
        throughput[precision] = sum(r["images"] / r["seconds"] for r in runs)
        samples.append(benchlib.Sample(f"throughput_{precision}", throughput[precision], "images/s", pmeta))
        samples.append(benchlib.Sample(f"latency_{precision}",
                                       statistics.median(t for r in runs for t in r["latencies"]) * 1000.0,
                                       "ms", pmeta))
    for precision, reason in skipped.items():
        samples += [benchlib.Unavailable(f"{name}_{precision}", reason) for name in ("throughput", "latency")]
    for precision in ("bf16", "int8"):
        if precision in throughput and "fp32" in throughput:
            samples.append(benchlib.Sample(f"speedup_{precision}", throughput[precision] / throughput["fp32"], "x",
                                           {**meta, "reference": "throughput_fp32 on the same node, same batch"}))
        elif precision in skipped or "fp32" not in throughput:
            samples.append(benchlib.Unavailable(f"speedup_{precision}", skipped.get(precision) or
                                                "fp32 was not measured in this job"))
    return samples


def Cleanup(state) -> None:
    """Nothing to remove: models live in the instance processes."""


if __name__ == "__main__":
    sys.exit(benchlib.main(sys.modules[__name__]))
