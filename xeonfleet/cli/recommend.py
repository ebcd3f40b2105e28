"""`xeonfleet recommend`: the shipped profile that fits each node, from its facts, with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import click

from xeonfleet.cli.facts import emit_and_exit, gather_facts, parallel_option
from xeonfleet.cli.output import output_options, resolve_format
from xeonfleet.cli.table import format_table

FORMATS = ("table", "json")


@click.command("recommend")
@click.argument("inventory", required=False)
@click.option("--sysroot", type=click.Path(file_okay=False), help="Read an offline tree (DIR/proc, DIR/sys) instead.")
@output_options(FORMATS, "table")
@click.option("--timeout", default=10, show_default=True, help="SSH connect timeout per host, seconds.")
@parallel_option
def recommend_command(inventory: str | None, sysroot: str | None, fmt: str | None, output: Path | None,
                      timeout: int, parallel: int | None) -> None:
    """Propose a profile per node of INVENTORY (or --sysroot DIR): inference-online, inference-offline or
    training, from cores, memory, NICs and virtualization; set it as host data xeonfleet_profile.

    Exit 0 when every host answered, 2 when any host was unreachable or the input was wrong.
    """
    from xeonfleet.tune.recommend import recommend

    fmt = resolve_format(fmt, output, FORMATS, "table")
    results, unreachable = gather_facts(inventory, sysroot, timeout, parallel)
    chosen = {host: recommend(facts) for host, facts in sorted(results.items())}
    if fmt == "json":
        text = json.dumps({h: {"profile": r.profile, "reason": r.reason} for h, r in chosen.items()}, indent=2)
    else:
        text = format_table(("host", "profile", "reason"), [(h, r.profile, r.reason) for h, r in chosen.items()],
                            to_stdout=output is None)
    emit_and_exit(text, output, fmt, unreachable)
