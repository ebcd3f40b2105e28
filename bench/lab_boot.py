"""Time booting a lab of N hosts (default 20, the issue's target: under 30 s on a 2-core VM).

Boots in a temp lab dir on free ports, so a running user lab is untouched; prints the seconds
for the first boot, an idempotent second `up`, and `down`, then downs the lab even on failure.
The 1-minute load average is printed too: on a shared 2-core VM it explains most of the spread.

    .venv/bin/python bench/lab_boot.py [--hosts 20] [--hardware NAME ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from xeonfleet.lab.fleet import DEFAULT_HARDWARE, Lab, LabError, find_free_port_base


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--hardware", action="append", help="profile, repeatable (default: the standard mix)")
    args = parser.parse_args()
    hardware = args.hardware or list(DEFAULT_HARDWARE)

    with tempfile.TemporaryDirectory(prefix="xeonfleet-lab-bench-") as tmp:
        lab = Lab(tmp)
        try:
            base = find_free_port_base(args.hosts, 25000)
            start = time.monotonic()
            statuses = lab.up(args.hosts, hardware, base)
            boot_s = time.monotonic() - start
            failed = [f"{s.host.name}: {s.error}" for s in statuses if not s.answering]
            if failed:
                print(f"lab_boot: {len(failed)} hosts did not boot: {'; '.join(failed)}", file=sys.stderr)
                return 1
            start = time.monotonic()
            lab.up(args.hosts, hardware, base)
            again_s = time.monotonic() - start
        except LabError as exc:
            print(f"lab_boot: {exc}", file=sys.stderr)
            return 2
        finally:
            start = time.monotonic()
            lab.down()
            down_s = time.monotonic() - start
    print(f"hosts={args.hosts} hardware={','.join(hardware)} load_1min={os.getloadavg()[0]:.1f}")
    print(f"boot_s={boot_s:.2f} up_again_s={again_s:.2f} down_s={down_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
