"""The SSH floor: one paramiko connection + `true` per host, every host at once (threads).

    python perf/ssh_floor.py --key KEY --known-hosts FILE [--address 127.0.0.1] PORT [PORT ...]

The least any paramiko-based tool (pyinfra's transport) can do against these hosts. It imports
only paramiko and the stdlib, so that run as its own process (as perf/facts_vs_ansible.py does)
it pays interpreter start-up and the paramiko import, like the tools it is compared with, and
nothing more. Exit 1 with a one-line reason when a host fails.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor

import paramiko


def run_true(address: str, port: int, key: paramiko.PKey, known_hosts: str) -> None:
    """Connect as root with `key`, strict host keys from `known_hosts`, run `true`."""
    client = paramiko.SSHClient()
    client.load_host_keys(known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(address, port=port, username="root", pkey=key, allow_agent=False,
                       look_for_keys=False, timeout=10)
        _, stdout, _ = client.exec_command("true")
        if stdout.channel.recv_exit_status() != 0:
            raise RuntimeError(f"`true` failed on {address}:{port}")
    finally:
        client.close()


def ssh_floor(address: str, ports: list[int], key_file: str, known_hosts: str) -> None:
    """All hosts in parallel, one thread each; raises the first host's failure."""
    key = paramiko.Ed25519Key.from_private_key_file(key_file)
    with ThreadPoolExecutor(max_workers=len(ports)) as pool:
        list(pool.map(lambda port: run_true(address, port, key, known_hosts), ports))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", required=True, help="Private ed25519 key file (the lab's client key).")
    parser.add_argument("--known-hosts", required=True, help="known_hosts file with every host's key.")
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("ports", type=int, nargs="+")
    args = parser.parse_args()
    try:
        ssh_floor(args.address, args.ports, args.key, args.known_hosts)
    except (OSError, paramiko.SSHException, RuntimeError) as exc:
        print(f"ssh floor: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
