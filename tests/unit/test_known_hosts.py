"""IndexedHostKeys answers every lookup as paramiko's HostKeys does, without reading every entry."""

from __future__ import annotations

from unittest import mock

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from paramiko import ECDSAKey
from paramiko.hostkeys import HostKeyEntry, HostKeys

from xeonfleet.connect.known_hosts import IndexedHostKeys, index_known_hosts


@pytest.fixture(scope="module")
def keys() -> dict[str, ECDSAKey]:
    return {"p256": ECDSAKey.generate(), "p384": ECDSAKey.generate(curve=ec.SECP384R1())}


def known_hosts(keys: dict[str, ECDSAKey], hosts: int = 50) -> HostKeys:
    """A known_hosts as fleets have them: one line per host, a host with two key types, two names on one
    line, and hashed lines (ssh-keygen -H) for some hosts, one of them also listed plain."""
    loaded = HostKeys()
    for n in range(hosts):
        loaded._entries.append(HostKeyEntry([f"[10.0.0.{n}]:22"], keys["p256"]))
    loaded._entries.append(HostKeyEntry(["[10.0.0.7]:22"], keys["p384"]))
    loaded._entries.append(HostKeyEntry(["alias-a", "alias-b"], keys["p384"]))
    for name in ("hashed-1", "[10.0.0.3]:22"):
        loaded._entries.append(HostKeyEntry([HostKeys.hash_host(name)], keys["p384"]))
    return loaded


def shown(found) -> list[tuple[str, bytes]] | None:
    return None if found is None else [(name, found[name].asbytes()) for name in found.keys()]


def test_every_lookup_matches_paramikos(keys) -> None:
    plain = known_hosts(keys)
    indexed = IndexedHostKeys(plain._entries)
    names = [f"[10.0.0.{n}]:22" for n in range(52)] + ["alias-a", "alias-b", "hashed-1", "nowhere",
                                                        plain._entries[-1].hostnames[0]]
    for name in names:
        assert shown(indexed.lookup(name)) == shown(plain.lookup(name)), name
        assert indexed.check(name, keys["p256"]) == plain.check(name, keys["p256"]), name
    assert [name for name, _ in shown(indexed.lookup("[10.0.0.3]:22"))] == ["ecdsa-sha2-nistp256",
                                                                              "ecdsa-sha2-nistp384"]


def test_a_lookup_tests_only_the_names_entries_and_the_hashed_ones(keys) -> None:
    indexed = IndexedHostKeys(known_hosts(keys, hosts=2000)._entries)
    indexed.lookup("[10.0.0.1]:22")  # builds the index once
    with mock.patch.object(HostKeys, "_hostname_matches", autospec=True,
                           side_effect=HostKeys._hostname_matches) as matches:
        assert indexed.lookup("[10.0.0.1999]:22") is not None
    assert matches.call_count == 1 + 2  # its own line and the two hashed lines, not 2,000 lines


def test_keys_added_later_are_found(keys) -> None:
    """paramiko adds a new host's key by appending (AutoAddPolicy) or through the mapping: both show."""
    plain = known_hosts(keys)
    indexed = IndexedHostKeys(plain._entries)
    assert indexed.lookup("new-host") is None
    indexed.add("new-host", "ecdsa-sha2-nistp256", keys["p256"])
    assert shown(indexed.lookup("new-host")) == [("ecdsa-sha2-nistp256", keys["p256"].asbytes())]
    indexed.lookup("new-host")["ecdsa-sha2-nistp384"] = keys["p384"]
    assert len(shown(indexed.lookup("new-host"))) == 2 and shown(plain.lookup("new-host")) == shown(
        indexed.lookup("new-host"))


def test_pyinfras_loader_hands_out_one_indexed_object_per_file_list(tmp_path, keys) -> None:
    """The file is loaded through the index too (paramiko's load() checks each line against all the earlier
    ones), with the same entries as paramiko's own load, a repeated line dropped as paramiko drops it."""
    from pyinfra.connectors.sshuserclient import client

    line = "[10.0.0.{n}]:22 " + f"{keys['p256'].get_name()} {keys['p256'].get_base64()}\n"
    path = tmp_path / "known_hosts"
    path.write_text("".join(line.format(n=n) for n in range(300)) + line.format(n=5))
    with mock.patch.object(client, "get_host_keys", client.get_host_keys):
        index_known_hosts()
        index_known_hosts()  # idempotent: one wrapper
        with mock.patch.object(HostKeys, "_hostname_matches", autospec=True,
                               side_effect=HostKeys._hostname_matches) as matches:
            first = client.get_host_keys((str(path),))
        assert matches.call_count <= 301  # one per line; paramiko's own load makes 45,000
        assert isinstance(first, IndexedHostKeys) and first is client.get_host_keys((str(path),))
        plain = HostKeys(str(path))
        assert [(e.hostnames, e.key.asbytes()) for e in first._entries] == [
            (e.hostnames, e.key.asbytes()) for e in plain._entries]
        assert len(first._entries) == 300 and first.lookup("[10.0.0.299]:22") is not None
