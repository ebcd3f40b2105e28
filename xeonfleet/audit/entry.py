"""Print this host's compliance findings from inside a pyinfra run; changes nothing on the host.

The same NodeFacts fact, profile choice (host data `xeonfleet_profile`, else xeon-ai-base), rules
and table renderer as `xeonfleet audit`, so both print the same node findings. Fleet (peer
heterogeneity) rules need every host's facts at once and the results store keeps history: both
are `xeonfleet audit INVENTORY`'s job.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import click
from pyinfra import host, logger
from pyinfra.api.exceptions import PyinfraError

from xeonfleet.audit.run import PROFILE_DATA_KEY, AuditPlan, build_report, load_profiles
from xeonfleet.facts.node import NodeFacts
from xeonfleet.profiles import DEFAULT_PROFILE, ProfileError
from xeonfleet.audit.formats import table


def audit_node() -> None:
    """Log the host's findings table; a bad profile is one pyinfra error line.

    **Example:**

    .. code:: python

        from xeonfleet.audit.entry import audit_node
        audit_node()
    """
    try:
        plan = AuditPlan(inventory="pyinfra",
                         profiles=load_profiles({host.name: host.data.get(PROFILE_DATA_KEY) or DEFAULT_PROFILE}),
                         groups={})
    except ProfileError as exc:
        raise PyinfraError(str(exc)) from None
    started = time.monotonic()
    report = build_report(plan, {host.name: host.get_fact(NodeFacts)}, {}, started,
                          datetime.now(timezone.utc).isoformat(timespec="seconds"))
    report.findings = [f for f in report.findings if f.category != "fleet"]  # one host has no peers here
    logger.info("\n" + table.render(report, color=click.get_text_stream("stdout").isatty()))
