"""Hold a process group to PCT % of the CPU it could use (SIGSTOP/SIGCONT, as cpulimit does) until its leader ends.

    python3 throttle.py PGID PCT

Uploaded beside the benchmark runners (host data xeonfleet_bench_throttle_pct, xeonfleet/bench/remote.py): a
deterministic slowdown of one node, to prove that regression detection finds it. The group may use PCT % of the
CPUs its leader may run on, counted in CPU seconds: every 10 ms the group's CPU time is compared with that
budget, and the group is stopped while it is over and continued once it is under. A duty cycle on the wall
clock (stop 95 ms, run 5 ms) was tried first: under load the runner got a different share of each on-time, so
its repeats spread so far (the regression limit is 3 x that spread) that a slowed host got no verdict. Counting
CPU seconds gives the same slowdown whatever else runs, as long as the machine has the budget to give.
Standard library only: any python3 on the node runs it.
"""

from __future__ import annotations

import os
import signal
import sys
import time

TICK_S = 0.01
MEMBERS_EVERY = 10  # ticks between two scans of /proc for the group's processes (the runner's instances come and go)


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (field 3 on: state, ppid, pgrp, ...); None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    """The group's leader has not ended: it is neither gone nor a zombie (its shell reaps it only at `wait`)."""
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] != "Z"


def members(pgid: int) -> list[int]:
    """The processes of the group now."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat_fields(int(name))
            if fields and len(fields) > 2 and fields[2] == str(pgid):
                found.append(int(name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system time of these processes and of their reaped children (a child's time moves to its parent's
    cutime/cstime when reaped, so nothing is counted twice)."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields and len(fields) > 14:
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def throttle(pgid: int, pct: int) -> None:
    """Stop and continue the group to keep it within its budget until its leader ends; it is left running."""
    try:
        cpus = len(os.sched_getaffinity(pgid))
    except OSError:
        cpus = os.cpu_count() or 1
    rate = pct / 100 * cpus  # CPU seconds the group may use per wall second
    start, group, tick, stopped = time.monotonic(), [pgid], 0, False
    try:
        while alive(pgid):
            if tick % MEMBERS_EVERY == 0:
                group = members(pgid) or [pgid]
            over = cpu_seconds(group) > rate * (time.monotonic() - start)
            if over != stopped:
                os.killpg(pgid, signal.SIGSTOP if over else signal.SIGCONT)
                stopped = over
            tick += 1
            time.sleep(TICK_S)
    except ProcessLookupError:
        return
    finally:
        try:
            os.killpg(pgid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def main() -> int:
    # A TERM (the run is cancelled) goes through `finally`, so the runner is not left stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        pgid, pct = int(sys.argv[1]), int(sys.argv[2])
    except (IndexError, ValueError):
        print("usage: throttle.py PGID PCT (PCT 1..99)", file=sys.stderr)
        return 2
    if not 1 <= pct <= 99:
        print(f"throttle.py: PCT must be 1..99 (got {pct})", file=sys.stderr)
        return 2
    throttle(pgid, pct)
    return 0


if __name__ == "__main__":
    sys.exit(main())
