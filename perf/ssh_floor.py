"""The SSH floor: one paramiko connection + `true` per host, a bounded number of hosts at once.

    python perf/ssh_floor.py --key KEY --known-hosts FILE [--address 127.0.0.1] [--workers 64]
                             [--timeout 30] [--json] PORT [PORT ...]

The least any paramiko-based tool (pyinfra's transport) can do against these hosts. It imports only
paramiko and the stdlib, so that run as its own process (as perf/facts_vs_ansible.py and
perf/audit_scaling.py do) it pays interpreter start-up and the paramiko import, like the tools it is
compared with, and nothing more.

Hosts are served by --workers threads: one thread per host stalls at 1,000 hosts (each paramiko
connection adds its own transport thread, and 2,000 threads fight over the GIL and the two cores), so
a floor measured that way is the script's own congestion, not SSH's. Every connection step has a
deadline (--timeout: TCP connect, banner, auth, the command); a host that misses it is counted as
timed out, one that fails otherwise as failed, and both counts are always printed: a floor with lost
hosts is not a floor. Prints one line (or, with --json, one JSON object) with the wall time, the
controller's CPU seconds, and the counts; exit 1 when any host timed out or failed.
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import paramiko

DEFAULT_WORKERS = 64
DEFAULT_TIMEOUT_S = 30.0


@dataclass
class FloorResult:
    """What one floor run saw: wall and controller CPU seconds, and each host's outcome."""

    hosts: int
    workers: int
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    ok: int = 0
    timed_out: int = 0
    failed: int = 0
    first_errors: list[str] = field(default_factory=list)  # up to 3 "PORT: reason" lines

    def summary(self) -> str:
        errors = f"; first: {'; '.join(self.first_errors)}" if self.first_errors else ""
        return (f"ssh floor: {self.hosts} hosts in {self.seconds:.2f} s ({self.workers} at once), controller cpu "
                f"{self.cpu_seconds:.2f} s: ok {self.ok}, timed out {self.timed_out}, failed {self.failed}{errors}")


def run_true(address: str, port: int, key: paramiko.PKey, host_keys: paramiko.HostKeys, timeout: float) -> str:
    """Connect as root with `key`, the server's key checked strictly against `host_keys`, run `true`:
    "ok", "timeout" or "failed: REASON". paramiko's Transport itself, the layer every paramiko tool
    (pyinfra's SSHClient) drives: the known_hosts file is parsed once for all hosts, not once per host."""
    transport = None
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
        transport = paramiko.Transport(sock)
        transport.banner_timeout = transport.auth_timeout = timeout
        transport.start_client(timeout=timeout)
        server_key = transport.get_remote_server_key()
        name = f"[{address}]:{port}" if port != 22 else address
        if host_keys.lookup(name) is None or host_keys.lookup(name).get(server_key.get_name()) != server_key:
            return f"failed: host key of {name} not in known_hosts"
        transport.auth_publickey("root", key)
        channel = transport.open_session(timeout=timeout)
        channel.settimeout(timeout)
        channel.exec_command("true")
        while channel.recv(4096):  # up to EOF within the timeout: recv_exit_status alone would wait forever
            pass
        status = channel.recv_exit_status()
        return "ok" if status == 0 else f"failed: `true` exited {status}"
    except (socket.timeout, TimeoutError):
        return "timeout"
    except (OSError, EOFError, paramiko.SSHException) as exc:
        # paramiko reports a banner or auth deadline as an SSHException naming it
        return "timeout" if "timeout" in str(exc).lower() else f"failed: {type(exc).__name__}: {exc}"
    finally:
        if transport is not None:
            transport.close()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ssh_floor(address: str, ports: list[int], key_file: str, known_hosts: str,
              workers: int = DEFAULT_WORKERS, timeout: float = DEFAULT_TIMEOUT_S) -> FloorResult:
    """Every host, `workers` at a time; never raises for a host: its outcome is counted."""
    key = paramiko.Ed25519Key.from_private_key_file(key_file)
    host_keys = paramiko.HostKeys(known_hosts)
    result = FloorResult(hosts=len(ports), workers=min(workers, len(ports)))
    started, cpu = time.perf_counter(), _cpu_seconds()
    with ThreadPoolExecutor(max_workers=result.workers) as pool:
        outcomes = list(pool.map(lambda port: run_true(address, port, key, host_keys, timeout), ports))
    result.seconds, result.cpu_seconds = time.perf_counter() - started, _cpu_seconds() - cpu
    counts = Counter("ok" if o == "ok" else "timeout" if o == "timeout" else "failed" for o in outcomes)
    result.ok, result.timed_out, result.failed = counts["ok"], counts["timeout"], counts["failed"]
    result.first_errors = [f"{port}: {o}" for port, o in zip(ports, outcomes) if o != "ok"][:3]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", required=True, help="Private ed25519 key file (the lab's client key).")
    parser.add_argument("--known-hosts", required=True, help="known_hosts file with every host's key.")
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="Hosts served at once.")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="Deadline of each step, seconds.")
    parser.add_argument("--json", action="store_true", help="Print the result as one JSON object.")
    parser.add_argument("ports", type=int, nargs="+")
    args = parser.parse_args()
    try:
        result = ssh_floor(args.address, args.ports, args.key, args.known_hosts, args.workers, args.timeout)
    except (OSError, paramiko.SSHException) as exc:  # the key or known_hosts file, before any host
        print(f"ssh floor: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(result)) if args.json else result.summary())
    return 0 if result.ok == result.hosts else 1


if __name__ == "__main__":
    sys.exit(main())
