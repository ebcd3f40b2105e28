"""File transfers on hosts whose sshd has no SFTP subsystem (common on hardened hosts).

pyinfra uploads and fetches over SFTP unless host data says `ssh_file_transfer_protocol: scp`; without
the subsystem every `files.put`/`files.get` fails with a 40-line traceback. A deploy that moves files
calls `use_working_file_transfer()` first: it opens the SFTP channel once (pyinfra keeps it for the
transfers that follow) and, when the host refuses it, switches that host to scp with one line saying so.
"""

from __future__ import annotations

from pyinfra import logger
from pyinfra.api.exceptions import ConnectError
from pyinfra.context import ctx_host

PROTOCOL_KEY = "ssh_file_transfer_protocol"


def use_working_file_transfer() -> None:
    """While a deploy file loads for the current host: fall back from SFTP to scp when SFTP is refused."""
    host = ctx_host.get()
    connector = host.connector
    data = getattr(connector, "data", None)
    if not isinstance(data, dict) or data.get(PROTOCOL_KEY) != "sftp":
        return  # not an SSH host, or scp chosen in host data already
    try:
        connector.get_file_transfer_connection()
    except ConnectError:
        # pyinfra memoizes the channel; drop the failed attempt so the next transfer opens scp.
        connector.get_file_transfer_connection.cache.clear()
        data[PROTOCOL_KEY] = "scp"
        logger.warning(f"{host.print_prefix}no SFTP subsystem in this host's sshd: file transfers use scp "
                       f"(host data `{PROTOCOL_KEY}: scp` says so up front)")
