"""`xeonfleet facts` (fleet table or JSON) and `xeonfleet snapshot` (a host's tree as .tar.gz).

Heavy imports (pyinfra, gevent) happen inside the commands: `xeonfleet --help` stays instant and
the facts run pays only for what it uses.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path
from typing import NoReturn

import click

from xeonfleet.cli.output import emit, output_options, resolve_format
from xeonfleet.cli.table import format_table

EXIT_PROBLEM = 2
FORMATS = ("table", "json")
_MODEL_NOISE = re.compile(r"\((R|TM)\)|\bIntel\b|\bXeon\b|\bCPU\b|\bProcessor\b|@.*$", re.IGNORECASE)
TABLE_COLUMNS = ("host", "model", "microarch", "SxCxT", "numa", "memory", "governor", "turbo", "thp", "kernel")


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_PROBLEM)


def _quiet_pyinfra() -> None:
    """Failures are reported per host by us, in one line; pyinfra's own log would repeat them."""
    logging.getLogger("pyinfra").setLevel(logging.CRITICAL)


def emit_and_exit(text: str, output: Path | None, fmt: str, unreachable: dict[str, str]) -> None:
    """Write what was gathered, then each unreachable host's reason on stderr (exit 2 if any)."""
    emit(text + "\n", output, fmt)
    for host, reason in sorted(unreachable.items()):
        click.echo(f"{host}: {reason}", err=True)
    if unreachable:
        sys.exit(EXIT_PROBLEM)


# --parallel of facts, recommend and audit: how many hosts are probed at once (xeonfleet/connect/gather.py).
parallel_option = click.option(
    "--parallel", type=click.IntRange(min=1), default=None,
    help="Hosts probed at once (default: pyinfra's, 20 per controller CPU within the open-files limit).")


def gather_facts(inventory: str | None, sysroot: str | None, timeout: int,
                 parallel: int | None = None) -> tuple[dict, dict]:
    """(facts by host, unreachable by host) from an inventory or one sysroot: what facts and recommend read.
    Wrong input is one error line and exit 2."""
    if inventory is not None:
        from xeonfleet.connect.gevent_patch import patch_for_pyinfra

        patch_for_pyinfra()
    from xeonfleet.connect.gather import GatherError, gather_inventory, gather_sysroot

    if (inventory is None) == (sysroot is None):
        _fail("give either an INVENTORY (e.g. inventories/lab.py) or --sysroot DIR, not both or neither")
    try:
        if sysroot is not None:
            return {sysroot: gather_sysroot(sysroot)}, {}
        _quiet_pyinfra()
        gathered = gather_inventory(inventory, connect_timeout=timeout, parallel=parallel)
        return gathered.results, gathered.unreachable
    except GatherError as exc:
        _fail(str(exc))


def _show(value: object) -> str:
    if value is None:
        return "?"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def short_model(model_name: str | None) -> str:
    """"Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz" -> "Platinum 8380"."""
    if not model_name:
        return "?"
    return " ".join(_MODEL_NOISE.sub(" ", model_name).split()) or model_name


def summary_row(host: str, facts: dict) -> list[str]:
    """One fleet-table row: the hardware and tuning state at a glance."""
    cpu, numa, mem, power, os_ = facts["cpu"], facts["numa"], facts["memory"], facts["power"], facts["os"]
    shape = f"{_show(cpu['sockets'])}x{_show(cpu['cores_per_socket'])}x{_show(cpu['threads_per_core'])}"
    numa_text = f"{numa['node_count']}" + (" SNC" if numa["snc_enabled"] else "") + (
        f" NPS{numa['nps']}" if numa["nps"] else "")
    gib = f"{mem['total_bytes'] / 1024**3:.0f}G" if mem["total_bytes"] else "?"
    if mem["slots"] is not None:
        channels = "+".join(str(n) for n in mem["populated_channels"].values()) or "?"
        gib += f" {mem['populated']}/{mem['slots']} dimms ch {channels}/{_show(mem['channels_per_socket'])}"
    return [host, short_model(cpu["model_name"]), _show(cpu["microarch"]), shape, numa_text, gib,
            _show(power["governor"]), _show(power["turbo_enabled"]), _show(os_["thp"]), _show(os_["kernel"])]


def _print_schema(ctx: click.Context, _param: click.Parameter, wanted: bool) -> None:
    """--schema: print the NodeFacts JSON schema (xeonfleet/parsers/contract.py) and exit, before any inventory."""
    if wanted:
        from xeonfleet.parsers.contract import facts_json_schema

        click.echo(json.dumps(facts_json_schema(), indent=2))
        ctx.exit(0)


@click.command("facts")
@click.argument("inventory", required=False)
@click.option("--schema", is_flag=True, is_eager=True, expose_value=False, callback=_print_schema,
              help="Print the JSON schema of one node's facts (docs/facts.md) and exit.")
@click.option("--sysroot", type=click.Path(file_okay=False), help="Read an offline tree (DIR/proc, DIR/sys) instead.")
@output_options(FORMATS, "table")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--timeout", default=10, show_default=True, help="SSH connect timeout per host, seconds.")
@parallel_option
def facts_command(inventory: str | None, sysroot: str | None, fmt: str | None, output: Path | None, as_json: bool,
                  timeout: int, parallel: int | None) -> None:
    """Gather node facts from every host of INVENTORY (or from --sysroot DIR).

    Exit 0 when every host answered, 2 when any host was unreachable or the input was wrong.
    """
    fmt = "json" if as_json else resolve_format(fmt, output, FORMATS, "table")
    results, unreachable = gather_facts(inventory, sysroot, timeout, parallel)
    if fmt == "json":
        # A sysroot is one node: its facts as they are; an inventory: keyed by host.
        shown = results[sysroot] if sysroot is not None else dict(sorted(results.items()))
        text = json.dumps(shown, indent=2)
    else:
        text = format_table(TABLE_COLUMNS, [summary_row(h, f) for h, f in sorted(results.items())],
                            to_stdout=output is None)
    emit_and_exit(text, output, fmt, unreachable)


@click.command("snapshot")
@click.argument("host")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
              help="The .tar.gz to write (extract it and run `xeonfleet facts --sysroot DIR`).")
@click.option("-i", "--inventory", help="Inventory file HOST is a name in (else HOST is a pyinfra host spec).")
@click.option("--timeout", default=10, show_default=True, help="SSH connect timeout, seconds.")
def snapshot_command(host: str, output: str, inventory: str | None, timeout: int) -> None:
    """Capture the files the facts probe reads from HOST into a sysroot tarball."""
    from xeonfleet.connect.gevent_patch import patch_for_pyinfra

    patch_for_pyinfra()
    from xeonfleet.facts.probe import ProbeLines
    from xeonfleet.connect.gather import GatherError, gather_fact
    from xeonfleet.connect.snapshot import snapshot_from_lines

    _quiet_pyinfra()
    try:
        if inventory is None:
            gathered = gather_fact(host, ProbeLines, connect_timeout=timeout)
        else:
            gathered = gather_fact(inventory, ProbeLines, only=host, connect_timeout=timeout)
    except GatherError as exc:
        _fail(str(exc))
    for name, reason in gathered.unreachable.items():
        _fail(f"{name}: {reason}")
    for name, lines in gathered.results.items():
        count = snapshot_from_lines(lines, Path(output))
        click.echo(f"{name}: {count} files -> {output}")
