"""The loopback ports lab hosts listen on: which are free, and which answer with an SSH banner.

Every lab host is a real sshd on its own port of ADDRESS. Before a boot the lab checks the ports are
free (and suggests a free base when not); during a boot and for `lab status` it probes many ports at
once for the banner, which says a host's sshd is up without opening a session on it.
"""

from __future__ import annotations

import selectors
import socket
import time

from xeonfleet.lab.errors import LabError

ADDRESS = "127.0.0.1"
DEFAULT_PORT_BASE = 22200
PROBE_BATCH = 256


def port_is_free(port: int) -> bool:
    """True when nothing listens on ADDRESS:port (SO_REUSEADDR, as sshd binds, ignores TIME_WAIT)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ADDRESS, port))
        except OSError:
            return False
    return True


def find_free_port_base(count: int, start: int = DEFAULT_PORT_BASE) -> int:
    """The first base >= start with `count` consecutive free ports (for tests and error hints)."""
    base = start
    while base + count <= 65536:
        taken = next((port for port in range(base, base + count) if not port_is_free(port)), None)
        if taken is None:
            return base
        base = taken + 1
    raise LabError(f"no {count} consecutive free ports above {start} on {ADDRESS}")


def answering_ports(ports: list[int], timeout: float = 5.0) -> set[int]:
    """The ports among `ports` on ADDRESS that accept a connection and send an SSH banner.

    A refused connection returns at once; an accepted one waits for the banner, which sshd sends
    only after re-executing itself for the connection: tens of ms each on a loaded 2-core VM,
    seconds at a load of 50. So the ports are probed together, PROBE_BATCH sockets at a time
    (under the usual 1,024 open files), each batch waiting at most `timeout`."""
    answering: set[int] = set()
    for start in range(0, len(ports), PROBE_BATCH):
        answering |= _probe_batch(ports[start:start + PROBE_BATCH], timeout)
    return answering


def _probe_batch(ports: list[int], timeout: float) -> set[int]:
    answering = set()
    with selectors.DefaultSelector() as selector:
        for port in ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex((ADDRESS, port))
            selector.register(sock, selectors.EVENT_READ, port)
        deadline = time.monotonic() + timeout
        while selector.get_map() and (left := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(left):
                sock = key.fileobj
                try:
                    # Read the whole banner line: closing with unread data would reset the
                    # connection and make sshd log an error per probe.
                    if sock.recv(256).startswith(b"SSH-"):
                        answering.add(key.data)
                except OSError:
                    pass  # refused: nothing listens there (yet)
                selector.unregister(sock)
                sock.close()
        for key in list(selector.get_map().values()):
            key.fileobj.close()
    return answering
