"""Time `xeonfleet facts` against the SSH floor and `ansible all -m setup` on the same lab hosts.

    .venv/bin/python perf/facts_vs_ansible.py [--hosts 20] [--runs 3]

Boots its own lab (a temp lab dir, free ports), then in each run times, wall clock, back to back:
  ansible  a fresh `ansible all -m setup` process (forks = hosts, pipelining on, the lab's key and
           known_hosts): interpreter start, ansible's imports, SSH + one pipelined python3 per host.
  floor    a fresh `python perf/ssh_floor.py` process: interpreter start, `import paramiko`, then
           one paramiko connection + `true` per host, all hosts at once (threads). The least a
           paramiko-based tool started from the shell can do; the ratios use this one.
  (floor in-process)  the same connections from this already-warm process (no start-up, no
           imports): printed for information, to show what start-up costs.
  pyinfra  a fresh `pyinfra inventories/lab.py fact server.Hostname` process: the issue's "bare
           one-command pyinfra probe", i.e. what pyinfra itself costs on top of the floor (start-up,
           imports, inventory, state) before a probe does any work. Printed for information.
  facts    a fresh `xeonfleet facts inventories/lab.py --json` process, as a user runs it:
           interpreter start, imports, inventory load, connect, the probe, parsing, JSON output.
Every session on a host also pays that host's login shell start-up (root's ~/.bashrc, which lab
hosts inherit from this machine), the same for every tool; and the lab's 20 "nodes" share this
machine's cores, so node-side work (the probe, ansible's setup module) is summed there too.
Prints each run with its load average and ratios (other jobs may load the machine, so a ratio only
compares numbers of one run), the median times, and the median of the per-run ratios against the
issue-2 targets (facts <= 1.3x floor, ansible >= 5x facts), with facts/pyinfra beside them: the
issue's anchors (floor 1.5 s, bare pyinfra probe 1.9 s) put pyinfra alone at 1.27x the floor, so
facts/pyinfra says what the probe's own work adds. Exit 1 when a tool fails, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.ssh_floor import ssh_floor  # noqa: E402
from xeonfleet.lab.fleet import Lab  # noqa: E402
from xeonfleet.lab.ports import ADDRESS, find_free_port_base  # noqa: E402

VENV_BIN = Path(sys.executable).parent
FLOOR_TARGET = 1.3
ANSIBLE_TARGET = 5.0
TOOLS = ("ansible", "floor", "floor-inproc", "pyinfra", "facts")  # run in this order


def floor_args(lab: Lab) -> tuple[str, list[int], str, str]:
    """ssh_floor's arguments for this lab: address, ports, client key, known_hosts."""
    return ADDRESS, [host.port for host in lab.hosts], str(lab.client_key), str(lab.known_hosts)


def floor_process_once(lab: Lab) -> float:
    """A fresh perf/ssh_floor.py process (start-up and imports included, like the tools)."""
    address, ports, key, known_hosts = floor_args(lab)
    command = [sys.executable, str(REPO / "perf" / "ssh_floor.py"), "--key", key,
               "--known-hosts", known_hosts, "--address", address, *map(str, ports)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"ssh floor failed (exit {result.returncode}): {result.stderr.strip()}")
    return elapsed


def floor_inprocess_once(lab: Lab) -> float:
    """The same connections from this process: no interpreter start, paramiko already imported."""
    start = time.perf_counter()
    ssh_floor(*floor_args(lab))
    return time.perf_counter() - start


def _timed_on_lab(lab: Lab, command: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    """Run a tool against inventories/lab.py for this lab, from the repo root: (seconds, result)."""
    env = {**os.environ, "XEONFLEET_LAB_DIR": str(lab.lab_dir)}
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, result


def pyinfra_once(lab: Lab, expected: int) -> float:
    """A fresh `pyinfra INVENTORY fact server.Hostname` process; checks every host answered."""
    elapsed, result = _timed_on_lab(lab, [str(VENV_BIN / "pyinfra"), "inventories/lab.py", "fact",
                                          "server.Hostname"])
    answered = (result.stdout + result.stderr).count('": "bench-')
    if result.returncode != 0 or answered < expected:
        raise RuntimeError(f"pyinfra fact: {answered} of {expected} hosts answered (exit {result.returncode})")
    return elapsed


def facts_once(lab: Lab, expected: int) -> float:
    """A fresh `xeonfleet facts --json` process; checks every host answered."""
    elapsed, result = _timed_on_lab(lab, [str(VENV_BIN / "xeonfleet"), "facts", "inventories/lab.py", "--json"])
    if result.returncode != 0:
        raise RuntimeError(f"xeonfleet facts failed (exit {result.returncode}): {result.stderr.strip()}")
    facts = json.loads(result.stdout)
    if len(facts) != expected or any(f["cpu"]["sockets"] is None for f in facts.values()):
        raise RuntimeError(f"xeonfleet facts answered for {len(facts)} of {expected} hosts")
    return elapsed


def write_ansible_setup(lab: Lab, workdir: Path) -> dict[str, str]:
    """An ansible inventory + config for the lab; returns the environment to run ansible with."""
    lines = ["[lab]"]
    for host in lab.hosts:
        lines.append(f"{host.name} ansible_host={ADDRESS} ansible_port={host.port} ansible_user=root "
                     f"ansible_ssh_private_key_file={lab.client_key} "
                     f"ansible_python_interpreter=/usr/bin/python3")
    (workdir / "hosts.ini").write_text("\n".join(lines) + "\n")
    (workdir / "ansible.cfg").write_text(
        "[defaults]\n"
        f"inventory = {workdir / 'hosts.ini'}\n"
        f"forks = {len(lab.hosts)}\n"
        "host_key_checking = True\n"
        "gathering = explicit\n"
        f"local_tmp = {workdir / 'tmp'}\n"
        "[ssh_connection]\n"
        "pipelining = True\n"
        f"control_path_dir = {workdir / 'cp'}\n"
        f"ssh_args = -o UserKnownHostsFile={lab.known_hosts} -o StrictHostKeyChecking=yes "
        "-o IdentitiesOnly=yes -o ControlMaster=auto -o ControlPersist=60s\n"
    )
    return {**os.environ, "ANSIBLE_CONFIG": str(workdir / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}


def ansible_once(env: dict[str, str], expected: int) -> float:
    start = time.perf_counter()
    result = subprocess.run([str(VENV_BIN / "ansible"), "all", "-m", "setup"], env=env,
                            capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    ok = result.stdout.count("| SUCCESS =>")
    if result.returncode != 0 or ok != expected:
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        raise RuntimeError(f"ansible setup: {ok} of {expected} hosts ok (exit {result.returncode}): {tail}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3, help="Runs per tool; the median is compared.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="xeonfleet-bench-") as tmp:
        workdir = Path(tmp)
        lab = Lab(workdir / "lab")
        try:
            statuses = lab.up(args.hosts, port_base=find_free_port_base(args.hosts, 25000), prefix="bench")
            down = [s.host.name for s in statuses if not s.answering]
            if down:
                print(f"lab hosts did not boot: {', '.join(down)}", file=sys.stderr)
                return 1
            env = write_ansible_setup(lab, workdir)
            times: dict[str, list[float]] = {name: [] for name in TOOLS}
            for run in range(1, args.runs + 1):
                load = os.getloadavg()[0]
                # ansible first: its ControlPersist masters must not linger into the others' runs.
                times["ansible"].append(ansible_once(env, args.hosts))
                times["floor"].append(floor_process_once(lab))
                times["floor-inproc"].append(floor_inprocess_once(lab))
                times["pyinfra"].append(pyinfra_once(lab, args.hosts))
                times["facts"].append(facts_once(lab, args.hosts))
                print(f"run {run}: " + "  ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items())
                      + f"  facts/floor {times['facts'][-1] / times['floor'][-1]:.2f}x"
                      + f"  ansible/facts {times['ansible'][-1] / times['facts'][-1]:.2f}x"
                      + f"  (load {load:.1f} -> {os.getloadavg()[0]:.1f})", flush=True)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            lab.down()

    median = {name: statistics.median(values) for name, values in times.items()}
    # Load drifts between runs, so each run's ratios compare only numbers taken back to back.
    facts_vs_floor = statistics.median(f / fl for f, fl in zip(times["facts"], times["floor"]))
    ansible_vs_facts = statistics.median(a / f for a, f in zip(times["ansible"], times["facts"]))
    pyinfra_vs_floor = statistics.median(p / fl for p, fl in zip(times["pyinfra"], times["floor"]))
    facts_vs_pyinfra = statistics.median(f / p for f, p in zip(times["facts"], times["pyinfra"]))
    print(f"\n{args.hosts} hosts, median of {args.runs} runs:")
    for name in TOOLS:
        print(f"  {name:12s} {median[name]:6.2f} s")
    print("median of the per-run ratios:")
    print(f"  facts / floor   = {facts_vs_floor:.2f}x  (target <= {FLOOR_TARGET}x: "
          f"{'met' if facts_vs_floor <= FLOOR_TARGET else 'MISSED'})")
    print(f"  ansible / facts = {ansible_vs_facts:.2f}x  (target >= {ANSIBLE_TARGET}x: "
          f"{'met' if ansible_vs_facts >= ANSIBLE_TARGET else 'MISSED'})")
    print(f"  pyinfra / floor = {pyinfra_vs_floor:.2f}x  (the issue's anchors: 1.27x)")
    print(f"  facts / pyinfra = {facts_vs_pyinfra:.2f}x  (what the probe's work adds to a bare pyinfra probe)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
