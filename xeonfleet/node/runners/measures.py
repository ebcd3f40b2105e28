"""What the shipped runners derive from their timings: run-to-run spread, gain, % of peak, the oneDNN kernel
or the MKL functions that ran.

Shared by the shipped runners; a site runner may use it too (it is uploaded with them). Standard library at
import time: torch is imported only inside verbose_lines (and onednn_kernel), which only the torch runners call.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
from typing import Any, Callable

import benchlib
from siblings import sibling  # benchlib has put the node wing on sys.path

onednn_verbose = sibling("onednn_verbose")


def spread(values: list[float]) -> dict[str, Any]:
    """Run-to-run spread of one job's repeats, robust (MAD x 1.4826, in % of the median): the
    regression test widens its threshold by it, so a job that is noisy on a node is not paged on."""
    if not values:
        return {"repeats": 0, "spread_pct": None}
    mid = statistics.median(values)
    mad = statistics.median(abs(v - mid) for v in values)
    return {"repeats": len(values), "spread_pct": 100.0 * 1.4826 * mad / abs(mid) if mid else None}


def gain_pct(new: float, old: float) -> float:
    """How much higher `new` is than `old`, in percent (the seed's claims are stated this way)."""
    if old <= 0:
        raise benchlib.RunnerError(f"cannot compute a gain against a non-positive reference ({old})")
    return (new / old - 1.0) * 100.0


def pct_of_peak_samples(value: float, params: dict[str, Any], precision: str, plan: benchlib.CpuPlan,
                        meta: dict[str, Any], suffix: str = "") -> list[benchlib.Sample | benchlib.Unavailable]:
    """`value` (G-ops/s) as % of the node's peak for `precision` (params["peaks"], from the facts on
    the controller) and as % of the peak of the cores this process really ran on: a lab host claims
    80 cores but runs on the VM's 2, so only the second is meaningful there."""
    peak = (params.get("peaks") or {}).get(precision) or {}
    names = (f"pct_of_peak{suffix}", f"pct_of_used_cores_peak{suffix}")
    if not peak.get("gops"):
        reason = peak.get("formula") or "no peak passed by the controller (run through deploys/benchmark.py)"
        return [benchlib.Unavailable(name, reason) for name in names]
    used_cores = plan.metadata["usable_physical_cores"]
    used_peak = peak["per_core_gops"] * used_cores
    peak_meta = {**meta, "peak_isa": peak["isa"], "peak_gops": peak["gops"], "peak_formula": peak["formula"],
                 "used_cores_peak_gops": used_peak, "used_cores": used_cores}
    return [benchlib.Sample(names[0], 100.0 * value / peak["gops"], "%", peak_meta),
            benchlib.Sample(names[1], 100.0 * value / used_peak, "%", peak_meta)]


def verbose_lines(call: Callable[[], Any]) -> list[str]:
    """The verbose lines oneDNN and MKL print while `call` runs once (torch's switches for both; MKL's only
    where torch was built with it). They printf() to fd 1, past Python's sys.stdout, so fd 1 is caught."""
    import ctypes
    from contextlib import ExitStack

    import torch

    with tempfile.TemporaryFile("w+") as sink, ExitStack() as verbose:
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(sink.fileno(), 1)
        try:
            verbose.enter_context(torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON))
            if torch.backends.mkl.is_available():
                verbose.enter_context(torch.backends.mkl.verbose(torch.backends.mkl.VERBOSE_ON))
            call()
            verbose.close()
            ctypes.CDLL(None).fflush(None)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        sink.seek(0)
        return sink.read().splitlines()


def onednn_kernel(call: Callable[[], Any]) -> dict[str, Any] | None:
    """The compute kernel oneDNN ran for one call ({"isa", "kernel", "src_type"}, None when none ran
    through oneDNN), parsed by the frameworks' own parser (onednn_verbose.py, uploaded with the runners)."""
    return onednn_verbose.compute_kernel(verbose_lines(call))


# MKL's verbose mode: a version line at the first verbose call of a process ("MKL_VERBOSE oneMKL 2024.0 ...
# for Intel(R) 64 architecture <the code path MKL chose for this CPU>, Lnx 2.45GHz lp64 gnu_thread"), then one
# line per call ("MKL_VERBOSE SGEMM(N,N,256,...) 24.45ms CNR:OFF ..."). Intel documents the version line's
# fields and warns that its format may change: the code path is kept in MKL's words, never mapped to an ISA.
_MKL_CPU_PATH = re.compile(r"^MKL_VERBOSE .* for Intel\(R\) 64 architecture (?P<path>.+), (?:Lnx|Win|OSX) ")
_MKL_CALL = re.compile(r"^MKL_VERBOSE (?P<function>[A-Z][A-Z0-9_]*)\(")


def mkl_cpu_path(lines: list[str]) -> str | None:
    """The code path MKL says it chose for this CPU, in its own words ("Intel(R) Architecture processors" is
    its generic path, the one it takes on AMD), from its version line; None when no such line."""
    return next((m.group("path") for m in map(_MKL_CPU_PATH.match, lines) if m), None)


def library_kernel(lines: list[str]) -> dict[str, Any]:
    """What one call ran, from its verbose lines: the best oneDNN compute kernel (with its ISA), else the MKL
    functions (MKL names no ISA per call), else library None: neither reported a call (torch's own kernel)."""
    kernel = onednn_verbose.compute_kernel(lines)
    if kernel:
        return {"library": "oneDNN", **kernel}
    functions = list(dict.fromkeys(m.group("function") for m in map(_MKL_CALL.match, lines) if m))
    return {"library": "MKL" if functions else None, "kernel": "+".join(functions) or None, "isa": None,
            "src_type": None}
