"""Wheelhouse vs direct installs of the light stacks (intel-python + openvino) on N lab hosts.

    .venv/bin/python bench/wheelhouse_vs_direct.py [--hosts 5]

Boots its own lab (in a temp dir, on free ports), then times, on fresh hosts each time:
  direct:     every host runs pip against the package index (N downloads)
  wheelhouse: `xeonfleet wheelhouse build` once on the controller (timed separately, into a new
              directory; pip's own HTTP cache may serve it), then every host installs from the uploaded wheels with --no-index.
Prints one JSON object. The index here is PyPI behind the machine's pip cache and local mirrors,
so "direct" is a best case; on a real fleet behind one uplink the gap grows with N.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from xeonfleet.frameworks import wheelhouse
from xeonfleet.frameworks.stacks import validate_frameworks_spec
from xeonfleet.lab.fleet import Lab, find_free_port_base

REPO = Path(__file__).resolve().parents[1]
SPEC = {"envs": [{"name": "ai", "backend": "venv", "python": "3.11",
                  "stacks": {"intel-python": "2026.*", "openvino": "2026.*"}}]}


def deploy(lab: Lab, workdir: Path, data: dict) -> float:
    inventory = workdir / f"inv_{time.monotonic_ns()}.py"
    hosts = [(name, dict(host_data, **data)) for name, host_data in lab.inventory_hosts()]
    inventory.write_text(f"hosts = {hosts!r}\n")
    start = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).with_name("pyinfra")), "-y", str(inventory),
                           "deploys/frameworks.py"], cwd=REPO, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"deploy failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def timed_round(count: int, workdir: Path, data: dict) -> float:
    lab = Lab(workdir / f"lab_{time.monotonic_ns()}")
    try:
        lab.up(count, ["icx-8380-2s"], find_free_port_base(count, 25500))
        return deploy(lab, workdir, data)
    finally:
        lab.down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=5)
    args = parser.parse_args()
    envs = validate_frameworks_spec(SPEC, "bench")
    with tempfile.TemporaryDirectory(prefix="xf-bench-") as tmp:
        workdir = Path(tmp)
        start = time.perf_counter()
        wheelhouse.build(envs, workdir / "wheelhouse")
        build_s = time.perf_counter() - start
        wheels = wheelhouse.wheel_files(workdir / "wheelhouse")
        wheel_mib = round(sum(w.stat().st_size for w in wheels) / 2**20)  # before the temp dir goes
        direct_s = timed_round(args.hosts, workdir, {"frameworks": SPEC})
        via_wheelhouse_s = timed_round(args.hosts, workdir, {"frameworks": SPEC, "wheelhouse": str(workdir / "wheelhouse")})
    print(json.dumps({
        "hosts": args.hosts, "stacks": ["intel-python", "openvino"],
        "wheelhouse_build_s": round(build_s, 1), "wheelhouse_wheels": len(wheels),
        "wheelhouse_mib": wheel_mib,
        "direct_deploy_s": round(direct_s, 1), "wheelhouse_deploy_s": round(via_wheelhouse_s, 1),
        "index_downloads": {"direct": args.hosts, "wheelhouse": 1},
    }, indent=1))


if __name__ == "__main__":
    main()
