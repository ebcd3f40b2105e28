"""Wheelhouse vs direct installs of the light stacks (intel-python + openvino) on N lab hosts.

    .venv/bin/python perf/wheelhouse_vs_direct.py [--hosts 5]

Boots its own lab (in a temp dir, on free ports), then times, on fresh hosts each time:
  direct:     every host runs pip against the package index (N downloads)
  wheelhouse: `xeonfleet wheelhouse build` once on the controller (timed separately, into a new
              directory), then every host installs from the uploaded wheels with --no-index.
Prints one JSON object: wall time of each phase, and the bytes each phase received over the
network (the non-loopback interfaces' rx counters in /proc/net/dev: lab hosts share the
controller's network namespace, so every byte any host fetches from the index is counted;
anything else using the network meanwhile is counted too, so run it on a quiet machine). Wheels
that this machine's pip config finds in local directories (find-links, file:// indexes) cost
no network bytes in either path.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from xeonfleet.frameworks import wheelhouse
from xeonfleet.stacks import validate_frameworks_spec
from xeonfleet.lab.fleet import Lab
from xeonfleet.lab.ports import find_free_port_base

REPO = Path(__file__).resolve().parents[1]
SPEC = {"envs": [{"name": "ai", "backend": "venv", "python": "3.11",
                  "stacks": {"intel-python": "2026.*", "openvino": "2026.*"}}]}


def network_rx_bytes() -> int:
    """Bytes received so far on every interface but loopback."""
    lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    return sum(int(rest.split()[0]) for name, rest in (line.split(":", 1) for line in lines) if name.strip() != "lo")


def with_rx(step: Callable[[], float]) -> tuple[float, int]:
    """Run step() (which returns the seconds it measured); add the network bytes received meanwhile."""
    rx = network_rx_bytes()
    seconds = step()
    return seconds, network_rx_bytes() - rx


def timed_build(envs: list, out: Path) -> float:
    start = time.perf_counter()
    wheelhouse.build(envs, out)
    return time.perf_counter() - start


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
        build_s, build_rx = with_rx(lambda: timed_build(envs, workdir / "wheelhouse"))
        wheels = wheelhouse.wheel_files(workdir / "wheelhouse")
        wheel_mib = round(sum(w.stat().st_size for w in wheels) / 2**20)  # before the temp dir goes
        direct_s, direct_rx = with_rx(lambda: timed_round(args.hosts, workdir, {"frameworks": SPEC}))
        data = {"frameworks": SPEC, "wheelhouse": str(workdir / "wheelhouse")}
        via_wheelhouse_s, via_wheelhouse_rx = with_rx(lambda: timed_round(args.hosts, workdir, data))
    print(json.dumps({
        "hosts": args.hosts, "stacks": ["intel-python", "openvino"],
        "wheelhouse_build_s": round(build_s, 1), "wheelhouse_wheels": len(wheels),
        "wheelhouse_mib": wheel_mib,
        "direct_deploy_s": round(direct_s, 1), "wheelhouse_deploy_s": round(via_wheelhouse_s, 1),
        "network_rx_mib": {"wheelhouse_build": round(build_rx / 2**20, 1), "direct_deploy": round(direct_rx / 2**20, 1),
                           "wheelhouse_deploy": round(via_wheelhouse_rx / 2**20, 1)},
    }, indent=1))


if __name__ == "__main__":
    main()
