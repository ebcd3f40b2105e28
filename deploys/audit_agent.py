"""Install the node-side audit agent: every node audits itself hourly, no controller SSH fan-out needed.

    pyinfra inventories/prod.py deploys/audit_agent.py
    pyinfra inventories/prod.py deploys/audit_agent.py --data xeonfleet_agent_db=postgresql://xf@db.example/xeonfleet
    xeonfleet audit --from-store --db postgresql://xf@db.example/xeonfleet      # the fleet, from what nodes wrote

Each node gets a venv at /opt/xeonfleet/agent installed offline from a wheelhouse this controller builds
from this clone (nodes never reach a package index), and a systemd timer (a cron.d entry on a node
without systemd) running `xeonfleet audit --local --format prom` into node_exporter's textfile
directory and into the results store. It runs as the system user xeonfleet-agent, never root: its root-only
reads go through sudo as /etc/sudoers.d/xeonfleet-agent allows (the audit role, checked by the node's visudo
before it is put in place); the node needs sudo. A password in xeonfleet_agent_db is kept in
/etc/xeonfleet/audit-agent.env (0600, the agent's) only. Run it as the nodes' admin (root, or `--sudo`).
See xeonfleet/audit/agent.py.

Host data (per host or group):
    xeonfleet_profile              profile name the node is judged by (default xeon-ai-base)
    xeonfleet_agent_db             postgresql:// URL of the shared results store (default: a SQLite file on the node)
    xeonfleet_agent_textfile_dir   node_exporter's --collector.textfile.directory (default /var/lib/prometheus/node-exporter)
    xeonfleet_agent_wheelhouse     a controller directory holding xeonfleet's wheel and its dependencies,
                                   for a controller without a package index (default: built here)
"""

from xeonfleet.audit.agent import install_agent

install_agent()
