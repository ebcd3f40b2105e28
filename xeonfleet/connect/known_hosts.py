"""known_hosts lookups by name, so a fleet's connections cost the same per host at 20 hosts or 2,000.

pyinfra loads known_hosts once into one paramiko HostKeys shared by every connection, and paramiko's
HostKeys.lookup compares the name with every entry of the file, three lookups per connection (the client's
two `get`s and the host key check). A fleet whose known_hosts lists all its N hosts then costs N² name
comparisons: 1.5 million, about 4 s of controller CPU, at 1,000 hosts and four times that at 2,000.

IndexedHostKeys answers the same lookups from a dict of the plain names, plus the hashed entries
(`|1|salt|hash` lines, which only a scan can test), in file order as paramiko returns them. It is what
`index_known_hosts` makes pyinfra's loader return, for the commands that probe whole fleets; loading the
file goes through the index too, since paramiko's load() checks every line against all the lines before it.
"""

from __future__ import annotations

from typing import Any

from paramiko.hostkeys import HostKeyEntry, HostKeys

HASHED = "|1|"


class IndexedHostKeys(HostKeys):
    """paramiko's HostKeys over the same entries, with `lookup` reading an index instead of every entry.

    Each lookup first indexes the entries appended since the last one (paramiko adds a new host's key by
    appending, and load() appends line by line); a list that changed any other way is indexed anew, so the
    index never answers from stale entries."""

    def __init__(self, entries: list[HostKeyEntry] | None = None) -> None:
        super().__init__()
        if entries is not None:
            self._entries = entries  # the caller's list, shared: an entry added through either shows in both
        self._by_name: dict[str, list[tuple[int, HostKeyEntry]]] = {}
        self._hashed: list[tuple[int, HostKeyEntry]] = []
        self._indexed = 0  # entries[:_indexed] are in the index
        self._last: HostKeyEntry | None = None  # entries[_indexed - 1] when it was indexed

    def _update_index(self) -> None:
        """Index the entries appended since the last lookup (paramiko appends, load() one line at a time);
        anything else (an entry removed) rebuilds it."""
        entries = self._entries
        if self._indexed > len(entries) or (self._indexed and entries[self._indexed - 1] is not self._last):
            self._by_name, self._hashed, self._indexed = {}, [], 0
        for position in range(self._indexed, len(entries)):
            names = entries[position].hostnames or []
            for name in set(names):
                self._by_name.setdefault(name, []).append((position, entries[position]))
            if any(name.startswith(HASHED) for name in names):
                self._hashed.append((position, entries[position]))
        self._indexed = len(entries)
        self._last = entries[-1] if entries else None

    def candidates(self, hostname: str) -> list[HostKeyEntry]:
        """The entries that may match `hostname`, in file order: the ones naming it, and the hashed ones."""
        self._update_index()
        found = dict(self._by_name.get(hostname, []))
        if not hostname.startswith(HASHED):
            found.update(self._hashed)
        return [found[position] for position in sorted(found)]

    def lookup(self, hostname: str) -> Any:
        """paramiko's lookup (the same matching, the same mapping back) over the candidates alone."""
        view = HostKeys()
        view._entries = self.candidates(hostname)
        found = HostKeys.lookup(view, hostname)
        if found is not None:
            found._hostkeys = self  # a key set through the mapping is added to the real entries
        return found


def index_known_hosts() -> None:
    """Make pyinfra's known_hosts loader (client.get_host_keys, memoized there too) hand every connection one
    IndexedHostKeys per list of files. Loading goes through the index as well: paramiko's load() checks each
    line against the entries before it, which is the same N² at start-up. Idempotent."""
    from pyinfra.connectors.sshuserclient import client

    if getattr(client.get_host_keys, "indexed", False):
        return
    loaded: dict[tuple[str, ...], IndexedHostKeys] = {}

    def get_host_keys(filenames: tuple[str, ...]) -> IndexedHostKeys:
        if filenames not in loaded:
            keys = IndexedHostKeys()
            for filename in filenames:
                try:
                    keys.load(filename)
                except Exception as exc:  # pyinfra's own loader warns and goes on the same way
                    client.logger.warning("Failed to load host keys from %s: %s", filename, exc)
            loaded[filenames] = keys
        return loaded[filenames]

    get_host_keys.indexed = True  # type: ignore[attr-defined]
    client.get_host_keys = get_host_keys
