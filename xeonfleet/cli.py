"""The `xeonfleet` command: one click group; each sub-command lives in its own cli_*.py module."""

import click

from xeonfleet import __version__


@click.group()
@click.version_option(__version__, prog_name="xeonfleet")
def main() -> None:
    """Provision, audit, tune and benchmark Intel Xeon fleets for AI."""


# Sub-command modules register themselves here, one line each.
from xeonfleet.cli_lab import lab  # noqa: E402

main.add_command(lab)
from xeonfleet.cli_wheelhouse import wheelhouse  # noqa: E402

main.add_command(wheelhouse)
from xeonfleet.cli_facts import facts_command, snapshot_command  # noqa: E402

main.add_command(facts_command)
main.add_command(snapshot_command)
from xeonfleet.cli_audit import audit  # noqa: E402

main.add_command(audit)
from xeonfleet.cli_bench import bench, report_command  # noqa: E402

main.add_command(bench)
main.add_command(report_command)
