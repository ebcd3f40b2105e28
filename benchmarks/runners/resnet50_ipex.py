"""ResNet-50 inference with PyTorch + Intel Extension for PyTorch: FP32, BF16 (only where the ISA has
AVX-512 BF16 or AMX) and INT8 (IPEX static quantisation, calibrated on random images).

Weights are random (the network is built here, so nothing is downloaded): throughput and latency do
not depend on the weight values. Reports images/s at `batch` and median latency at batch 1."""

from __future__ import annotations

import statistics
import sys
import time

import benchlib

BENCHMARK_NAME = "resnet50_ipex"
REQUIRES = ("torch", "intel_extension_for_pytorch")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def build_resnet50():
    """torchvision's ResNet-50 v1.5 layout (bottlenecks 3-4-6-3, stride on the 3x3), random weights."""
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
    """The model IPEX-optimised and TorchScript-traced for one precision, plus its input."""
    import intel_extension_for_pytorch as ipex
    import torch

    model = build_resnet50().to(memory_format=torch.channels_last)
    x = torch.rand(batch, 3, size, size).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        if precision == "int8":
            from intel_extension_for_pytorch.quantization import convert, prepare

            prepared = prepare(model, ipex.quantization.default_static_qconfig_mapping, example_inputs=x, inplace=False)
            for _ in range(4):  # calibration on random images: enough to fix the scales
                prepared(x)
            traced = torch.jit.freeze(torch.jit.trace(convert(prepared), x))
        elif precision == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                traced = torch.jit.freeze(torch.jit.trace(ipex.optimize(model, dtype=torch.bfloat16), x))
        else:
            traced = torch.jit.freeze(torch.jit.trace(ipex.optimize(model, dtype=torch.float32), x))
    return traced, x


def _resnet_instance(barrier, precision: str, params: dict) -> dict:
    import torch

    size, batch = int(params["image_size"]), int(params["batch"])
    model, x = _optimised(precision, batch, size)
    single_model, one = _optimised(precision, 1, size)
    barrier.wait()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        for _ in range(int(params["warmup"])):
            model(x)
            single_model(one)
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < float(params["seconds"]):
            model(x)
            done += batch
        elapsed = time.perf_counter() - start
        latencies = benchlib.timed_repeats(lambda: single_model(one), 0, int(params["latency_repeats"]))
    return {"images": done, "seconds": elapsed, "latencies": latencies}


def _node_flags() -> set[str]:
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def Prepare(params: dict) -> dict:
    flags = _node_flags()
    wanted = params.get("precisions", ["fp32", "bf16", "int8"])
    skipped = {}
    if "bf16" in wanted and not flags.intersection(BF16_FLAGS):
        skipped["bf16"] = f"no {' or '.join(BF16_FLAGS)} in /proc/cpuinfo flags"
    return {"plan": benchlib.node_plan(params.get("pinning", "single")),
            "precisions": [p for p in wanted if p not in skipped], "skipped": skipped}


def Run(params: dict, state: dict) -> list[benchlib.Sample]:
    plan = state["plan"]
    threads = [len(c) for c in plan.cpusets]
    results = {p: benchlib.run_instances(_resnet_instance, (p, params), plan.cpusets, threads)
               for p in state["precisions"]}
    return _ParseResNetResults(results, state["skipped"], params, plan)


def _ParseResNetResults(results: dict[str, list[dict]], skipped: dict[str, str], params: dict,
                        plan: benchlib.CpuPlan) -> list[benchlib.Sample]:
    """Per precision: images/s over all instances and median batch-1 latency."""
    meta = {key: params[key] for key in ("batch", "image_size", "seconds", "warmup", "latency_repeats")}
    meta.update(plan.metadata, weights="random", skipped_precisions=skipped)
    samples = []
    for precision, runs in results.items():
        if not runs or any(r["images"] <= 0 or not r["latencies"] for r in runs):
            raise benchlib.RunnerError(f"ResNet-50 {precision}: no completed batches; raise `seconds`")
        pmeta = {**meta, "precision": precision}
        samples.append(benchlib.Sample(f"throughput_{precision}", sum(r["images"] / r["seconds"] for r in runs),
                                       "images/s", pmeta))
        samples.append(benchlib.Sample(f"latency_{precision}",
                                       statistics.median(t for r in runs for t in r["latencies"]) * 1000.0,
                                       "ms", pmeta))
    return samples


def Cleanup(state) -> None:
    """Nothing to remove: models live in the instance processes."""


if __name__ == "__main__":
    sys.exit(benchlib.main(sys.modules[__name__]))
