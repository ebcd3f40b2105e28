"""How audit time and controller memory grow with fleet size, next to the SSH floor and `xeonfleet facts`.

    .venv/bin/python perf/audit_scaling.py [--sizes 20,200,500,1000] [--repeat 3]

Boots one lab (growing it through the sizes: 1,000 hosts fit a 2-core, 24 GiB VM since hosts of one
hardware profile share one generated tree), and at each size measures, on a real process or a real
connection:
  lab         the time to grow the lab to the size, and the drop of MemAvailable since before the boot;
  ssh floor   paramiko connect + `true` on every host, FLOOR_THREADS at a time: the least any tool can take;
  audit       `xeonfleet audit inventories/lab.py --format json` (gather, rules, store, render): its wall
              time and the peak RSS of the controller process (wait4's ru_maxrss), both also per host;
  facts       `xeonfleet facts inventories/lab.py --json` at the reference size (20).
Target: audit(20) <= 1.3 x facts(20), i.e. judging, storing and rendering cost little next to gathering.
Medians of --repeat runs; the lab is torn down at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko

REPO = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
sys.path.insert(0, str(REPO))

from lab_boot import mem_available  # noqa: E402  (perf/ is this script's directory)
from xeonfleet.lab.fleet import Lab  # noqa: E402
from xeonfleet.lab.hosts import LabHost  # noqa: E402
from xeonfleet.lab.ports import find_free_port_base  # noqa: E402

BIN = Path(sys.executable).parent
REFERENCE_SIZE = 20
TARGET_RATIO = 1.3
# Below the ephemeral range (32768..) and the test sessions' ports (23000..): 1,000 consecutive free ports.
PORT_SEARCH_START = 12000
# More threads only fight over the GIL: 500 at once took 116 s where the gevent-based audit took 53 s.
FLOOR_THREADS = 64


def _ssh_true(lab: Lab, host: LabHost) -> None:
    client = paramiko.SSHClient()
    client.load_host_keys(str(lab.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect("127.0.0.1", port=host.port, username="root", key_filename=str(lab.client_key),
                       look_for_keys=False, allow_agent=False, timeout=30)
        _, stdout, _ = client.exec_command("true", timeout=30)
        stdout.read()  # up to EOF, within the timeout: recv_exit_status alone would wait forever
        if stdout.channel.recv_exit_status() != 0:
            raise RuntimeError(f"{host.name}: `true` failed")
    finally:
        client.close()


def ssh_floor(lab: Lab) -> float:
    hosts = lab.hosts
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=min(len(hosts), FLOOR_THREADS)) as pool:
        list(pool.map(lambda h: _ssh_true(lab, h), hosts))
    return time.perf_counter() - started


def timed_cli(lab: Lab, db: Path, *args: str, ok: tuple[int, ...]) -> tuple[float, int]:
    """Run `xeonfleet ARGS` against the lab: (wall seconds, peak RSS in bytes of that process)."""
    env = {**os.environ, "XEONFLEET_LAB_DIR": str(lab.lab_dir), "XEONFLEET_DB": str(db)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen([str(BIN / "xeonfleet"), *args], cwd=REPO, env=env, stdout=out, stderr=err)
        # wait4, not Popen.wait: it returns the child's own rusage, whose ru_maxrss is its peak RSS (kB).
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in ok:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip()[-300:]
            raise RuntimeError(f"xeonfleet {' '.join(args)} exited {proc.returncode}: {tail}")
    return elapsed, usage.ru_maxrss * 1024


def median_of(repeat: int, measure):
    """The median of `repeat` measurements (element-wise for tuples)."""
    runs = [measure() for _ in range(repeat)]
    if isinstance(runs[0], tuple):
        return tuple(statistics.median(column) for column in zip(*runs))
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,200,500,1000", help="comma-separated fleet sizes, ascending")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median reported)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    work = Path(tempfile.mkdtemp(prefix="xeonfleet-bench-"))
    lab = Lab(work / "lab")
    db = work / "bench.db"
    rows = []
    facts_ref = audit_ref = None
    try:
        port_base = find_free_port_base(max(sizes), PORT_SEARCH_START)
        avail_before = mem_available()
        for size in sizes:
            started = time.perf_counter()
            statuses = lab.up(size, None, port_base)
            boot = time.perf_counter() - started
            lab_memory = avail_before - mem_available()
            down = [s.host.name for s in statuses if not s.answering]
            if down:
                raise RuntimeError(f"{len(down)} lab hosts did not boot: {down[:5]}")
            floor = median_of(args.repeat, lambda: ssh_floor(lab))
            audit, rss = median_of(args.repeat, lambda: timed_cli(lab, db, "audit", "inventories/lab.py",
                                                                  "--format", "json", ok=(0, 1)))
            facts = None
            if size == REFERENCE_SIZE:
                facts, _ = median_of(args.repeat, lambda: timed_cli(lab, db, "facts", "inventories/lab.py", "--json",
                                                                    ok=(0,)))
                facts_ref, audit_ref = facts, audit
            rows.append((size, floor, audit, rss, facts))
            print(f"{size:>4} hosts (grown in {boot:.0f} s, MemAvailable -{lab_memory / MB:.0f} MB = "
                  f"{lab_memory / size / MB:.1f} MB/host): ssh floor {floor:6.2f}s  audit {audit:6.2f}s  "
                  f"controller {rss / MB:.0f} MB" + (f"  facts {facts:6.2f}s" if facts is not None else ""),
                  flush=True)
    finally:
        lab.down()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\ncpu cores {os.cpu_count()}, load avg {os.getloadavg()[0]:.1f}, {args.repeat} runs each (median)")
    print(f"{'hosts':>5}  {'ssh floor s':>11}  {'audit s':>8}  {'audit/floor':>11}  {'ms/host':>7}  "
          f"{'ctrl MB':>7}  {'kB/host':>7}  {'facts s':>8}")
    for size, floor, audit, rss, facts in rows:
        print(f"{size:>5}  {floor:>11.2f}  {audit:>8.2f}  {audit / floor:>11.1f}  {audit / size * 1000:>7.1f}  "
              f"{rss / MB:>7.0f}  {rss / size / 1024:>7.0f}  "
              + (f"{facts:>8.2f}" if facts is not None else f"{'-':>8}"))
    if len(rows) > 1:
        (first, _, first_audit, first_rss, _), (last, _, last_audit, last_rss, _) = rows[0], rows[-1]
        print(f"slope {first}->{last} hosts: audit {(last_audit - first_audit) / (last - first) * 1000:.1f} ms/host, "
              f"controller {(last_rss - first_rss) / (last - first) / 1024:.0f} kB/host")
    if facts_ref is not None and audit_ref is not None:
        ratio = audit_ref / facts_ref
        verdict = "meets" if ratio <= TARGET_RATIO else "misses"
        print(f"audit({REFERENCE_SIZE}) / facts({REFERENCE_SIZE}) = {ratio:.2f} ({verdict} the {TARGET_RATIO}x target)")
        return 0 if ratio <= TARGET_RATIO else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
