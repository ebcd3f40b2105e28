"""A pyinfra shell command whose lost SSH connection fails only its own host.

pyinfra 3.10 turns OSError/SSHException from a command into a host failure, but paramiko reports a
peer that died between commands as EOFError, which escapes and aborts the run for every host. Seen on
the lab when a host is stopped mid-run (tune and benchmark deploys); re-raised here as ConnectionError
(an OSError), so the dead host fails alone and the others carry on.
"""

from __future__ import annotations

from pyinfra.api import StringCommand


class HostCommand(StringCommand):
    """Use in place of a plain command string: `yield HostCommand("...")` or `server.shell(commands=[...])`."""

    def execute(self, state, host, connector_arguments):  # noqa: ANN001, ANN201  (pyinfra's signature)
        try:
            return super().execute(state, host, connector_arguments)
        except EOFError as exc:
            raise ConnectionError(f"SSH connection to {host.name} lost") from exc
