"""Print each host's compliance findings from inside a pyinfra run; changes nothing on the hosts.

    pyinfra inventories/lab.py deploys/audit.py
    pyinfra inventories/lab.py deploys/audit.py --data xeonfleet_profile=training

The same NodeFacts fact, profile choice (host data `xeonfleet_profile`, else xeon-ai-base), rules
and table renderer as `xeonfleet audit`, so both print the same node findings. Fleet (peer
heterogeneity) rules need every host's facts at once and the results store keeps history: both
are `xeonfleet audit INVENTORY`'s job.
"""

import time
from datetime import datetime, timezone

import click
from pyinfra import host, logger
from pyinfra.api.exceptions import PyinfraError

from facts.node import NodeFacts
from xeonfleet.audit.run import PROFILE_DATA_KEY, FleetPlan, build_report, load_profiles
from xeonfleet.profiles import DEFAULT_PROFILE, ProfileError
from xeonfleet.reports import table

try:
    plan = FleetPlan(inventory="pyinfra",
                     profiles=load_profiles({host.name: host.data.get(PROFILE_DATA_KEY) or DEFAULT_PROFILE}),
                     groups={})
except ProfileError as exc:
    raise PyinfraError(str(exc)) from None

started = time.monotonic()
report = build_report(plan, {host.name: host.get_fact(NodeFacts)}, {}, started,
                      datetime.now(timezone.utc).isoformat(timespec="seconds"))
report.findings = [f for f in report.findings if f.category != "fleet"]  # one host has no peers here
logger.info("\n" + table.render(report, color=click.get_text_stream("stdout").isatty()))
