"""`xeonfleet sudoers`: the /etc/sudoers.d/ drop-in that lets a named login user do one role's root work."""

from __future__ import annotations

import getpass
import sys

import click

from xeonfleet import __version__
from xeonfleet.cli.output import EXIT_PROBLEM
from xeonfleet.connect.privilege import ROLES, dropin


@click.command("sudoers")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="audit: the probe's root-only reads; bench: the same (the benchmark needs no more); "
                   "tune: everything (pyinfra's --sudo runs `sh -c`).")
@click.option("--user", default=None,
              help="Login name (or %group) on the nodes; default: yours, as pyinfra's default SSH user.")
def sudoers_command(role: str, user: str | None) -> None:
    """Print the sudoers drop-in of ROLE for USER: a header saying what it grants and why, the exact
    commands as Cmnd_Alias lines, the NOPASSWD grant. Check it with `visudo -c -f FILE`, then install it
    as /etc/sudoers.d/xeonfleet-ROLE, mode 0440, on every node.

    Exit 2 when USER is not a name sudoers can take as is (or is root, which needs no grant).
    """
    try:
        text = dropin(role, user or getpass.getuser(), __version__)
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_PROBLEM)
    click.echo(text, nl=False)
