"""Failing one host of a pyinfra run, never the whole run, and never with a traceback.

`HostCommand`: pyinfra 3.10 turns OSError/SSHException from a command into a host failure, but paramiko
reports a peer that died between commands as EOFError, which escapes and aborts the run for every host.
Seen on the lab when a host is stopped mid-run (tune and benchmark deploys); re-raised here as
ConnectionError (an OSError), so the dead host fails alone and the others carry on.

`fail_host`: a deploy file that finds a host's data unusable (no spec, a bad profile) prints one line for
that host and drops it from the run; raising instead would print a traceback and stop every host.
"""

from __future__ import annotations

from pyinfra import logger
from pyinfra.api import StringCommand
from pyinfra.context import ctx_host


class HostCommand(StringCommand):
    """Use in place of a plain command string: `yield HostCommand("...")` or `server.shell(commands=[...])`."""

    def execute(self, state, host, connector_arguments):  # noqa: ANN001, ANN201  (pyinfra's signature)
        try:
            return super().execute(state, host, connector_arguments)
        except EOFError as exc:
            raise ConnectionError(f"SSH connection to {host.name} lost") from exc


def fail_host(message: str) -> None:
    """While a deploy file loads for the current host: log `[host] error: message` and fail that host.

    pyinfra then runs the others; when no host is left it ends with its own "No hosts remaining!".
    """
    host = ctx_host.get()  # the Host itself: fail_hosts compares hosts, not pyinfra's context proxy
    logger.error(f"{host.print_prefix}error: {message}")
    host.state.fail_hosts({host})
