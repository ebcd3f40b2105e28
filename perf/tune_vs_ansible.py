"""Time deploys/ai_node.py against the equivalent Ansible playbook (perf/ansible/ai_node.yml) on the same
lab fleet: first apply and no-op re-run for each, plus the audit, and the ratios issue 20 targets at 20
hosts: Ansible >= 12x slower than our first apply and >= 40x slower than our no-op re-run.

    python perf/tune_vs_ansible.py [--hosts 20] [--hardware icx-8380-2s-mistuned]

Each tool starts from freshly booted (mis-tuned) hosts; wall-clock times of the real CLIs, one run each.
The lab's hosts share this machine's cores with whatever else runs on it, so the load average at the
start and the end is printed beside the times. Prints a table, one line per target (met / NOT met) and
one JSON line with every figure. Needs ansible-playbook in this venv: the `bench` extra installs it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xeonfleet.lab.fleet import Lab  # noqa: E402
from xeonfleet.lab.ports import find_free_port_base  # noqa: E402

BIN = Path(sys.executable).parent
PLAYBOOK = REPO / "perf" / "ansible" / "ai_node.yml"
# Issue 20: how many times slower Ansible must be than the deploy, at 20 hosts.
TARGETS = {"ansible_vs_pyinfra_first": 12.0, "ansible_vs_pyinfra_noop": 40.0}


def timed(argv: list[str], env: dict[str, str], ok_codes: tuple[int, ...] = (0,)) -> tuple[float, subprocess.CompletedProcess]:
    start = time.monotonic()
    result = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if result.returncode not in ok_codes:
        raise SystemExit(f"{' '.join(argv[:3])} failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    return elapsed, result


def ansible_inventory(lab: Lab, path: Path) -> None:
    lines = ["[lab]"]
    ssh_args = f"-o UserKnownHostsFile={lab.known_hosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
    for host in lab.hosts:
        lines.append(f"{host.name} ansible_host=127.0.0.1 ansible_port={host.port} ansible_user=root "
                     f"ansible_ssh_private_key_file={lab.client_key} ansible_python_interpreter=/usr/bin/python3 "
                     f"ansible_ssh_common_args='{ssh_args}'")
    path.write_text("\n".join(lines) + "\n")


def fresh_lab(root: Path, hosts: int, hardware: str) -> Lab:
    lab = Lab(root)
    lab.down()
    statuses = lab.up(hosts, [hardware], find_free_port_base(hosts, 25000))
    if not all(s.answering for s in statuses):
        raise SystemExit("lab hosts did not boot: " + "; ".join(f"{s.host.name}: {s.error}" for s in statuses if not s.answering))
    return lab


def changed_hosts_pyinfra(output: str) -> int:
    return sum(1 for line in output.splitlines() if line.strip().endswith("] Success"))


def load_average() -> float:
    """The 1-minute load average (other jobs share the lab's cores: a ratio holds for one run only)."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def target_lines(figures: dict[str, float | int]) -> list[str]:
    """One line per issue-20 target: the measured ratio, the target and whether it is met."""
    return [f"{key} = {figures[key]}x  (target >= {target:g}x: {'met' if figures[key] >= target else 'NOT met'})"
            for key, target in TARGETS.items()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--hardware", default="icx-8380-2s-mistuned")
    args = parser.parse_args()
    if not (BIN / "ansible-playbook").exists():
        raise SystemExit(f"no ansible-playbook in {BIN}: install the bench extra first, "
                         f"{BIN / 'pip'} install -e '{REPO}[bench]'")
    figures: dict[str, float | int] = {"hosts": args.hosts, "load_start": load_average()}
    with tempfile.TemporaryDirectory(prefix="tune-bench-") as tmp:
        lab_dir = Path(tmp) / "lab"
        env = {**os.environ, "XEONFLEET_LAB_DIR": str(lab_dir), "ANSIBLE_HOST_KEY_CHECKING": "True",
               "ANSIBLE_FORKS": str(args.hosts), "ANSIBLE_STDOUT_CALLBACK": "default"}
        try:
            lab = fresh_lab(lab_dir, args.hosts, args.hardware)
            inventory = Path(tmp) / "hosts.ini"
            ansible_inventory(lab, inventory)
            play = [str(BIN / "ansible-playbook"), "-i", str(inventory), "-f", str(args.hosts), str(PLAYBOOK)]
            figures["ansible_first_s"], _ = timed(play, env)
            figures["ansible_noop_s"], noop = timed(play, env)
            figures["ansible_noop_changed"] = sum(int(part.split("=")[1]) for line in noop.stdout.splitlines()
                                                  if "ok=" in line for part in line.split() if part.startswith("changed="))

            lab = fresh_lab(lab_dir, args.hosts, args.hardware)
            deploy = [str(BIN / "pyinfra"), "-y", "inventories/lab.py", "deploys/ai_node.py"]
            figures["pyinfra_first_s"], _ = timed(deploy, env)
            figures["pyinfra_noop_s"], noop = timed(deploy, env)
            figures["pyinfra_noop_changed"] = changed_hosts_pyinfra(noop.stdout + noop.stderr)
            # Exit 1 = findings (the BIOS/hardware items no deploy can fix): a completed audit either way.
            audit = [str(BIN / "xeonfleet"), "audit", "inventories/lab.py", "--profile", "xeon-ai-base",
                     "--db", str(Path(tmp) / "audit.db")]
            figures["audit_s"], _ = timed(audit, env, ok_codes=(0, 1))
        finally:
            Lab(lab_dir).down()
    figures["load_end"] = load_average()
    figures["noop_vs_audit"] = round(figures["pyinfra_noop_s"] / figures["audit_s"], 2)
    figures["ansible_vs_pyinfra_first"] = round(figures["ansible_first_s"] / figures["pyinfra_first_s"], 2)
    figures["ansible_vs_pyinfra_noop"] = round(figures["ansible_noop_s"] / figures["pyinfra_noop_s"], 2)
    for key in ("ansible_first_s", "ansible_noop_s", "pyinfra_first_s", "pyinfra_noop_s", "audit_s"):
        figures[key] = round(figures[key], 2)
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    for line in target_lines(figures):
        print(line)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
