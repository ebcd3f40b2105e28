"""A TCP proxy to a lab host's sshd that cuts the connection after N bytes from the server: a host that
dies at a chosen point of an SSH session (during login, mid-probe, between two operations), every run
the same, which stopping the host at a moment in time cannot promise.

    python -m tests.cut_proxy TARGET_PORT CUT_AFTER_BYTES [TALLY_FILE]   # prints the port it listens on

TALLY_FILE, if given, gets one line per finished connection: the bytes the server sent (to size a cut).

Runs as its own process: the controller under test patches the stdlib for gevent, and threads started
before that in the same process break its locks.
"""

from __future__ import annotations

import socket
import sys
import threading


def _pump(source: socket.socket, sink: socket.socket, budget: int | None) -> int:
    sent = 0
    try:
        while budget is None or sent < budget:
            data = source.recv(4096 if budget is None else min(4096, budget - sent))  # exactly `budget` bytes
            if not data:
                break
            sink.sendall(data)
            sent += len(data)
    except OSError:
        pass
    for sock in (source, sink):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    return sent


def _serve(client: socket.socket, target_port: int, cut_after: int, tally: str | None) -> None:
    upstream = socket.create_connection(("127.0.0.1", target_port))
    threading.Thread(target=_pump, args=(client, upstream, None), daemon=True).start()
    sent = _pump(upstream, client, cut_after)
    if tally:
        with open(tally, "a") as out:
            out.write(f"{sent}\n")


def main(target_port: int, cut_after: int, tally: str | None = None) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(listener.getsockname()[1], flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_serve, args=(client, target_port, cut_after, tally), daemon=True).start()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:4])
