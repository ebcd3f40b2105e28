"""What one probe costs a node: as root, and as a login user whose root-only reads go through sudo.

    sudo .venv/bin/python perf/probe_cost.py [--runs 30]

Runs the probe `xeonfleet facts` sends (facts/probe.py probe_command, PACK=1 as over SSH) on this machine's own /,
--runs times each way, alternating, each a fresh `sh` in a private mount namespace whose /etc/sudoers.d holds only
the `xeonfleet sudoers --role audit` drop-in for `nobody` (nothing on the machine changes):
  root   as root: the SMBIOS table, the knob MSRs and CPU 0's CPUID leaves read directly;
  login  as nobody: those reads go through `sudo -n`, each kind first asked with `sudo -n -l`, as on a fleet
         where root cannot log in.
Prints, per probe, the CPU ms of the probe and everything it started (wait4, perf/measure.py), the wall ms, and
the sudo runs (each also a line in the node's auth log), then login / root. Which root-only reads a machine has
decides the figures: a VM without DMI or the msr driver reads CPUID only. Needs root, unshare, setpriv and sudo.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from measure import ToolRun, run_tool  # noqa: E402  (perf/ is this script's directory)
from xeonfleet.connect import privilege  # noqa: E402
from xeonfleet.facts.probe import probe_command  # noqa: E402

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
# In the namespace: the drop-in over /etc/sudoers.d, then the command (the probe, as root or through setpriv).
NAMESPACE = 'mount --bind "$T" /etc/sudoers.d && cd / && exec "$@"'


def timed(command: list[str], env: dict[str, str]) -> ToolRun:
    """One run of `command` (perf/measure.py: its CPU and everything it started, from wait4); a failure is fatal."""
    run = run_tool(command, env, [], cwd=Path("/"))
    if run.returncode != 0:
        raise SystemExit(f"probe_cost: {command[-3:]} exited {run.returncode}: {run.stderr.strip()[-300:]}")
    return run


def sudo_runs(command: list[str], env: dict[str, str]) -> int | None:
    """The sudo processes one run starts (strace's execve log), or None without strace."""
    if not shutil.which("strace"):
        return None
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as log:
        subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", log.name, *command], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd="/")
        return sum(1 for line in log if 'execve("/usr/bin/sudo"' in line and "ENOENT" not in line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="probes each way (median reported)")
    args = parser.parse_args()
    missing = [tool for tool in ("unshare", "setpriv", "sudo") if not shutil.which(tool)]
    if os.geteuid() != 0 or missing:
        print(f"probe_cost: needs root and {', '.join(missing) or 'unshare, setpriv, sudo'}: run it with sudo "
              "(apt-get install sudo util-linux)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as sudoers:
        os.chmod(sudoers, 0o755)
        dropin = Path(sudoers) / "xeonfleet-audit"
        dropin.write_text(privilege.dropin("audit", "nobody", "probe_cost"))
        dropin.chmod(0o440)
        probe = ["sh", "-c", probe_command(pack=True)]
        namespace = ["unshare", "-m", "--propagation", "private", "sh", "-c", NAMESPACE, "sh"]
        ways = {"root": [*namespace, *probe], "login": [*namespace, *NOBODY, *probe]}
        env = {**os.environ, "T": sudoers}
        for command in ways.values():  # untimed: page cache, sudo's first read of its plugins
            timed(command, env)
        samples: dict[str, list[ToolRun]] = {way: [] for way in ways}
        for _ in range(args.runs):
            for way, command in ways.items():
                samples[way].append(timed(command, env))
        sudo = {way: sudo_runs(command, env) for way, command in ways.items()}
    cpu = {way: statistics.median(run.cpu_seconds for run in runs) * 1000 for way, runs in samples.items()}
    wall = {way: statistics.median(run.seconds for run in runs) * 1000 for way, runs in samples.items()}
    print(f"probe on this machine's own /, median of {args.runs} (loadavg {Path('/proc/loadavg').read_text()[:14]}):")
    for way in ways:
        runs = "n/a (no strace)" if sudo[way] is None else sudo[way]
        print(f"  {way:<6} cpu {cpu[way]:6.1f} ms  wall {wall[way]:6.1f} ms  sudo runs {runs}")
    print(f"  login / root: cpu {cpu['login'] / cpu['root']:.2f}x, wall {wall['login'] / wall['root']:.2f}x "
          "(both run in the same namespace; the login way also pays setpriv, one process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
