"""Let a process group run only PCT % of each 100 ms (SIGSTOP/SIGCONT, as cpulimit does) until its leader ends.

    python3 throttle.py PGID PCT

Uploaded beside the benchmark runners (host data xeonfleet_bench_throttle_pct, xeonfleet/bench/remote.py): a
deterministic slowdown of one node, to prove that regression detection finds it. One process sleeping between
the signals, at normal priority while the runner runs at nice 19. The shell loop it replaces forked a `sleep`
twice a period, and on a loaded 2-core machine those forks and late wake-ups stretched the 5 ms on-time so far
that a 5 % throttle let the runner run a third of the time, by an amount that changed with the load.
Standard library only: any python3 on the node runs it.
"""

from __future__ import annotations

import os
import signal
import sys
import time

PERIOD_S = 0.1


def alive(pid: int) -> bool:
    """The group's leader has not ended: it is neither gone nor a zombie (its shell reaps it only at `wait`)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def throttle(pgid: int, pct: int) -> None:
    """Stop and continue the group until its leader ends; it is always left running."""
    on, off = PERIOD_S * pct / 100, PERIOD_S * (100 - pct) / 100
    try:
        while alive(pgid):
            os.killpg(pgid, signal.SIGSTOP)
            time.sleep(off)
            os.killpg(pgid, signal.SIGCONT)
            time.sleep(on)
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
