"""How audit time, controller CPU and memory grow with fleet size, next to the SSH floor.

    .venv/bin/python perf/audit_scaling.py [--sizes 20,200,1000] [--repeat 3] [--workers 64]

Boots one lab and grows it through the sizes (hosts of one hardware profile share one generated tree, so
1,000 fit a 2-core, 24 GiB VM; a size the machine cannot hold is one line naming the limit, from the lab's
own fit check, xeonfleet/lab/fit.py, and the sizes stop there). At each size, each a fresh process and the
median of --repeat runs:
  floor   perf/ssh_floor.py: paramiko connect + `true` on every host, --workers at a time, every step with
          a deadline; its timed-out and failed hosts are printed, and a floor that lost hosts is no floor
          (no ratio is computed against it);
  pyinfra `pyinfra inventories/lab.py fact server.Hostname`: pyinfra's own CLI, one one-command fact a host
          (perf/measure.py): the least a tool on pyinfra's inventory and connector costs, so pyinfra / floor is
          the bound under any such tool's ratio, printed beside each target;
  audit   `xeonfleet audit inventories/lab.py --format json` (gather, rules, store, render).
For each: wall time, the controller's CPU seconds (its own rusage) and the lab nodes' CPU seconds (the
nodes share this machine's cores: their probe work is on the same clock), and the audit's peak RSS. Per
host: controller CPU ms, peak RSS kB, and how many hosts one controller core can audit per minute
(60 s / CPU seconds per host). Targets (issue 20): audit <= 1.3x the floor at 200 and at 1,000 hosts, one
"target ...: met / NOT met" line each. /proc/loadavg is printed beside every size: other jobs share the cores.
The lab is torn down at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
sys.path.insert(0, str(REPO))

from lab_boot import mem_available  # noqa: E402  (perf/ is this script's directory)
from measure import ToolRun, bare_pyinfra_answered, bare_pyinfra_command, loadavg, run_tool, tool_env  # noqa: E402
from xeonfleet.lab.errors import LabError  # noqa: E402
from xeonfleet.lab.fleet import Lab  # noqa: E402
from xeonfleet.lab.ports import ADDRESS, find_free_port_base  # noqa: E402

BIN = Path(sys.executable).parent
TARGET_RATIO = 1.3
TARGET_SIZES = (200, 1000)
# Below the ephemeral range (32768..) and the test sessions' ports (23000..): 2,000 consecutive free ports.
PORT_SEARCH_START = 12000


@dataclass(frozen=True)
class SizeResult:
    """One fleet size: the median floor, bare pyinfra and audit runs (None for a run that lost hosts)."""

    size: int
    floor: ToolRun | None
    floor_summary: str
    pyinfra: ToolRun | None
    audit: ToolRun


def median_run(runs: list[ToolRun]) -> ToolRun:
    """The run of median wall time (its CPU and memory figures belong to that same run)."""
    return sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]


def measure_floor(lab: Lab, env: dict[str, str], workers: int, repeat: int) -> tuple[ToolRun | None, str]:
    """perf/ssh_floor.py `repeat` times: (the median run, or None when any run lost a host; its summary line)."""
    command = [sys.executable, str(REPO / "perf" / "ssh_floor.py"), "--key", str(lab.client_key), "--known-hosts",
               str(lab.known_hosts), "--address", ADDRESS, "--workers", str(workers), "--json",
               *(str(host.port) for host in lab.hosts)]
    runs = [run_tool(command, env, lab.hosts) for _ in range(repeat)]
    results = [json.loads(run.stdout) if run.stdout.strip() else None for run in runs]
    lost = [r for r, result in zip(runs, results) if result is None or result["ok"] != result["hosts"]]
    if lost:
        result = next((r for r in results if r is not None and r["ok"] != r["hosts"]), None)
        detail = (f"{result['timed_out']} timed out, {result['failed']} failed of {result['hosts']}: "
                  f"{'; '.join(result['first_errors'])}") if result else lost[0].stderr.strip()[-200:]
        return None, f"floor lost hosts in {len(lost)} of {repeat} runs ({detail})"
    chosen = median_run(runs)
    result = results[runs.index(chosen)]
    return chosen, (f"floor {chosen.seconds:.2f} s, {result['workers']} at once, 0 timed out, 0 failed, "
                    f"ssh_floor's own cpu {result['cpu_seconds']:.2f} s")


def measure_pyinfra(lab: Lab, env: dict[str, str], repeat: int) -> ToolRun | None:
    """pyinfra's one-command fact `repeat` times: the median run, or None when any run missed a host."""
    runs = [run_tool(bare_pyinfra_command(BIN), env, lab.hosts, cwd=REPO) for _ in range(repeat)]
    answered = [bare_pyinfra_answered(run, "lab") for run in runs]
    if any(count != len(lab.hosts) for count in answered):
        print(f"bare pyinfra: {min(answered)} of {len(lab.hosts)} hosts answered in a run: no bound at this size",
              flush=True)
        return None
    return median_run(runs)


def ratio_text(top: ToolRun | None, bottom: ToolRun | None) -> str:
    """"1.23x", or "-" when either run lost hosts."""
    return f"{top.seconds / bottom.seconds:.2f}x" if top and bottom else "-"


def measure_audit(lab: Lab, env: dict[str, str], repeat: int) -> ToolRun:
    """`xeonfleet audit` `repeat` times (exit 0 or 1: rules may fail on the mis-tuned hosts): the median run."""
    runs = []
    for _ in range(repeat):
        run = run_tool([str(BIN / "xeonfleet"), "audit", "inventories/lab.py", "--format", "json"], env, lab.hosts,
                       cwd=REPO)
        if run.returncode not in (0, 1):
            raise RuntimeError(f"xeonfleet audit exited {run.returncode}: {run.stderr.strip()[-300:]}")
        runs.append(run)
    return median_run(runs)


def print_summary(rows: list[SizeResult], repeat: int) -> int:
    """The table and the target lines; the number of targets not met.

    CPU per host is the slope from the previous size (the first size: the total over its hosts), so the
    fixed start-up (interpreter, imports, inventory, profiles) is not spread over the hosts; one core serves
    60 s / that many hosts a minute.
    """
    print(f"\n{repeat} runs each (median); wall s, controller cpu s, nodes cpu s")
    print(f"{'hosts':>5}  {'floor s':>7}  {'pyinfra s':>9}  {'pyinfra/floor':>13}  {'audit s':>7}  {'audit/floor':>11}  "
          f"{'ctrl cpu s':>10}  "
          f"{'cpu ms/host':>11}  {'nodes cpu s':>11}  {'ctrl MB':>7}  {'kB/host':>7}  {'hosts/core-min':>14}")
    previous = None
    for row in rows:
        audit = row.audit
        per_host_cpu = (audit.cpu_seconds / row.size if previous is None else
                        (audit.cpu_seconds - previous.audit.cpu_seconds) / (row.size - previous.size))
        floor = f"{row.floor.seconds:.2f}" if row.floor else "lost"
        pyinfra = f"{row.pyinfra.seconds:.2f}" if row.pyinfra else "lost"
        per_minute = f"{60 / per_host_cpu:.0f}" if per_host_cpu > 0 else "-"
        print(f"{row.size:>5}  {floor:>7}  {pyinfra:>9}  {ratio_text(row.pyinfra, row.floor):>13}  "
              f"{audit.seconds:>7.2f}  {ratio_text(audit, row.floor):>11}  {audit.cpu_seconds:>10.2f}  "
              f"{per_host_cpu * 1000:>11.1f}  {audit.node_cpu_seconds:>11.2f}  {audit.peak_rss / MB:>7.0f}  "
              f"{audit.peak_rss / row.size / 1024:>7.0f}  {per_minute:>14}")
        previous = row
    missed = 0
    by_size = {row.size: row for row in rows}
    for size in TARGET_SIZES:
        row = by_size.get(size)
        if row is None:
            print(f"target audit <= {TARGET_RATIO}x ssh floor at {size} hosts: NOT measured (not in --sizes, "
                  "or the lab stopped before it)")
            missed += 1
        elif row.floor is None:
            print(f"target audit <= {TARGET_RATIO}x ssh floor at {size} hosts: NOT measured ({row.floor_summary})")
            missed += 1
        else:
            ratio = row.audit.seconds / row.floor.seconds
            met = ratio <= TARGET_RATIO
            missed += not met
            print(f"target audit <= {TARGET_RATIO}x ssh floor at {size} hosts: {'met' if met else 'NOT met'} "
                  f"({ratio:.2f}x; bare pyinfra alone {ratio_text(row.pyinfra, row.floor)} the floor)")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,200,1000", help="comma-separated fleet sizes, ascending")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median reported)")
    parser.add_argument("--workers", type=int, default=64, help="the floor's hosts at once (perf/ssh_floor.py)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    work = Path(tempfile.mkdtemp(prefix="xeonfleet-bench-"))
    lab = Lab(work / "lab")
    env = tool_env(work / "pycache", XEONFLEET_LAB_DIR=str(lab.lab_dir), XEONFLEET_DB=str(work / "bench.db"))
    rows: list[SizeResult] = []
    try:
        port_base = find_free_port_base(max(sizes), PORT_SEARCH_START)
        avail_before = mem_available()
        for size in sizes:
            started = time.perf_counter()
            try:
                statuses = lab.up(size, None, port_base)
            except LabError as exc:  # the fit check: the first limit that is short, before anything is booted
                print(f"{size:>5} hosts: not tried: {exc}", flush=True)
                break
            boot = time.perf_counter() - started
            lab_memory = avail_before - mem_available()
            down = [s.host.name for s in statuses if not s.answering]
            if down:
                raise RuntimeError(f"{len(down)} lab hosts did not boot: {down[:5]}")
            if not rows:  # untimed: writes the bytecode caches, as a user's install has them
                measure_pyinfra(lab, env, 1)
                measure_audit(lab, env, 1)
            load = loadavg()
            floor, floor_summary = measure_floor(lab, env, args.workers, args.repeat)
            pyinfra = measure_pyinfra(lab, env, args.repeat)
            audit = measure_audit(lab, env, args.repeat)
            rows.append(SizeResult(size, floor, floor_summary, pyinfra, audit))
            print(f"{size:>5} hosts (grown in {boot:.0f} s, MemAvailable -{lab_memory / MB:.0f} MB = "
                  f"{lab_memory / size / MB:.1f} MB/host; loadavg {load} -> {loadavg()}): {floor_summary}; "
                  f"bare pyinfra {f'{pyinfra.seconds:.2f} s' if pyinfra else 'lost hosts'}; "
                  f"audit {audit.seconds:.2f} s, cpu {audit.cpu_seconds:.2f} s, "
                  f"nodes cpu {audit.node_cpu_seconds:.2f} s, peak {audit.peak_rss / MB:.0f} MB", flush=True)
    except (RuntimeError, LabError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        try:
            lab.down()
            shutil.rmtree(work, ignore_errors=True)
        except LabError as exc:  # the figures printed above stand; the lab is left for a later `down`
            print(f"lab teardown: {exc} (xeonfleet lab down --lab-dir {lab.lab_dir})", file=sys.stderr)
    if not rows:
        return 1
    print_summary(rows, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
