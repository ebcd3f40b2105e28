"""pyinfra failures that print a traceback, turned into one line per host naming the fix.

pyinfra reports a host whose sshd has no SFTP subsystem with a 40-line traceback ending in
"Unable to establish SFTP connection ... at HOST is enabled", and carries on with the other hosts.
Commands that run pyinfra (`xeonfleet bench run`, the deploy wrappers) keep its full output in a log
and print `explain_failures(output)` instead."""

from __future__ import annotations

import re

_NO_SFTP = re.compile(r"Unable to establish SFTP connection\. Check that the SFTP subsystem for the SSH service "
                      r"at (\S+?) is enabled")


def no_sftp_fix(host: str) -> str:
    """The one line for a host whose sshd cannot serve SFTP (pyinfra's default file transfer)."""
    return (f"{host}: its sshd has no SFTP subsystem, which pyinfra uploads and fetches files with; set host data "
            f"ssh_file_transfer_protocol='scp' for {host} (or add `Subsystem sftp internal-sftp` to its sshd_config)")


def explain_failures(output: str) -> list[str]:
    """One line per host for every known failure signature in pyinfra's output, hosts in order."""
    return [no_sftp_fix(host) for host in sorted(set(_NO_SFTP.findall(output)))]
