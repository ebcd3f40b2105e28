"""`xeonfleet lab ...`: boot, inspect and tear down the local lab fleet (see xeonfleet/lab/fleet.py)."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click

from xeonfleet.cli.table import format_table
from xeonfleet.lab.errors import LabError
from xeonfleet.lab.fleet import DEFAULT_HARDWARE, Lab, default_lab_dir
from xeonfleet.lab.hosts import HostStatus
from xeonfleet.lab.ports import DEFAULT_PORT_BASE

EXIT_UNAVAILABLE = 2


def _lab_dir_option(func: Callable) -> Callable:
    return click.option(
        "--lab-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="XEONFLEET_LAB_DIR",
        default=None,
        help="Lab state directory (default: <repo>/.lab, or $XEONFLEET_LAB_DIR).",
    )(func)


def _fail(exc: LabError) -> None:
    click.echo(f"xeonfleet lab: {exc}", err=True)
    sys.exit(EXIT_UNAVAILABLE)


def _print_table(statuses: list[HostStatus]) -> None:
    rows = [(s.host.name, s.host.hardware, s.host.address, s.state) for s in statuses]
    click.echo(format_table(("NAME", "HARDWARE", "ADDRESS", "STATE"), rows, to_stdout=True))
    for status in statuses:
        if status.error:
            click.echo(f"{status.host.name}: {status.error} (log: {status.host.log_path})", err=True)


@click.group()
def lab() -> None:
    """The lab fleet: namespaced sshd hosts on this machine that look like Xeon servers."""


@lab.command()
@click.option("--hosts", "count", type=int, required=True, help="Number of hosts the lab should have.")
@click.option(
    "--hardware",
    multiple=True,
    help=f"Hardware profile (a name in hardware/ or a .yaml path), repeatable; cycled over the hosts "
         f"(default: {' '.join(DEFAULT_HARDWARE)}).",
)
@click.option("--port-base", type=int, default=None, help=f"Port of the first host (default {DEFAULT_PORT_BASE}).")
@click.option("--prefix", default=None, help="Host name prefix (default: lab, giving lab-01, lab-02, ...).")
@click.option("--login", default=None,
              help="Log in as this user (made on every host, no sudo rights) and make sshd refuse root "
                   "(default: root).")
@click.option("--sudoers", "roles", multiple=True,
              help="With --login: install this role's `xeonfleet sudoers` drop-in for that user on every host "
                   "(audit, bench, tune), repeatable.")
@_lab_dir_option
def up(
    count: int, hardware: tuple[str, ...], port_base: int | None, prefix: str | None, login: str | None,
    roles: tuple[str, ...], lab_dir: Path | None,
) -> None:
    """Boot the lab to COUNT hosts (running hosts are kept) and print where they listen."""
    start = time.monotonic()
    fleet = Lab(lab_dir)
    try:
        statuses = fleet.up(count, list(hardware) or None, port_base, prefix, login=login, sudoers=list(roles) or None)
    except LabError as exc:
        _fail(exc)
    _print_table(statuses)
    ready = sum(status.answering for status in statuses)
    # The inventory finds this lab only through the same lab dir, so say how when it is not the default.
    env = ""
    if fleet.lab_dir != default_lab_dir().resolve():
        env = f"XEONFLEET_LAB_DIR={shlex.quote(str(fleet.lab_dir))} "
    click.echo(f"{ready}/{len(statuses)} hosts up in {time.monotonic() - start:.1f} s; "
               f"try: {env}pyinfra inventories/lab.py exec -- hostname", err=True)
    if ready < len(statuses):
        sys.exit(1)


@lab.command()
@_lab_dir_option
def status(lab_dir: Path | None) -> None:
    """Show each host: up (namespace alive and sshd answering) or down."""
    try:
        statuses = Lab(lab_dir).status()
    except LabError as exc:
        _fail(exc)
    if not statuses:
        click.echo("no lab running: run `xeonfleet lab up --hosts N`")
        return
    _print_table(statuses)


@lab.command()
@_lab_dir_option
def down(lab_dir: Path | None) -> None:
    """Kill every host and remove the lab state (safe to repeat)."""
    try:
        killed = Lab(lab_dir).down()
    except LabError as exc:
        _fail(exc)
    click.echo(f"lab down: {killed} hosts stopped, state removed")


@lab.command()
@click.argument("name")
@_lab_dir_option
def stop(name: str, lab_dir: Path | None) -> None:
    """Kill host NAME as if it died; its writable state is kept for `start`."""
    try:
        Lab(lab_dir).stop(name)
    except LabError as exc:
        _fail(exc)
    click.echo(f"{name} stopped")


@lab.command()
@click.argument("name")
@_lab_dir_option
def start(name: str, lab_dir: Path | None) -> None:
    """Boot host NAME again with the writable state it had."""
    try:
        host_status = Lab(lab_dir).start(name)
    except LabError as exc:
        _fail(exc)
    _print_table([host_status])
    if not host_status.answering:
        sys.exit(1)
