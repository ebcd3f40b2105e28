"""The `xeonfleet` command: one click group; each sub-command lives in its own cli_*.py module.

Sub-commands are imported only when invoked: `xeonfleet facts` is timed against an SSH floor, and
importing the lab, bench and report modules it never uses would be pure start-up cost.

Every expected failure is a one-line `error: ...` from the command itself. Anything else (a bug) is
caught here too and shown as one line; `xeonfleet --debug ...` (or $XEONFLEET_DEBUG=1) shows its traceback.
"""

from __future__ import annotations

import sys
from importlib import import_module

import click

from xeonfleet import __version__

EXIT_PROBLEM = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C

# command name -> "module:attribute"
COMMANDS: dict[str, str] = {
    "audit": "xeonfleet.cli.audit:audit",
    "bench": "xeonfleet.cli.bench:bench",
    "facts": "xeonfleet.cli.facts:facts_command",
    "lab": "xeonfleet.cli.lab:lab",
    "recommend": "xeonfleet.cli.recommend:recommend_command",
    "report": "xeonfleet.cli.bench:report_command",
    "snapshot": "xeonfleet.cli.facts:snapshot_command",
    "sudoers": "xeonfleet.cli.sudoers:sudoers_command",
    "wheelhouse": "xeonfleet.cli.wheelhouse:wheelhouse",
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

    def invoke(self, ctx: click.Context) -> object:
        """Run the sub-command; an unexpected exception or Ctrl-C becomes one line, not a traceback."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            if ctx.params.get("debug"):
                raise
            click.echo("xeonfleet: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            first = (str(exc).strip().splitlines() or [""])[0]
            click.echo(f"xeonfleet: unexpected {type(exc).__name__}: {first} "
                       "(rerun with --debug for the traceback, and please report it)", err=True)
            sys.exit(EXIT_PROBLEM)


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="xeonfleet")
@click.option("--debug", is_flag=True, envvar="XEONFLEET_DEBUG",
              help="Show Python tracebacks of unexpected errors (they are one line otherwise).")
def main(debug: bool) -> None:
    """Provision, audit, tune and benchmark Intel Xeon fleets for AI."""
