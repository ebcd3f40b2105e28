"""What the CPU did while a job ran, stored as samples beside the job's metrics (standard library only).

Where the node allows it, `perf stat` (Debian's linux-perf) counts cycles and instructions of the runner
and every process it starts (the runner re-executes itself under `perf stat --`, so children inherit
the counters): IPC and the achieved core clock (cycles / task-clock). Where counters are not supported
(a KVM guest without a vPMU prints `<not supported>`), or perf is missing, what the OS gives instead,
labelled with its source: the busy share of the job's CPUs from /proc/stat and their cpuinfo MHz
(on a VM that is the host's nominal clock, not a measurement). A reading a node cannot give is an
`unavailable` entry with the reason, never a made-up value."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

EVENTS = ("task-clock", "cycles", "instructions")
UNDER_PERF_VAR = "XEONFLEET_UNDER_PERF"  # set in the re-executed runner: perf is already counting
OFF_VAR = "XEONFLEET_COUNTERS"  # "off": no perf wrapper (the tests of the harness itself use it)
PREFIX = "counters."


def perf_wanted() -> str | None:
    """The perf binary to wrap the runner with, or None (missing, switched off, or already inside)."""
    if os.environ.get(UNDER_PERF_VAR) or os.environ.get(OFF_VAR) == "off":
        return None
    return shutil.which("perf")


def parse_perf_csv(text: str) -> dict[str, float | str]:
    """`perf stat -x,` output -> {event: value, or the reason it has none (e.g. '<not supported>')}."""
    readings: dict[str, float | str] = {}
    for line in text.splitlines():
        fields = line.split(",")
        if line.startswith("#") or len(fields) < 3 or fields[2] not in EVENTS:
            continue
        try:
            readings[fields[2]] = float(fields[0])
        except ValueError:
            readings[fields[2]] = fields[0] or "no value"
    return readings


def perf_readings(readings: dict[str, float | str]) -> list[dict[str, Any]]:
    """IPC and achieved GHz from perf's counts; entries with `reason` where a counter was missing."""
    meta = {"source": "perf stat -e " + ",".join(EVENTS), "scope": "the runner and its children"}
    cycles, instructions, task_ms = (readings.get(e) for e in ("cycles", "instructions", "task-clock"))
    out: list[dict[str, Any]] = []
    if isinstance(cycles, float) and isinstance(instructions, float) and cycles > 0:
        out.append({"metric": PREFIX + "ipc", "value": instructions / cycles, "unit": "instructions/cycle",
                    "metadata": meta})
    else:
        out.append({"metric": PREFIX + "ipc", "reason": f"perf counters not supported on this node "
                    f"(cycles: {cycles}, instructions: {instructions}); see counters.cpu_mhz and counters.busy_pct"})
    if isinstance(cycles, float) and isinstance(task_ms, float) and task_ms > 0:
        out.append({"metric": PREFIX + "core_ghz", "value": cycles / (task_ms * 1e6), "unit": "GHz",
                    "metadata": {**meta, "formula": "cycles / task-clock"}})
    else:
        out.append({"metric": PREFIX + "core_ghz", "reason": f"no cycle count from perf (cycles: {cycles})"})
    return out


def run_under_perf(perf: str, argv: list[str], out: Path) -> str | None:
    """Run this runner again under `perf stat`, which writes its counts next to `out`; the perf text,
    or None when perf itself failed (then the caller runs the job without it)."""
    counts = out.with_name(out.name + ".perf")
    command = [perf, "stat", "-x,", "-e", ",".join(EVENTS), "-o", str(counts), "--", *argv]
    done = subprocess.run(command, env={**os.environ, UNDER_PERF_VAR: "1"}, check=False)
    try:
        text = counts.read_text()
        counts.unlink()
    except OSError:
        return None
    return text if done.returncode == 0 and out.exists() else None


def proc_stat_busy(text: str, cpus: list[int]) -> tuple[int, int]:
    """(busy jiffies, total jiffies) of `cpus` from /proc/stat."""
    busy = total = 0
    wanted = {f"cpu{c}" for c in cpus}
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] in wanted:
            values = [int(v) for v in fields[1:]]
            idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
            busy, total = busy + sum(values) - idle, total + sum(values)
    return busy, total


def cpuinfo_mhz(text: str, cpus: list[int]) -> float | None:
    """Mean `cpu MHz` of `cpus` in /proc/cpuinfo, None when it has no such lines."""
    mhz, current = [], None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "processor":
            current = int(value)
        elif key.strip() == "cpu MHz" and current in cpus:
            mhz.append(float(value))
    return sum(mhz) / len(mhz) if mhz else None


class OsWatch:
    """/proc/stat busy share of the job's CPUs over the run, and their cpuinfo MHz at its end."""

    def __init__(self, cpus: list[int], proc: Path = Path("/proc")) -> None:
        self.cpus, self.proc = cpus, proc
        self.readings: list[dict[str, Any]] = []

    def _read(self, name: str) -> str:
        try:
            return (self.proc / name).read_text()
        except OSError:
            return ""

    def __enter__(self) -> OsWatch:
        self._start = proc_stat_busy(self._read("stat"), self.cpus)
        return self

    def __exit__(self, *exc: object) -> None:
        busy, total = proc_stat_busy(self._read("stat"), self.cpus)
        cpus = ",".join(map(str, self.cpus))
        if total > self._start[1]:
            self.readings.append({"metric": PREFIX + "busy_pct", "unit": "%",
                                  "value": 100.0 * (busy - self._start[0]) / (total - self._start[1]),
                                  "metadata": {"source": "/proc/stat", "cpus": cpus,
                                               "scope": "every process on these CPUs"}})
        else:
            self.readings.append({"metric": PREFIX + "busy_pct", "reason": "/proc/stat has no per-CPU lines"})
        mhz = cpuinfo_mhz(self._read("cpuinfo"), self.cpus)
        if mhz is not None:
            self.readings.append({"metric": PREFIX + "cpu_mhz", "value": mhz, "unit": "MHz",
                                  "metadata": {"source": "/proc/cpuinfo cpu MHz at the end of the run", "cpus": cpus,
                                               "note": "reported by the kernel, not counted: static on a VM"}})
        else:
            self.readings.append({"metric": PREFIX + "cpu_mhz", "reason": "/proc/cpuinfo has no cpu MHz lines"})
