"""How audit time grows with fleet size, next to the SSH floor and to `xeonfleet facts`.

    .venv/bin/python bench/audit_scaling.py [--sizes 5,20,50] [--repeat 3]

Boots one lab (growing it 5 -> 20 -> 50 hosts), and at each size times, as wall clock of a real
process or a real connection:
  ssh floor   paramiko connect + `true` on every host at once (threads): the least any tool can take;
  audit       `xeonfleet audit inventories/lab.py --format json` (gather, rules, store, render);
  facts       `xeonfleet facts inventories/lab.py --json` at the reference size (20).
Target: audit(20) <= 1.3 x facts(20), i.e. judging, storing and rendering cost little next to gathering.
Medians of --repeat runs; the lab is torn down at the end, also on failure.
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
sys.path.insert(0, str(REPO))

from xeonfleet.lab.fleet import Lab, LabHost, find_free_port_base  # noqa: E402

BIN = Path(sys.executable).parent
REFERENCE_SIZE = 20
TARGET_RATIO = 1.3


def _ssh_true(lab: Lab, host: LabHost) -> None:
    client = paramiko.SSHClient()
    client.load_host_keys(str(lab.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect("127.0.0.1", port=host.port, username="root", key_filename=str(lab.client_key),
                       look_for_keys=False, allow_agent=False, timeout=30)
        _, stdout, _ = client.exec_command("true")
        if stdout.channel.recv_exit_status() != 0:
            raise RuntimeError(f"{host.name}: `true` failed")
    finally:
        client.close()


def ssh_floor(lab: Lab) -> float:
    hosts = lab.hosts
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        list(pool.map(lambda h: _ssh_true(lab, h), hosts))
    return time.perf_counter() - started


def timed_cli(lab: Lab, db: Path, *args: str, ok: tuple[int, ...]) -> float:
    env = {**os.environ, "XEONFLEET_LAB_DIR": str(lab.lab_dir), "XEONFLEET_DB": str(db)}
    started = time.perf_counter()
    result = subprocess.run([str(BIN / "xeonfleet"), *args], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=600, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode not in ok:
        raise RuntimeError(f"xeonfleet {' '.join(args)} exited {result.returncode}: {result.stderr.strip()[-300:]}")
    return elapsed


def median_of(repeat: int, measure) -> float:
    return statistics.median(measure() for _ in range(repeat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5,20,50", help="comma-separated fleet sizes, ascending")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median reported)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    work = Path(tempfile.mkdtemp(prefix="xeonfleet-bench-"))
    lab = Lab(work / "lab")
    db = work / "bench.db"
    rows = []
    facts_ref = audit_ref = None
    try:
        port_base = find_free_port_base(max(sizes), 32000)
        for size in sizes:
            statuses = lab.up(size, None, port_base)
            down = [s.host.name for s in statuses if not s.answering]
            if down:
                raise RuntimeError(f"lab hosts did not boot: {down}")
            floor = median_of(args.repeat, lambda: ssh_floor(lab))
            audit = median_of(args.repeat, lambda: timed_cli(lab, db, "audit", "inventories/lab.py",
                                                             "--format", "json", ok=(0, 1)))
            facts = None
            if size == REFERENCE_SIZE:
                facts = median_of(args.repeat, lambda: timed_cli(lab, db, "facts", "inventories/lab.py", "--json",
                                                                 ok=(0,)))
                facts_ref, audit_ref = facts, audit
            rows.append((size, floor, audit, facts))
            print(f"{size:>3} hosts: ssh floor {floor:6.2f}s  audit {audit:6.2f}s"
                  + (f"  facts {facts:6.2f}s" if facts is not None else ""), flush=True)
    finally:
        lab.down()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\ncpu cores {os.cpu_count()}, load avg {os.getloadavg()[0]:.1f}, {args.repeat} runs each (median)")
    print(f"{'hosts':>5}  {'ssh floor s':>11}  {'audit s':>8}  {'audit/floor':>11}  {'facts s':>8}")
    for size, floor, audit, facts in rows:
        print(f"{size:>5}  {floor:>11.2f}  {audit:>8.2f}  {audit / floor:>11.1f}  "
              + (f"{facts:>8.2f}" if facts is not None else f"{'-':>8}"))
    if facts_ref is not None and audit_ref is not None:
        ratio = audit_ref / facts_ref
        verdict = "meets" if ratio <= TARGET_RATIO else "misses"
        print(f"audit({REFERENCE_SIZE}) / facts({REFERENCE_SIZE}) = {ratio:.2f} ({verdict} the {TARGET_RATIO}x target)")
        return 0 if ratio <= TARGET_RATIO else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
