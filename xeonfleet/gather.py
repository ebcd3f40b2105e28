"""Controller side of `xeonfleet facts`: every host in parallel, one probe (one round trip) each.

pyinfra does the connecting (its inventory files, host data, paramiko connector); a host that
cannot be reached or probed is reported with a one-line reason and never stops the others.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xeonfleet.parsers.node import node_facts_from_lines
from xeonfleet.probe import run_probe_local

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
        with ctx_state.use(state):
            inventory = make_inventory(spec, cwd=cwd)
    except Exception as exc:  # an inventory file is user code: any error in it is reported, not raised
        raise GatherError(f"cannot load inventory {spec}: {_first_line(exc)}") from exc
    if len(inventory) == 0:
        raise GatherError(f"inventory {spec} has no hosts: add hosts to it (or run `xeonfleet lab up`)")
    return state, inventory


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _run_on_host(state: State, host: Host, fact: type[FactBase],
                 timeout: int) -> tuple[Any, str | None]:
    """Connect and run one fact (at most `timeout` seconds); (result, None) or (None, reason)."""
    from pyinfra.api.exceptions import ConnectError
    from pyinfra.api.facts import get_fact
    from pyinfra.context import ctx_host, ctx_state

    try:
        host.connect(show_errors=False, raise_exceptions=True)
    except ConnectError as exc:
        return None, f"unreachable: {_first_line(exc)}"
    state.activate_host(host)
    try:
        with ctx_state.use(state), ctx_host.use(host):
            result = get_fact(state, host, fact, kwargs={"_timeout": timeout}, apply_failed_hosts=False)
    except Exception as exc:  # a broken host must not stop the fleet
        return None, f"probe failed: {_first_line(exc)}"
    finally:
        host.disconnect()
    if result is None:
        return None, f"probe failed: no output within {timeout} s, or no POSIX sh on the host"
    return result, None


def gather_fact(spec: str, fact: type[FactBase], only: str | None = None,
                connect_timeout: int = 10, probe_timeout: int = 60,
                loaded: tuple[State, Inventory] | None = None) -> FleetGather:
    """Run one pyinfra fact on every host of an inventory (or just the host named `only`) at once.

    Not connect_all + get_facts: those wait for every connection before the first probe, drop
    the reason a host failed, and raise "No hosts remaining" when all fail. One greenlet per host
    (connect, probe, disconnect) keeps hosts independent and the reasons one line each.
    """
    import gevent
    from pyinfra.api import Config

    state, inventory = loaded or load_inventory(spec)
    hosts = [host for host in inventory if only is None or host.name == only]
    if not hosts:
        names = ", ".join(host.name for host in inventory)
        raise GatherError(f"host {only} is not in inventory {spec}: choose one of {names}")
    state.init(inventory, Config(PARALLEL=len(hosts), CONNECT_TIMEOUT=connect_timeout))
    greenlets = {state.pool.spawn(_run_on_host, state, host, fact, probe_timeout): host for host in hosts}
    gevent.joinall(list(greenlets))
    gathered = FleetGather()
    for greenlet, host in greenlets.items():
        result, reason = greenlet.get()
        if reason is None:
            gathered.results[host.name] = result
        else:
            gathered.unreachable[host.name] = reason
    return gathered


def gather_inventory(spec: str, connect_timeout: int = 10,
                     loaded: tuple[State, Inventory] | None = None) -> FleetGather:
    """NodeFacts of every host of an inventory, keyed by host name (`loaded`: load_inventory's result,
    when the caller already read the inventory)."""
    from facts.node import NodeFacts

    return gather_fact(spec, NodeFacts, connect_timeout=connect_timeout, loaded=loaded)


def gather_sysroot(root: str | Path) -> dict:
    """NodeFacts of an offline tree (DIR/proc, DIR/sys, ...): the same probe and parsers."""
    path = Path(root)
    if not path.is_dir():
        raise GatherError(
            f"sysroot {root} is not a directory: pass the root of an extracted snapshot (it holds proc/ and sys/)"
        )
    return node_facts_from_lines(run_probe_local(path))
