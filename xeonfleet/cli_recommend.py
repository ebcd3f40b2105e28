"""`xeonfleet recommend`: the shipped profile that fits each node, from its facts, with the reason."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from xeonfleet.cli_facts import EXIT_PROBLEM, _fail, _quiet_pyinfra
from xeonfleet.cli_output import emit, output_options, resolve_format
from xeonfleet.cli_table import format_table

FORMATS = ("table", "json")


@click.command("recommend")
@click.argument("inventory", required=False)
@click.option("--sysroot", type=click.Path(file_okay=False), help="Read an offline tree (DIR/proc, DIR/sys) instead.")
@output_options(FORMATS, "table")
@click.option("--timeout", default=10, show_default=True, help="SSH connect timeout per host, seconds.")
def recommend_command(inventory: str | None, sysroot: str | None, fmt: str | None, output: Path | None,
                      timeout: int) -> None:
    """Propose a profile per node of INVENTORY (or --sysroot DIR): inference-online, inference-offline or
    training, from cores, memory, NICs and virtualization; set it as host data xeonfleet_profile.

    Exit 0 when every host answered, 2 when any host was unreachable or the input was wrong.
    """
    from xeonfleet.gather import GatherError, gather_inventory, gather_sysroot
    from xeonfleet.recommend import recommend

    if (inventory is None) == (sysroot is None):
        _fail("give either an INVENTORY (e.g. inventories/lab.py) or --sysroot DIR, not both or neither")
    fmt = resolve_format(fmt, output, FORMATS, "table")
    try:
        if sysroot is not None:
            results, unreachable = {sysroot: gather_sysroot(sysroot)}, {}
        else:
            _quiet_pyinfra()
            gathered = gather_inventory(inventory, connect_timeout=timeout)
            results, unreachable = gathered.results, gathered.unreachable
    except GatherError as exc:
        _fail(str(exc))
    chosen = {host: recommend(facts) for host, facts in sorted(results.items())}
    if fmt == "json":
        text = json.dumps({h: {"profile": r.profile, "reason": r.reason} for h, r in chosen.items()}, indent=2)
    else:
        text = format_table(("host", "profile", "reason"), [(h, r.profile, r.reason) for h, r in chosen.items()],
                            to_stdout=output is None)
    emit(text + "\n", output, fmt)
    for host, reason in sorted(unreachable.items()):
        click.echo(f"{host}: {reason}", err=True)
    if unreachable:
        sys.exit(EXIT_PROBLEM)
