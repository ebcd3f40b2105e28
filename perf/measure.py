"""One way to time a tool's process against the lab, shared by the perf scripts: wall, CPU, memory, node work.

Every tool is a fresh process, started the way a user starts it, with Python's bytecode cache on (in a
directory of the run's own): a user's installed package has its .pyc files, while this sandbox sets
PYTHONDONTWRITEBYTECODE, which would make every tool recompile its own modules on every run (xeonfleet's
~70 modules: ~0.15 s a run) and so compare compilers rather than tools. Callers run each tool once untimed
first, so the cache is written before the timed runs.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lab_boot import hosts_cpu_seconds  # noqa: E402  (perf/ is the scripts' directory)
from xeonfleet.lab.hosts import LabHost

# A host's session processes end just after the client disconnects; sshd adds their CPU to its own when it
# reaps them. Read the hosts' CPU this long after the tool ended (not counted in its time).
SETTLE_S = 0.3


@dataclass(frozen=True)
class ToolRun:
    """One run of one tool: what it printed and what it cost."""

    seconds: float
    cpu_seconds: float  # the process and its children (user + system), from wait4
    peak_rss: int  # bytes, the process's high-water mark (ru_maxrss)
    node_cpu_seconds: float  # what the lab hosts' processes used meanwhile (perf/lab_boot.py)
    returncode: int
    stdout: str
    stderr: str


def bare_pyinfra_command(bin_dir: Path) -> list[str]:
    """pyinfra's own CLI reading one one-command fact (`server.Hostname`) from every lab host: start-up, imports,
    inventory, state, connect and one command a host. What pyinfra itself costs, below which no tool built on its
    inventory and connector (as xeonfleet is) can go; stdout+stderr hold one `"HOST": "NAME"` per host."""
    return [str(bin_dir / "pyinfra"), "inventories/lab.py", "fact", "server.Hostname"]


def bare_pyinfra_answered(run: ToolRun, prefix: str) -> int:
    """Hosts a bare_pyinfra_command run read a hostname from: its `"HOST": "PREFIX-..."` lines (the lab names its
    hosts PREFIX-01, PREFIX-02, ...)."""
    return (run.stdout + run.stderr).count(f'": "{prefix}-')


def tool_env(cache_dir: Path, **extra: str) -> dict[str, str]:
    """This environment with the bytecode cache on (written under `cache_dir`) and `extra` set."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(cache_dir), **extra}


def loadavg() -> str:
    """The first three fields of /proc/loadavg (1, 5, 15 minutes): the other jobs on these cores."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run_tool(command: list[str], env: dict[str, str], hosts: list[LabHost], cwd: Path | None = None) -> ToolRun:
    """Run `command` to its end; its wall time, its CPU and peak RSS (its own rusage), and the hosts' CPU."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        nodes_before = hosts_cpu_seconds(hosts)
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        # wait4, not Popen.wait: it returns the child's own rusage (CPU, ru_maxrss in kB).
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        if hosts:
            time.sleep(SETTLE_S)
        node_cpu = hosts_cpu_seconds(hosts) - nodes_before
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ToolRun(seconds=seconds, cpu_seconds=usage.ru_utime + usage.ru_stime, peak_rss=usage.ru_maxrss * 1024,
                       node_cpu_seconds=node_cpu, returncode=process.returncode,
                       stdout=out.read().decode(errors="replace"), stderr=err.read().decode(errors="replace"))
