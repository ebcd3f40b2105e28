"""The `xeonfleet` command: one click group; each sub-command lives in its own cli_*.py module.

Sub-commands are imported only when invoked: `xeonfleet facts` is timed against an SSH floor, and
importing the lab, bench and report modules it never uses would be pure start-up cost.
"""

from __future__ import annotations

from importlib import import_module

import click

from xeonfleet import __version__

# command name -> "module:attribute"
COMMANDS: dict[str, str] = {
    "audit": "xeonfleet.cli_audit:audit",
    "bench": "xeonfleet.cli_bench:bench",
    "facts": "xeonfleet.cli_facts:facts_command",
    "lab": "xeonfleet.cli_lab:lab",
    "report": "xeonfleet.cli_bench:report_command",
    "snapshot": "xeonfleet.cli_facts:snapshot_command",
    "wheelhouse": "xeonfleet.cli_wheelhouse:wheelhouse",
}


class LazyGroup(click.Group):
    """A click group that imports a sub-command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        return getattr(import_module(module), attribute)


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="xeonfleet")
def main() -> None:
    """Provision, audit, tune and benchmark Intel Xeon fleets for AI."""
