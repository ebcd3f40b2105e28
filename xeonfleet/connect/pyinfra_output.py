"""What a person must see of pyinfra's output, one line per host: failures that print a traceback,
with the fix, and the file-transfer fallback that fixed one.

pyinfra reports a host whose sshd has no SFTP subsystem with a 40-line traceback ending in
"Unable to establish SFTP connection ... at HOST is enabled", and carries on with the other hosts.
Deploys that call xeonfleet/connect/file_transfer.py switch such a host to scp and log one line instead.
Commands that run pyinfra and keep its full output in a log (`xeonfleet bench run`) print
`explain_failures(output)`."""

from __future__ import annotations

import re

_NO_SFTP = re.compile(r"Unable to establish SFTP connection\. Check that the SFTP subsystem for the SSH service "
                      r"at (\S+?) is enabled")


def no_sftp_fix(host: str) -> str:
    """The one line for a host whose sshd cannot serve SFTP (pyinfra's default file transfer)."""
    return (f"{host}: its sshd has no SFTP subsystem, which pyinfra uploads and fetches files with; set host data "
            f"ssh_file_transfer_protocol='scp' for {host} (or add `Subsystem sftp internal-sftp` to its sshd_config)")


_SCP_FALLBACK = re.compile(r"\[(\S+?)\] (no SFTP subsystem in this host's sshd: file transfers use scp.*)$", re.MULTILINE)
# paramiko's check after a transfer: a file that stopped short, which on a node means its disk is full.
_SHORT_TRANSFER = re.compile(r"\[([^\]\s]+)\][^\n]*size mismatch in (put|get)!\s*(\d+) != (\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def short_transfer_fix(host: str, direction: str, written: str, size: str) -> str:
    """The one line for an upload (put) or fetch (get) that wrote fewer bytes than the file has."""
    if direction == "put":
        return (f"{host}: an upload to the node stopped at {written} of {size} bytes: no space left on its disk; "
                f"free space under /var/lib/xeonfleet on {host} and re-run")
    return (f"{host}: a fetch from the node stopped at {written} of {size} bytes: no space left on the "
            f"controller's disk (the results directory); free space there and re-run")


def explain_failures(output: str) -> list[str]:
    """One line per host for every known signature in pyinfra's output: SFTP failures with the fix,
    transfers cut short by a full disk, then hosts switched to scp by themselves (file_transfer.py)."""
    output = _ANSI.sub("", output)
    lines = [no_sftp_fix(host) for host in sorted(set(_NO_SFTP.findall(output)))]
    lines += [short_transfer_fix(*found) for found in sorted(set(_SHORT_TRANSFER.findall(output)))]
    return lines + [f"{host}: {text.strip()}" for host, text in sorted(set(_SCP_FALLBACK.findall(output)))]
