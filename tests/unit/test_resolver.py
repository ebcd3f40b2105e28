"""The gather's resolver: numeric addresses answered in place, names (and everything else) by the hub's own."""

from __future__ import annotations

import socket

import pytest

from xeonfleet.connect.resolver import NumericInPlaceResolver, is_numeric_address, numeric_addresses_in_place


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.7", "::1", "fe80::1", b"192.168.1.20"])
def test_addresses_are_numeric(host: object) -> None:
    assert is_numeric_address(host)


@pytest.mark.parametrize("host", ["localhost", "node-01.prod", "10.0.0", "1.2.3.4.5", "", None, 22])
def test_names_and_others_are_not(host: object) -> None:
    assert not is_numeric_address(host)


class Recorder:
    def __init__(self, name: str) -> None:
        self.name, self.calls = name, []

    def getaddrinfo(self, host: object, *args: object) -> str:
        self.calls.append(host)
        return self.name

    def gethostbyname(self, host: str) -> str:
        return f"{self.name}:{host}"


def test_only_numeric_getaddrinfo_goes_to_the_blocking_resolver() -> None:
    threaded, blocking = Recorder("threaded"), Recorder("blocking")
    resolver = NumericInPlaceResolver(threaded, blocking)
    assert resolver.getaddrinfo("127.0.0.1", 22, 0, socket.SOCK_STREAM) == "blocking"
    assert resolver.getaddrinfo("node-01.prod", 22, 0, socket.SOCK_STREAM) == "threaded"
    assert resolver.gethostbyname("127.0.0.1") == "threaded:127.0.0.1"  # every other call: the hub's own
    assert (threaded.calls, blocking.calls) == (["node-01.prod"], ["127.0.0.1"])


def test_the_hubs_resolver_is_put_back_and_answers_the_same() -> None:
    gevent = pytest.importorskip("gevent")
    hub = gevent.get_hub()
    before = hub.resolver
    with numeric_addresses_in_place():
        assert isinstance(hub.resolver, NumericInPlaceResolver)
        answer = hub.resolver.getaddrinfo("127.0.0.1", 22, 0, socket.SOCK_STREAM)
    assert hub.resolver is before
    assert answer == socket.getaddrinfo("127.0.0.1", 22, 0, socket.SOCK_STREAM)
