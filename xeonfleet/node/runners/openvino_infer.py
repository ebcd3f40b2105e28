"""OpenVINO CPU inference on a small conv net built in code (no model download), measured the way
benchmark_app does: throughput with an async request queue under the THROUGHPUT hint, latency with
synchronous requests under the LATENCY hint."""

from __future__ import annotations

import statistics
import sys
import time

import benchlib

BENCHMARK_NAME = "openvino-infer"
REQUIRES = ("numpy", "openvino")


def build_model(batch: int, size: int, channels: int):
    """conv3x3 -> relu -> conv3x3 -> relu -> global average pool -> matmul: a tiny image classifier."""
    import numpy as np
    import openvino as ov
    import openvino.opset13 as ops

    rng = np.random.default_rng(0)
    image = ops.parameter([batch, 3, size, size], ov.Type.f32, name="image")
    x = image
    for cin in (3, channels):
        weights = ops.constant(rng.normal(scale=0.1, size=(channels, cin, 3, 3)).astype(np.float32))
        x = ops.relu(ops.convolution(x, weights, [1, 1], [1, 1], [1, 1], [1, 1]))
    pooled = ops.reduce_mean(x, ops.constant(np.array([2, 3], dtype=np.int64)), False)
    logits = ops.matmul(pooled, ops.constant(rng.normal(size=(channels, 1000)).astype(np.float32)), False, False)
    return ov.Model([logits], [image], "xeonfleet-convnet")


def _openvino_instance(barrier, params: dict, threads: int) -> dict:
    import numpy as np
    import openvino as ov

    batch, size, channels = int(params["batch"]), int(params["image_size"]), int(params["channels"])
    core = ov.Core()
    model = build_model(batch, size, channels)
    data = np.random.default_rng(1).random((batch, 3, size, size), dtype=np.float32)
    config = {"INFERENCE_NUM_THREADS": threads}
    tput = core.compile_model(model, "CPU", {**config, "PERFORMANCE_HINT": "THROUGHPUT"})
    lat = core.compile_model(model, "CPU", {**config, "PERFORMANCE_HINT": "LATENCY"})
    seconds = float(params["seconds"])
    barrier.wait()
    queue = ov.AsyncInferQueue(tput)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(len(queue)):
            queue.start_async({0: data})
        queue.wait_all()
        done += len(queue)
    elapsed = time.perf_counter() - start
    request = lat.create_infer_request()
    latencies = benchlib.timed_repeats(lambda: request.infer({0: data}), 3, int(params["latency_repeats"]))
    return {"requests": done, "seconds": elapsed, "latencies": latencies,
            "streams": int(tput.get_property("NUM_STREAMS"))}


def Prepare(params: dict) -> benchlib.CpuPlan:
    return benchlib.node_plan(params.get("pinning", "single"))


def Run(params: dict, plan: benchlib.CpuPlan) -> list[benchlib.Sample]:
    threads = [len(c) for c in plan.cpusets]
    results = benchlib.run_instances(_openvino_instance, (params, threads[0]), plan.cpusets, threads)
    return _ParseInferResults(results, params, plan)


def _ParseInferResults(results: list[dict], params: dict, plan: benchlib.CpuPlan) -> list[benchlib.Sample]:
    """Request counts and latencies of every instance -> images/s and median latency."""
    if not results or any(r["requests"] <= 0 or not r["latencies"] for r in results):
        raise benchlib.RunnerError(f"OpenVINO: no completed inferences in {results!r}; raise `seconds`")
    batch = int(params["batch"])
    meta = {key: params[key] for key in ("batch", "image_size", "channels", "seconds", "latency_repeats")}
    meta.update(plan.metadata, streams=results[0]["streams"], device="CPU")
    fps = sum(r["requests"] * batch / r["seconds"] for r in results)
    latency_ms = statistics.median(t for r in results for t in r["latencies"]) * 1000.0
    return [benchlib.Sample("throughput", fps, "images/s", meta),
            benchlib.Sample("latency_median", latency_ms, "ms", meta)]


def Cleanup(plan) -> None:
    """Nothing to remove: the model is built in memory."""


if __name__ == "__main__":
    sys.exit(benchlib.main(sys.modules[__name__]))
