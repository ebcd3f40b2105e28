"""Controller side of `xeonfleet facts`: every host in parallel, one probe (one round trip) each.

pyinfra does the connecting (its inventory files, host data, paramiko connector); a host that
cannot be reached or probed is reported with a one-line reason and never stops the others.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xeonfleet.parsers.node import node_facts_from_lines
from xeonfleet.facts.probe import as_login_user, run_probe_local
from xeonfleet.connect.known_hosts import index_known_hosts
from xeonfleet.connect.progress import fleet_progress
from xeonfleet.connect.resolver import numeric_addresses_in_place
from xeonfleet.connect.sudo_access import sudo_password

if TYPE_CHECKING:
    from pyinfra.api import FactBase, Host, Inventory, State


class GatherError(Exception):
    """A usage problem (no such inventory, no hosts, no sysroot): one line, exit 2."""


@dataclass
class FleetGather:
    """What one gather saw: {host: result} and {host: one-line reason} for the failed ones."""

    results: dict[str, Any] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)


def load_inventory(spec: str) -> tuple[State, Inventory]:
    """An inventory file (inventories/lab.py), a host list "a,b", or a connector ("@local").

    Loaded the way the pyinfra CLI does (an empty State in context, cwd on sys.path), so any
    inventory that works with `pyinfra INVENTORY ...` works here; the caller then inits the State.
    """
    # Importing pyinfra_cli monkey-patches the stdlib for gevent (hosts then connect in
    # parallel); it must come before pyinfra.api pulls in paramiko and its threads.
    from pyinfra_cli.inventory import make_inventory  # isort: skip

    from pyinfra.api import State
    from pyinfra.context import ctx_state

    if spec.endswith(".py") and not Path(spec).is_file():
        raise GatherError(f"inventory file {spec} not found: pass an existing pyinfra inventory file")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.append(cwd)
    state = State()
    state.cwd = cwd
    try:
        with ctx_state.use(state), _groups_as_written() as groups:
            inventory = make_inventory(spec, cwd=cwd)
    except Exception as exc:  # an inventory file is user code: any error in it is reported, not raised
        raise GatherError(f"cannot load inventory {spec}: {describe_user_error(exc, spec)}") from exc
    if len(inventory) == 0:
        raise GatherError(f"inventory {spec} has no hosts: add hosts to it (or run `xeonfleet lab up`)")
    for line in duplicate_hosts(groups):
        print(f"warning: inventory {spec}: {line}", file=sys.stderr)
    return state, inventory


@contextmanager
def _groups_as_written() -> Iterator[dict[str, Any]]:
    """The inventory file's groups as its module defined them, each entry with its own host data.

    pyinfra merges a host's entries into one host (a later entry's data wins key by key) and keeps no
    trace of them; its reader is wrapped while make_inventory runs so the user's file still runs once.
    """
    import pyinfra_cli.inventory as cli_inventory

    read = cli_inventory._get_groups_from_filename
    groups: dict[str, Any] = {}

    def capture(filename: str) -> dict[str, Any]:
        found = read(filename)
        groups.update(found)
        return found

    cli_inventory._get_groups_from_filename = capture
    try:
        yield groups
    finally:
        cli_inventory._get_groups_from_filename = read


def _entries(groups: dict[str, Any]) -> Iterator[tuple[str, int, str, dict]]:
    """(group, 1-based position, host, its data) in the order pyinfra merges them: `all` comes last."""
    for group in sorted(groups, key=lambda name: name == "all"):
        value = groups[group]
        for position, entry in enumerate(value[0] if isinstance(value, tuple) else value, 1):
            if isinstance(entry, tuple):
                yield group, position, entry[0], entry[1] if len(entry) > 1 and isinstance(entry[1], dict) else {}
            else:
                yield group, position, entry, {}


def duplicate_hosts(groups: dict[str, Any]) -> list[str]:
    """One line per host listed twice in a group, or in two groups with different values for a key (the
    later entry silently overrides the earlier one's). A host in several groups with the same data is how
    pyinfra gives it several roles (inventories/lab.py does), so that is no warning. Keys are named, never
    their values: host data holds passwords."""
    positions: dict[str, dict[str, int]] = {}  # host -> {group: its first position there}
    merged: dict[str, dict[str, tuple[Any, str]]] = {}  # host -> {key: (value, where it was set)}
    lines: dict[str, str] = {}
    for group, position, host, data in _entries(groups):
        where = f"{group} entry {position}"
        seen, values = positions.setdefault(host, {}), merged.setdefault(host, {})
        overridden = sorted(key for key, value in data.items() if key in values and values[key][0] != value)
        if host not in lines and overridden:
            lines[host] = (f"host {host} is listed twice ({values[overridden[0]][1]}, {where}): "
                           f"the later entry overrides {', '.join(overridden)}")
        elif host not in lines and group in seen:
            lines[host] = (f"host {host} is listed twice ({group} entries {seen[group]} and {position}): "
                           f"it is one host, with both entries' data merged")
        seen.setdefault(group, position)
        values.update({key: (value, where) for key, value in data.items()})
    return list(lines.values())


def _first_line(exc: BaseException) -> str:
    try:
        text = str(exc).strip()
    except Exception:  # some wrappers (pyinfra's UnexpectedExternalError) cannot str() themselves
        text = ""
    return (text or type(exc).__name__).splitlines()[0]


def describe_user_error(exc: BaseException, filename: str) -> str:
    """"NameError: name 'x' is not defined (line 3)" for an exception raised by user code in `filename`.

    pyinfra wraps what an inventory or deploy file raised in UnexpectedExternalError (whose str()
    itself fails); the original exception and the line in the user's file are what they need.
    """
    original = getattr(exc, "exception", None)
    if isinstance(original, BaseException):
        exc = original
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} (line {exc.lineno})"
    if type(exc).__module__.startswith("pyinfra"):  # a deliberate message (InventoryError ...): as it is
        return _first_line(exc)
    line = None
    wanted = os.path.realpath(filename)
    frame = exc.__traceback__
    while frame is not None:
        if os.path.realpath(frame.tb_frame.f_code.co_filename) == wanted:
            line = frame.tb_lineno
        frame = frame.tb_next
    where = f" (line {line})" if line else ""
    return f"{type(exc).__name__}: {_first_line(exc)}{where}"


class _TransportLog:
    """paramiko's transport log, swallowed while hosts are gathered, but for the first line each server sent
    that was not an SSH version string.

    A port that speaks another protocol (an HTTP server where sshd was expected) makes paramiko's transport
    thread log "Exception (client): Error reading SSH protocol banner" and a 40-line traceback, and
    start_client raise that message alone: what the server did say is only in the thread's DEBUG message
    "Banner: LINE". Every failure becomes its host's one-line reason, so no transport message is printed.
    The logger's `log` is replaced for the run rather than filtered: a filter needs the logger at DEBUG, and then
    each of the dozens of DEBUG lines paramiko logs per connection builds a LogRecord (8 % of a 200-host audit's
    controller CPU).
    """

    _PREFIX = "Banner: "

    def __init__(self) -> None:
        self._first_lines: weakref.WeakKeyDictionary[threading.Thread, str] = weakref.WeakKeyDictionary()

    def log(self, level: int, msg: object, *args: object, **kwargs: object) -> None:
        """Logger.log's signature (paramiko's transport, packetizer and channels call it): keeps a banner line."""
        if isinstance(msg, str) and msg.startswith(self._PREFIX) and msg[len(self._PREFIX):].strip():
            # logged from the transport's own thread (paramiko's Transport is a Thread)
            self._first_lines.setdefault(threading.current_thread(), msg[len(self._PREFIX):])

    def not_ssh(self, host: Host) -> str | None:
        """The first line `host`'s server answered when it never sent an SSH version string, else None."""
        client = getattr(host.connector, "client", None)
        transport = client.get_transport() if client is not None else None
        if transport is None or transport.remote_version:
            return None
        return self._first_lines.get(transport)


@contextmanager
def _transport_log() -> Iterator[_TransportLog]:
    logger, capture = logging.getLogger("paramiko.transport"), _TransportLog()
    logger.log = capture.log  # type: ignore[method-assign]  # this logger instance only, for the run
    try:
        yield capture
    finally:
        del logger.log  # the class's method again


def not_ssh_reason(first_line: str) -> str:
    """"not an SSH server (it answered "HTTP/1.0 404 Not Found")": the line as sent, printable and short."""
    shown = "".join(c if c.isprintable() else "?" for c in first_line.strip())
    return f'not an SSH server (it answered "{shown[:80]}{"..." if len(shown) > 80 else ""}")'


def _run_on_host(state: State, host: Host, fact: type[FactBase], timeout: int,
                 transport_log: _TransportLog) -> tuple[Any, str | None]:
    """Connect and run one probe fact (at most `timeout` seconds) as the login user, whatever the host data's
    `_sudo` (the probe escalates its own root-only reads); (result, None) or (None, reason)."""
    from pyinfra.api.exceptions import ConnectError
    from pyinfra.api.facts import get_fact
    from pyinfra.context import ctx_host, ctx_state

    try:
        host.connect(show_errors=False, raise_exceptions=True)
    except ConnectError as exc:
        answered = transport_log.not_ssh(host)
        return None, f"unreachable: {not_ssh_reason(answered) if answered is not None else connect_reason(exc)}"
    state.activate_host(host)
    try:
        with ctx_state.use(state), ctx_host.use(host):
            kwargs = {"_timeout": timeout, **as_login_user(sudo_password(state, host))}
            result = get_fact(state, host, fact, kwargs=kwargs, apply_failed_hosts=False)
        lost = result is None and _session_lost(host)
    except (EOFError, OSError) as exc:  # the host died or dropped the session while probing
        return None, f"probe failed: connection lost ({_first_line(exc)})"
    except Exception as exc:  # a broken host must not stop the fleet
        return None, f"probe failed: {_first_line(exc)}"
    finally:
        host.disconnect()
    if result is None:
        if lost:
            return None, "probe failed: connection lost (the host closed the SSH session: it stopped or rebooted?)"
        return None, f"probe failed: no output within {timeout} s, or no POSIX sh on the host"
    return result, None


def _session_lost(host: Host) -> bool:
    """True when an SSH host's transport died (pyinfra logs that and returns no fact, like a timeout)."""
    client = getattr(host.connector, "client", None)
    transport = client.get_transport() if client is not None else None
    return client is not None and (transport is None or not transport.is_active())


# What paramiko says when the peer went away, whatever step it was in (pyinfra reports a peer that
# died during login as an "Authentication error", which sends users after their keys).
_LOST = ("transport shut down or saw eof", "error reading ssh protocol banner", "connection reset",
         "eof error", "broken pipe", "no existing session")
_REFUSED = "connection refused (no sshd listening on that address and port: host down?)"


def connect_reason(exc: BaseException) -> str:
    """Why a connection failed, in the user's terms: refused, timed out, lost, or a real login failure."""
    import errno
    import socket

    from paramiko.ssh_exception import AuthenticationException, NoValidConnectionsError

    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, NoValidConnectionsError):
        codes = {getattr(error, "errno", None) for error in cause.errors.values()}
        if codes == {errno.ECONNREFUSED}:
            return _REFUSED
        cause = next(iter(cause.errors.values()), cause)
    if isinstance(cause, (socket.timeout, TimeoutError)):
        return f"connection timed out ({_first_line(exc)})"
    if isinstance(cause, ConnectionRefusedError):
        return _REFUSED
    detail = " ".join(_first_line(e).lower() for e in (exc, cause) if e is not None)
    if isinstance(cause, (EOFError, ConnectionResetError, BrokenPipeError)) or any(w in detail for w in _LOST):
        return "connection lost (the host closed the connection during SSH login: it stopped or rebooted?)"
    if isinstance(cause, AuthenticationException):
        return f"login refused: {_first_line(exc)}"
    return _first_line(exc)


def gather_fact(spec: str, fact: type[FactBase], only: str | None = None,
                connect_timeout: int = 10, probe_timeout: int = 60,
                loaded: tuple[State, Inventory] | None = None, parallel: int | None = None) -> FleetGather:
    """Run one pyinfra fact on every host of an inventory (or just the host named `only`), `parallel` hosts
    at a time (default: pyinfra's own, 20 per controller CPU within the open-files limit).

    Not connect_all + get_facts: those wait for every connection before the first probe, drop
    the reason a host failed, and raise "No hosts remaining" when all fail. One greenlet per host
    (connect, probe, disconnect) keeps hosts independent and the reasons one line each. The bound keeps the
    open connections within the open-files limit (pyinfra's default counts it), and every open paramiko
    transport polls ten times a second while it waits: a 984-host audit all at once took the same CPU and
    78 s against 66 s with the default bound.
    """
    import gevent
    from gevent.lock import BoundedSemaphore
    from pyinfra.api import Config

    state, inventory = loaded or load_inventory(spec)
    hosts = [host for host in inventory if only is None or host.name == only]
    if not hosts:
        names = ", ".join(host.name for host in inventory)
        raise GatherError(f"host {only} is not in inventory {spec}: choose one of {names}")
    index_known_hosts()
    state.init(inventory, Config(PARALLEL=parallel or 0, CONNECT_TIMEOUT=connect_timeout))
    # What is loaded by now (modules, the inventory) lives as long as the run: out of the collector's sight,
    # so each full collection scans only what the hosts' results add (CPython's advice for gc.freeze). And
    # young collections every 20,000 allocations rather than 700: a 2,000-host audit spent 9.8 of its 61 s
    # of CPU in the collector, 1.0 s with this.
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    slots = BoundedSemaphore(state.config.PARALLEL)
    with _transport_log() as transport_log, numeric_addresses_in_place():

        def one_host(host: Host) -> tuple[Any, str | None]:
            with slots:
                return _run_on_host(state, host, fact, probe_timeout, transport_log)

        greenlets = {gevent.spawn(one_host, host): host for host in hosts}
        _join(greenlets)
    gathered = FleetGather()
    for greenlet, host in greenlets.items():
        result, reason = greenlet.get()
        if reason is None:
            gathered.results[host.name] = result
        else:
            gathered.unreachable[host.name] = reason
    return gathered


def _join(greenlets: dict[Any, Host]) -> None:
    """Wait for every host, with a progress bar; Ctrl-C stops them all and raises KeyboardInterrupt once."""
    import gevent

    interrupted: list[bool] = []

    def interrupt() -> None:
        # Ctrl-C: stop every host quietly (a KeyboardInterrupt inside a greenlet makes gevent print a
        # traceback per host), then raise it once here, before anything is stored.
        interrupted.append(True)
        # paramiko's transport threads log the sockets closed under them; that is us, not news.
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)
        gevent.killall(list(greenlets), block=False)

    handler = gevent.signal_handler(signal.SIGINT, interrupt)
    try:
        with fleet_progress(f"probing {len(greenlets)} host(s)", total=len(greenlets)) as advance:
            for greenlet in greenlets:
                greenlet.link(lambda _done: advance())
            gevent.joinall(list(greenlets))
    finally:
        handler.cancel()
    if interrupted:
        raise KeyboardInterrupt


def gather_inventory(spec: str, connect_timeout: int = 10, loaded: tuple[State, Inventory] | None = None,
                     parallel: int | None = None) -> FleetGather:
    """NodeFacts of every host of an inventory, keyed by host name (`loaded`: load_inventory's result,
    when the caller already read the inventory)."""
    from xeonfleet.facts.node import NodeFacts

    return gather_fact(spec, NodeFacts, connect_timeout=connect_timeout, loaded=loaded, parallel=parallel)


def gather_sysroot(root: str | Path) -> dict:
    """NodeFacts of an offline tree (DIR/proc, DIR/sys, ...): the same probe and parsers."""
    path = Path(root)
    if not path.is_dir():
        raise GatherError(
            f"sysroot {root} is not a directory: pass the root of an extracted snapshot (it holds proc/ and sys/)"
        )
    if not (path / "proc" / "cpuinfo").is_file():
        # An empty or wrong folder (the snapshot's etc/) would give a row of unknowns and a bogus audit.
        raise GatherError(f"{root} has no proc/cpuinfo: pass the root of a snapshot (it holds proc/ and sys/)")
    return node_facts_from_lines(run_probe_local(path))
