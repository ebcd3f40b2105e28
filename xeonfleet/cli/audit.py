"""`xeonfleet audit`: judge every node of an inventory (or an offline sysroot) against its profile.

Exit codes: 0 every rule passed; 1 any rule failed; 2 a usage error (bad profile, unknown profile,
missing or empty inventory) or a host that could not be audited (reported; the others still are).

`--from-store` contacts no host: it reports each node's newest stored audit (written by the node's
audit agent, deploys/audit_agent.py, or by earlier controller audits) and stores nothing.
"""

from __future__ import annotations

import logging
import sys
from datetime import timedelta
from importlib import import_module
from pathlib import Path

import click

from xeonfleet.cli.facts import parallel_option
from xeonfleet.cli.output import emit, output_options, resolve_format

EXIT_PROBLEM = 2
# format -> module in xeonfleet/audit/formats with `render(report)`; imported on use so other
# commands do not pay for jinja2. The table's render also takes a colour flag.
RENDERERS = {"table": "table", "json": "json_report", "junit": "junit", "html": "html", "prom": "prom"}
FORMATS = tuple(RENDERERS)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_PROBLEM)


@click.command("audit")
@click.argument("inventory", required=False)
@click.option("--profile", "profile_name", help="Judge every host by this profile (default: host data "
              "`xeonfleet_profile`, else xeon-ai-base). A name in profiles/ or a .yaml path.")
@output_options(FORMATS, "table")
@click.option("--failures-only", is_flag=True, help="Table: list only failing and unknown rules per node.")
@click.option("--since", type=click.Choice(["last"]), help="Also show what changed since each node's last audit.")
@click.option("--sysroot", type=click.Path(file_okay=False), help="Audit an offline tree (DIR/proc, DIR/sys).")
@click.option("--local", is_flag=True, help="Audit this machine, live, without SSH (what the audit agent runs): the "
              "probe runs as you and reads root-only files through `sudo -n` as `xeonfleet sudoers --role audit` "
              "grants; --sysroot / reads / as an offline tree, never through sudo.")
@click.option("--node-name", help="With --sysroot or --local: the node's name in the report and the store (default: "
              "DIR, or the hostname). The audit agent passes the node's inventory name.")
@click.option("--from-store", is_flag=True, help="Report each node's newest stored audit instead of contacting "
              "nodes (all stored nodes, or INVENTORY's); stores nothing.")
@click.option("--max-age", type=click.FloatRange(min=0, min_open=True), default=24, show_default=True,
              help="With --from-store: hours after which a node's newest audit counts as not reporting.")
@click.option("--db", help="Results store: a SQLite path or postgresql:// URL (default $XEONFLEET_DB or "
              "$XDG_DATA_HOME/xeonfleet/results.db).")
@click.option("--timeout", default=10, show_default=True, help="SSH connect timeout per host, seconds.")
@parallel_option
def audit(inventory: str | None, profile_name: str | None, fmt: str | None, output: Path | None,
          failures_only: bool, since: str | None, sysroot: str | None, local: bool, node_name: str | None,
          from_store: bool, max_age: float, db: str | None, timeout: int, parallel: int | None) -> None:
    """Audit INVENTORY's nodes against their profiles; store the run; render it."""
    if inventory is not None:  # before the imports below bring in pyinfra
        from xeonfleet.connect.gevent_patch import patch_for_pyinfra

        patch_for_pyinfra()
    from xeonfleet.audit.run import (audit_inventory, audit_local, audit_sysroot, plan_inventory, plan_local,
                                     plan_sysroot, record)
    from xeonfleet.audit.stored import NothingStored, latest_report
    from xeonfleet.connect.gather import GatherError, load_inventory
    from xeonfleet.profiles import ProfileError
    from xeonfleet.store import StoreError, open_store

    if from_store and (sysroot is not None or local or since or profile_name):
        _fail("--from-store reports the stored audits as they are: drop --sysroot, --local, --since and --profile")
    if not from_store and [inventory is not None, sysroot is not None, local].count(True) != 1:
        _fail("give either an INVENTORY (e.g. inventories/lab.py), --sysroot DIR or --local: exactly one")
    if node_name is not None and sysroot is None and not local:
        _fail("--node-name names the node of a --sysroot audit or a --local one; an inventory names its own hosts")
    logging.getLogger("pyinfra").setLevel(logging.CRITICAL)  # we report each host's failure in one line
    store_problem = None
    try:
        if from_store:
            hosts = [host.name for host in load_inventory(inventory)[1]] if inventory else None
            with open_store(db, read_only=True) as store:
                report = latest_report(store, hosts, timedelta(hours=max_age))
        elif sysroot is not None:
            report = audit_sysroot(plan_sysroot(sysroot, profile_name, node_name))
        elif local:
            report = audit_local(plan_local(profile_name, node_name))
        else:
            report = audit_inventory(plan_inventory(inventory, profile_name), connect_timeout=timeout, parallel=parallel)
    except (GatherError, ProfileError, NothingStored, StoreError) as exc:
        _fail(str(exc))

    if not from_store:
        try:
            with open_store(db) as store:
                record(store, report, since_last=since == "last")
        except StoreError as exc:
            store_problem = str(exc)
            click.echo(f"warning: audit not stored: {store_problem}", err=True)

    fmt = resolve_format(fmt, output, FORMATS, "table")
    renderer = import_module(f"xeonfleet.audit.formats.{RENDERERS[fmt]}")
    if fmt == "table":
        text = renderer.render(report, color=output is None and sys.stdout.isatty(), failures_only=failures_only)
    else:
        text = renderer.render(report)
    emit(text, output, fmt)
    for host, reason in report.unreachable.items():
        click.echo(f"{host}: {reason}", err=True)
    if store_problem and since:
        _fail("--since last needs the results store; fix the store problem above")
    sys.exit(report.exit_code)
