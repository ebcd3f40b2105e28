"""One shell command on a lab host over real SSH (the lab's key and known_hosts), for the lab tests."""

from __future__ import annotations

import subprocess


def ssh(lab, name: str, command: str) -> str:
    """Run a shell command on a lab host; its stdout (the test fails on a non-zero exit)."""
    host = lab.host(name)
    result = subprocess.run(
        ["ssh", "-i", str(lab.client_key), "-o", f"UserKnownHostsFile={lab.known_hosts}",
         "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-p", str(host.port), "root@127.0.0.1",
         command], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout
