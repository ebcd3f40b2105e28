"""Install the node-side audit agent: every node audits itself hourly, no controller SSH fan-out needed.

    pyinfra inventories/prod.py deploys/audit_agent.py
    pyinfra inventories/prod.py deploys/audit_agent.py --data xeonfleet_agent_db=postgresql://xf@db.example/xeonfleet
    xeonfleet audit --from-store --db postgresql://xf@db.example/xeonfleet      # the fleet, from what nodes wrote

Each node gets a venv at /opt/xeonfleet/agent installed offline from a wheelhouse this controller builds
from this clone (nodes never reach a package index), and a systemd timer (a cron.d entry on a node
without systemd) running `xeonfleet audit --sysroot / --format prom` into node_exporter's textfile
directory and into the results store. See xeonfleet/audit/agent.py.

Host data (per host or group):
    xeonfleet_profile              profile name the node is judged by (default xeon-ai-base)
    xeonfleet_agent_db             postgresql:// URL of the shared results store (default: a SQLite file on the node)
    xeonfleet_agent_textfile_dir   node_exporter's --collector.textfile.directory (default /var/lib/prometheus/node-exporter)
    xeonfleet_agent_wheelhouse     a controller directory holding xeonfleet's wheel and its dependencies,
                                   for a controller without a package index (default: built here)
"""

from pathlib import Path

from pyinfra import host

from xeonfleet.audit.agent import (WHEELHOUSE_KEY, AgentError, AgentNode, audit_agent, build_wheelhouse,
                                   settings_from_host_data)
from xeonfleet.connect.file_transfer import use_working_file_transfer
from xeonfleet.connect.hostcommand import fail_host
from xeonfleet.profiles import ProfileError

CLONE = Path(__file__).resolve().parents[1]  # the wheel is built from the clone this deploy runs from

try:
    settings = settings_from_host_data(host.name, host.data)
    node = host.get_fact(AgentNode)
    if node["python"] is None:
        raise AgentError("no python3 that can make a venv on this node: install python3 and python3-venv")
    given = host.data.get(WHEELHOUSE_KEY)
    if given and not Path(given).is_dir():
        raise AgentError(f"host data {WHEELHOUSE_KEY}: {given!r} is not a directory on this controller")
    wheelhouse = Path(given) if given else build_wheelhouse(CLONE, node["python"])
except (AgentError, ProfileError) as exc:
    fail_host(str(exc))
else:
    use_working_file_transfer()
    audit_agent(settings=settings, wheelhouse=wheelhouse, node=node)
