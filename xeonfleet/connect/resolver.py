"""Host addresses for the fleet gather: numeric ones answered in place, names through gevent's thread pool.

paramiko resolves every host's address with getaddrinfo before it connects. Under gevent that call goes to the
hub's resolver, by default a thread pool: each call hands the lookup to a native thread and wakes the hub when
it is done, the right thing for a name (a DNS answer may take seconds, and must not stall the other hosts) and
pure overhead for an inventory of IP addresses, which the C library parses without asking anyone. On a
200-host audit of addresses those hand-offs were a tenth of the controller's CPU; a numeric address is now
answered by the blocking resolver, which returns at once for it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def is_numeric_address(host: object) -> bool:
    """True for an IPv4 or IPv6 address written out ("10.0.0.7", "fe80::1"), False for a name or anything else."""
    if isinstance(host, bytes):
        host = host.decode("ascii", errors="replace")
    if not isinstance(host, str):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class NumericInPlaceResolver:
    """The hub's resolver, but for getaddrinfo of a numeric address, which the blocking resolver answers."""

    def __init__(self, threaded: Any, blocking: Any) -> None:
        self._threaded = threaded
        self._blocking = blocking

    def getaddrinfo(self, host: Any, *args: Any, **kwargs: Any) -> Any:
        resolver = self._blocking if is_numeric_address(host) else self._threaded
        return resolver.getaddrinfo(host, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # gethostbyname, close, ...: the hub's own resolver
        return getattr(self._threaded, name)


@contextmanager
def numeric_addresses_in_place() -> Iterator[None]:
    """While the block runs, the current gevent hub answers numeric addresses in place (see the module)."""
    import gevent
    from gevent.resolver.blocking import Resolver as BlockingResolver

    hub = gevent.get_hub()
    threaded = hub.resolver
    hub.resolver = NumericInPlaceResolver(threaded, BlockingResolver(hub))
    try:
        yield
    finally:
        hub.resolver = threaded
